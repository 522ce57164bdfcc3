//! Exact sums of PostgreSQL `numeric` values in a scaled `i128`, for
//! aggregates that add one numeric per row: reading a numeric's stored
//! digits and adding two integers costs a fraction of PostgreSQL's own
//! numeric arithmetic. A value that does not fit (more than 38 significant
//! digits, NaN, infinity) is left to the caller, which falls back to
//! PostgreSQL's numeric addition: nothing is ever rounded. Free of pgrx.
//! (rust_decimal is not used here: it rescales, i.e. rounds, on overflow.)
use std::fmt;

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub mantissa: i128,
    pub scale: u16,
}

const SIGN_MASK: u16 = 0xC000;
const NEGATIVE: u16 = 0x4000;
const SHORT: u16 = 0x8000;
const SPECIAL: u16 = 0xC000;
const SHORT_SIGN_MASK: u16 = 0x2000;
const SHORT_DSCALE_MASK: u16 = 0x1F80;
const SHORT_DSCALE_SHIFT: u16 = 7;
const SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const SHORT_WEIGHT_MASK: u16 = 0x003F;
const DSCALE_MASK: u16 = 0x3FFF;
/// A numeric digit holds 4 decimal digits (base 10000).
const DEC_DIGITS: i32 = 4;

fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

impl Fixed {
    /// The value of a numeric from its bytes after the varlena header
    /// (PostgreSQL's `NumericChoice`: a short or long header, then base-10000
    /// digits, native byte order), at its display scale. None for NaN and
    /// infinities, values beyond an i128 and malformed bytes.
    pub fn from_numeric_bytes(bytes: &[u8]) -> Option<Fixed> {
        let word = |at: usize| bytes.get(at..at + 2).map(|b| [b[0], b[1]]);
        let header = u16::from_ne_bytes(word(0)?);
        let (negative, weight, scale, digits_at) = match header & SIGN_MASK {
            SPECIAL => return None,
            SHORT => {
                let magnitude = i32::from(header & SHORT_WEIGHT_MASK);
                let weight = if header & SHORT_WEIGHT_SIGN_MASK != 0 { magnitude | !i32::from(SHORT_WEIGHT_MASK) } else { magnitude };
                (header & SHORT_SIGN_MASK != 0, weight, (header & SHORT_DSCALE_MASK) >> SHORT_DSCALE_SHIFT, 2)
            }
            sign => (sign == NEGATIVE, i32::from(i16::from_ne_bytes(word(2)?)), header & DSCALE_MASK, 4),
        };
        let digits = bytes.get(digits_at..)?;
        if digits.len() % 2 != 0 {
            return None;
        }
        let mut mantissa: i128 = 0;
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let digit = i128::from(i16::from_ne_bytes([pair[0], pair[1]]));
            // This digit's power of ten once the value is scaled by 10^scale.
            let exp = DEC_DIGITS.checked_mul(weight.checked_sub(i32::try_from(i).ok()?)?)?.checked_add(i32::from(scale))?;
            let term = if exp >= 0 {
                digit.checked_mul(pow10(exp.unsigned_abs())?)?
            } else {
                // Digits below the display scale are zeros in a stored numeric.
                let divisor = pow10(exp.unsigned_abs()).unwrap_or(i128::MAX);
                if digit % divisor != 0 {
                    return None;
                }
                digit / divisor
            };
            mantissa = mantissa.checked_add(term)?;
        }
        Some(Fixed { mantissa: if negative { mantissa.checked_neg()? } else { mantissa }, scale })
    }

    /// The same value at a larger scale, if it fits.
    fn rescaled(self, scale: u16) -> Option<Fixed> {
        let factor = pow10(u32::from(scale.checked_sub(self.scale)?))?;
        Some(Fixed { mantissa: self.mantissa.checked_mul(factor)?, scale })
    }

    /// The exact sum at the larger of the two scales (as PostgreSQL's
    /// `sum(numeric)` keeps the largest display scale), or None if it does
    /// not fit.
    pub fn checked_add(self, other: Fixed) -> Option<Fixed> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescaled(scale)?, other.rescaled(scale)?);
        Some(Fixed { mantissa: a.mantissa.checked_add(b.mantissa)?, scale })
    }

    /// The nearest f64 (ties to even), as PostgreSQL's `numeric_float8`
    /// gives it (`strtod` of the text form), without the text when the
    /// mantissa and 10^scale are both exact f64s: then one division rounds
    /// once, correctly.
    pub fn to_f64(self) -> f64 {
        const EXACT_POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        match EXACT_POWERS.get(usize::from(self.scale)) {
            Some(power) if self.mantissa.unsigned_abs() <= 1 << 53 => self.mantissa as f64 / power,
            // Rust's parser rounds correctly too.
            _ => self.to_string().parse().expect("a decimal number"),
        }
    }

    /// The exact product with an integer at the same scale (as PostgreSQL's
    /// `integer * numeric` keeps the numeric's display scale), or None if it
    /// does not fit.
    pub fn checked_mul_int(self, factor: i64) -> Option<Fixed> {
        Some(Fixed { mantissa: self.mantissa.checked_mul(i128::from(factor))?, scale: self.scale })
    }
}

/// The numeric's text form (what `numeric_in` reads back to the same value
/// and display scale), e.g. `-12.50`.
impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A numeric's bytes as PostgreSQL stores them (short header when the
    /// weight and scale allow it, long otherwise), from its text form.
    fn numeric_bytes(text: &str, long: bool) -> Vec<u8> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let scale = fraction.len() as u16;
        // Pad to whole base-10000 digits on both sides of the point.
        let whole_pad = (4 - whole.len() % 4) % 4;
        let frac_pad = (4 - fraction.len() % 4) % 4;
        let all = format!("{}{whole}{fraction}{}", "0".repeat(whole_pad), "0".repeat(frac_pad));
        let mut digits: Vec<i16> = all.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap().parse().unwrap()).collect();
        let mut weight = ((whole.len() + whole_pad) / 4) as i32 - 1;
        // PostgreSQL strips leading and trailing zero digits.
        while digits.first() == Some(&0) {
            digits.remove(0);
            weight -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            weight = 0;
        }
        let mut out = Vec::new();
        if long || !(-64..64).contains(&weight) || scale > 63 {
            let sign_dscale = if negative && !digits.is_empty() { NEGATIVE } else { 0 } | scale;
            out.extend(sign_dscale.to_ne_bytes());
            out.extend((weight as i16).to_ne_bytes());
        } else {
            let mut header = SHORT | (scale << SHORT_DSCALE_SHIFT) | (weight as u16 & SHORT_WEIGHT_MASK);
            if weight < 0 {
                header |= SHORT_WEIGHT_SIGN_MASK;
            }
            if negative && !digits.is_empty() {
                header |= SHORT_SIGN_MASK;
            }
            out.extend(header.to_ne_bytes());
        }
        for d in digits {
            out.extend(d.to_ne_bytes());
        }
        out
    }

    fn read(text: &str) -> Option<Fixed> {
        let short = Fixed::from_numeric_bytes(&numeric_bytes(text, false));
        assert_eq!(short, Fixed::from_numeric_bytes(&numeric_bytes(text, true)), "short and long forms of {text}");
        short
    }

    #[test]
    fn reads_stored_numerics_at_their_display_scale() {
        assert_eq!(read("123.45"), Some(Fixed { mantissa: 12345, scale: 2 }));
        assert_eq!(read("-0.005"), Some(Fixed { mantissa: -5, scale: 3 }));
        assert_eq!(read("10000"), Some(Fixed { mantissa: 10000, scale: 0 }));
        assert_eq!(read("0.00"), Some(Fixed { mantissa: 0, scale: 2 }));
        assert_eq!(read("0"), Some(Fixed { mantissa: 0, scale: 0 }));
        assert_eq!(read("123456789.123456789"), Some(Fixed { mantissa: 123456789123456789, scale: 9 }));
        assert_eq!(read("1.50"), Some(Fixed { mantissa: 150, scale: 2 }));
        // 38 digits fit, 40 do not.
        let fits = "9".repeat(38);
        assert_eq!(read(&fits), Some(Fixed { mantissa: fits.parse().unwrap(), scale: 0 }));
        assert_eq!(read(&"9".repeat(40)), None);
        // Small values with a large display scale are exact too, until they need more than 38 digits.
        assert_eq!(read(&format!("0.{}1", "0".repeat(70))), Some(Fixed { mantissa: 1, scale: 71 }));
        assert_eq!(read(&format!("1.{}1", "0".repeat(40))), None);
    }

    #[test]
    fn refuses_special_values_and_broken_bytes() {
        assert_eq!(Fixed::from_numeric_bytes(&SPECIAL.to_ne_bytes()), None); // NaN
        assert_eq!(Fixed::from_numeric_bytes(&[]), None);
        assert_eq!(Fixed::from_numeric_bytes(&[0x00]), None);
        let mut odd = numeric_bytes("1.5", false);
        odd.push(7);
        assert_eq!(Fixed::from_numeric_bytes(&odd), None);
    }

    #[test]
    fn multiplies_by_an_integer_at_the_same_scale() {
        assert_eq!(read("2.55").unwrap().checked_mul_int(6).unwrap().to_string(), "15.30");
        assert_eq!(read("0.001").unwrap().checked_mul_int(-3).unwrap().to_string(), "-0.003");
        assert_eq!(read("7").unwrap().checked_mul_int(0).unwrap().to_string(), "0");
        assert_eq!(Fixed { mantissa: i128::MAX / 2, scale: 0 }.checked_mul_int(3), None);
    }

    #[test]
    fn adds_at_the_larger_scale_and_prints_like_postgresql() {
        let a = read("1.5").unwrap();
        let b = read("-0.125").unwrap();
        let sum = a.checked_add(b).unwrap();
        assert_eq!(sum, Fixed { mantissa: 1375, scale: 3 });
        assert_eq!(sum.to_string(), "1.375");
        assert_eq!(read("-0.005").unwrap().to_string(), "-0.005");
        assert_eq!(read("0.00").unwrap().to_string(), "0.00");
        assert_eq!(read("-42").unwrap().to_string(), "-42");
        let big = Fixed { mantissa: i128::MAX, scale: 0 };
        assert_eq!(big.checked_add(Fixed { mantissa: 1, scale: 0 }), None);
        assert_eq!(big.checked_add(Fixed { mantissa: 0, scale: 1 }), None);
        assert_eq!(Fixed { mantissa: i128::MIN, scale: 2 }.to_string().len(), 41);
    }

    proptest! {
        #[test]
        fn reading_and_printing_round_trip(mantissa in -10i128.pow(30)..10i128.pow(30), scale in 0u16..12) {
            let text = Fixed { mantissa, scale }.to_string();
            prop_assert_eq!(read(&text), Some(Fixed { mantissa, scale }));
        }

        #[test]
        fn converts_to_the_f64_its_text_parses_to(mantissa in -10i128.pow(24)..10i128.pow(24), small in -10i64.pow(9)..10i64.pow(9), scale in 0u16..30) {
            for m in [mantissa, i128::from(small)] {
                let value = Fixed { mantissa: m, scale };
                prop_assert_eq!(value.to_f64().to_bits(), value.to_string().parse::<f64>().unwrap().to_bits(), "{}", value);
            }
        }

        #[test]
        fn sums_are_exact(values in proptest::collection::vec((-10i64.pow(12)..10i64.pow(12), 0u16..6), 1..30)) {
            let mut sum = Fixed { mantissa: 0, scale: 0 };
            for &(m, s) in &values {
                sum = sum.checked_add(read(&Fixed { mantissa: i128::from(m), scale: s }.to_string()).unwrap()).unwrap();
            }
            let scale = values.iter().map(|v| v.1).max().unwrap();
            let expected: i128 = values.iter().map(|&(m, s)| i128::from(m) * 10i128.pow(u32::from(scale - s))).sum();
            prop_assert_eq!(sum, Fixed { mantissa: expected, scale });
        }
    }
}
