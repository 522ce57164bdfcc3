//! Validation of text values from CSV files, before PostgreSQL casts them.
//!
//! Every parser here is *stricter* than PostgreSQL's own input function for
//! the target type, so a value accepted here always casts without error in the
//! set-based SQL that promotes staged rows, while a bad value becomes a reject
//! naming the column and the value instead of aborting the whole load.
//! Pure Rust, no pgrx.

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::str::FromStr;

/// Dates outside this window are rejected as implausible: a year-0 or
/// year-9999 order would otherwise stretch the date dimension over millennia
/// and move the default RFM as-of date.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2199;

/// Keys (ids) longer than this are refused: PostgreSQL cannot index a value
/// of more than about 2,700 bytes, so one absurd id would otherwise abort the
/// whole ingest at the primary key. 256 characters is at most 1,024 bytes.
pub const MAX_KEY_CHARS: usize = 256;

/// Money amounts (a payment, a line's quantity × unit price) must stay below
/// this in absolute value: the BI views type money as numeric(19,4), Power
/// BI's fixed decimal (at most 9.2 × 10^14), and a customer's total of many
/// lines must still fit. A trillion per line is beyond any real shop.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 10^12

/// The kinds of value a staged column can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text; only emptiness matters.
    Text,
    /// An identifier (primary or foreign key): text of at most
    /// [`MAX_KEY_CHARS`] characters once trimmed.
    Key,
    /// A whole number that fits PostgreSQL `integer`.
    Integer,
    /// An exact decimal without exponent (prices).
    Decimal,
    /// A decimal amount of money below [`MAX_AMOUNT`] in absolute value.
    Money,
    /// `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]`
    Timestamp,
    /// `YYYY-MM-DD`
    Date,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "text" => Kind::Text,
            "key" => Kind::Key,
            "integer" => Kind::Integer,
            "decimal" => Kind::Decimal,
            "money" => Kind::Money,
            "timestamp" => Kind::Timestamp,
            "date" => Kind::Date,
            _ => return None,
        })
    }
}

/// Why a value was refused: a stable reason code and a message that names
/// the column and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    /// borrowed when the message is fixed (most refused lines of a file
    /// share one): no allocation on the reader thread to free on the backend's
    pub message: Cow<'static, str>,
}

impl Refusal {
    pub fn new(reason: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Refusal { reason, message: message.into() }
    }
}

/// Shortens a value for a message: a 10 MB field must not become a 10 MB
/// message (the raw values are kept in full in the rejects table anyway).
pub fn quote_value(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        format!("\"{value}\"")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("\"{head}...\" ({} characters)", value.chars().count())
    }
}

/// Checks one value of `column`. `None` and blank values are refused only
/// when `required`.
pub fn check(column: &str, value: Option<&str>, kind: Kind, required: bool) -> Result<(), Refusal> {
    if !required && value.is_none_or(|v| v.trim().is_empty()) {
        return Ok(());
    }
    match kind {
        Kind::Text => parse_required(column, value, |_| Ok(())),
        Kind::Key => parse_required(column, value, parse_key),
        Kind::Integer => parse_required(column, value, parse_integer).map(|_| ()),
        Kind::Decimal => parse_required(column, value, parse_decimal).map(|_| ()),
        Kind::Money => parse_required(column, value, parse_money).map(|_| ()),
        Kind::Timestamp => parse_required(column, value, parse_timestamp).map(|_| ()),
        Kind::Date => parse_required(column, value, parse_date).map(|_| ()),
    }
}

/// Parses a required value of `column` (blanks trimmed) with `parse`; a
/// blank or unparseable value is refused with a message naming both.
pub fn parse_required<T>(
    column: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<T, Refusal> {
    match value.map(str::trim) {
        None | Some("") => Err(Refusal::new("missing_value", format!("{column} is empty but required"))),
        Some(v) => parse(v).map_err(|(reason, what)| {
            Refusal::new(reason, format!("{column} {} is {what}", quote_value(value.unwrap_or_default())))
        }),
    }
}

/// A parse failure: reason code and what the value is instead.
pub type ParseError = (&'static str, &'static str);

pub fn parse_key(v: &str) -> Result<(), ParseError> {
    // (a key no longer in bytes than the limit cannot be longer in characters)
    if v.len() > MAX_KEY_CHARS && v.chars().count() > MAX_KEY_CHARS {
        return Err(("key_too_long", "longer than the 256 characters an id may have"));
    }
    Ok(())
}

pub fn parse_integer(v: &str) -> Result<i32, ParseError> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(("bad_integer", "not a whole number"));
    }
    v.parse::<i32>().map_err(|_| ("out_of_range", "out of range for an integer"))
}

pub fn parse_decimal(v: &str) -> Result<Decimal, ParseError> {
    let unsigned = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(("bad_number", "not a decimal number"));
    }
    Decimal::from_str(v).map_err(|_| ("out_of_range", "out of range (more than 28 significant digits)"))
}

pub fn parse_money(v: &str) -> Result<Decimal, ParseError> {
    let amount = parse_decimal(v)?;
    check_amount(amount)?;
    Ok(amount)
}

pub fn check_amount(amount: Decimal) -> Result<(), ParseError> {
    if amount.abs() >= MAX_AMOUNT {
        return Err(("amount_out_of_range", "not below the 1,000,000,000,000 c360 accepts for an amount"));
    }
    Ok(())
}

/// Checks the quantity and unit price of an order line: a whole quantity
/// above zero, a price of zero or more, and an amount below [`MAX_AMOUNT`].
pub fn check_order_line(quantity: Option<&str>, unit_price: Option<&str>) -> Result<(), Refusal> {
    let q = parse_required("quantity", quantity, parse_integer)?;
    let p = parse_required("unit_price", unit_price, parse_decimal)?;
    if q <= 0 {
        return Err(Refusal::new("non_positive_quantity", format!("quantity {} is not positive", quote_value(quantity.unwrap_or_default()))));
    }
    if p < Decimal::ZERO {
        return Err(Refusal::new("negative_price", format!("unit_price {} is negative", quote_value(unit_price.unwrap_or_default()))));
    }
    check_line_amount(q, p)
}

/// The amount of a line, quantity × unit price, must stay below [`MAX_AMOUNT`].
pub fn check_line_amount(quantity: i32, unit_price: Decimal) -> Result<(), Refusal> {
    let amount = unit_price.checked_mul(Decimal::from(quantity));
    match amount.map(check_amount) {
        Some(Ok(())) => Ok(()),
        _ => Err(Refusal::new(
            "amount_out_of_range",
            format!("quantity {quantity} × unit price {unit_price} is not below the 1,000,000,000,000 c360 accepts for a line"),
        )),
    }
}

/// Parses the date part `YYYY-MM-DD` at the start of `v`, returning the rest.
fn split_date(v: &str) -> Result<(NaiveDate, &str), ParseError> {
    let b = v.as_bytes();
    let shape_ok = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(("bad_date", "not a date in YYYY-MM-DD form"));
    }
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let year = num(&v[..4]) as i32;
    let date = NaiveDate::from_ymd_opt(year, num(&v[5..7]), num(&v[8..10]))
        .ok_or(("bad_date", "not a valid calendar date"))?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(("date_out_of_range", "outside the accepted years 1900-2199"));
    }
    Ok((date, &v[10..]))
}

pub fn parse_date(v: &str) -> Result<NaiveDate, ParseError> {
    match split_date(v)? {
        (date, "") => Ok(date),
        _ => Err(("bad_date", "not a date in YYYY-MM-DD form")),
    }
}

/// A timestamp as written: its local date and time, and whether it carries
/// its own UTC offset (otherwise the load's source time zone applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenTimestamp {
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub has_offset: bool,
}

pub fn parse_timestamp(v: &str) -> Result<WrittenTimestamp, ParseError> {
    const BAD: ParseError = ("bad_timestamp", "not a timestamp in YYYY-MM-DD HH:MM[:SS] form");
    let (date, rest) = split_date(v).map_err(|e| if e.0 == "bad_date" { BAD } else { e })?;
    if rest.is_empty() {
        return Ok(WrittenTimestamp { date, time: NaiveTime::MIN, has_offset: false });
    }
    let rest = rest.strip_prefix([' ', 'T']).ok_or(BAD)?;
    // Split off a trailing offset: Z, +HH, +HHMM or +HH:MM.
    let (clock, offset) = match rest.find(['Z', '+', '-']) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let time = parse_clock(clock.trim_end()).ok_or(BAD)?;
    if let Some(off) = offset {
        let ok = off == "Z" || {
            let d = off[1..].replace(':', "");
            (d.len() == 2 || d.len() == 4)
                && d.bytes().all(|b| b.is_ascii_digit())
                && d[..2].parse::<u32>().unwrap_or(99) <= 15
                && (d.len() == 2 || d[2..].parse::<u32>().unwrap_or(99) < 60)
                && (off.len() - 1 == d.len() || off[1..].find(':') == Some(2))
        };
        if !ok {
            return Err(BAD);
        }
    }
    Ok(WrittenTimestamp { date, time, has_offset: offset.is_some() })
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` with 1 to 6 fractional digits.
/// (Allocates nothing: it runs for every line of a file.)
fn parse_clock(s: &str) -> Option<NaiveTime> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = [0u32; 3];
    let mut count = 0;
    for part in hms.split(':') {
        if count == 3 || part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[count] = part.parse().ok()?;
        count += 1;
    }
    if count < 2 || (s.contains('.') && (count != 3 || frac.is_empty() || frac.len() > 6)) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // the fraction's digits as microseconds: "5" is 500000
    let micros = frac.bytes().chain(std::iter::repeat(b'0')).take(6).fold(0u32, |m, d| m * 10 + u32::from(d - b'0'));
    NaiveTime::from_hms_micro_opt(parts[0], parts[1], parts[2], micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn integers() {
        assert_eq!(parse_integer("6"), Ok(6));
        assert_eq!(parse_integer("-12"), Ok(-12));
        assert_eq!(parse_integer("+3"), Ok(3));
        assert_eq!(parse_integer("1e308").unwrap_err().0, "bad_integer");
        assert_eq!(parse_integer("2.5").unwrap_err().0, "bad_integer");
        assert_eq!(parse_integer("99999999999").unwrap_err().0, "out_of_range");
        assert_eq!(parse_integer("-").unwrap_err().0, "bad_integer");
    }

    #[test]
    fn decimals_are_exact_and_refuse_exponents() {
        assert_eq!(parse_decimal("2.55").unwrap().to_string(), "2.55");
        assert_eq!(parse_decimal("-0.001").unwrap().to_string(), "-0.001");
        assert_eq!(parse_decimal(".5").unwrap().to_string(), "0.5");
        assert_eq!(parse_decimal("5.").unwrap().to_string(), "5");
        assert_eq!(parse_decimal("1e308").unwrap_err().0, "bad_number");
        assert_eq!(parse_decimal("NaN").unwrap_err().0, "bad_number");
        assert_eq!(parse_decimal(".").unwrap_err().0, "bad_number");
        assert_eq!(parse_decimal("1,5").unwrap_err().0, "bad_number");
        assert_eq!(parse_decimal(&"9".repeat(40)).unwrap_err().0, "out_of_range");
    }

    #[test]
    fn amounts_stay_below_a_trillion() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000i64));
        assert!(parse_money("999999999999.9999").is_ok());
        assert!(parse_money("-999999999999.9999").is_ok());
        assert_eq!(parse_money("1000000000000").unwrap_err().0, "amount_out_of_range");
        assert_eq!(parse_money("-1000000000000.00").unwrap_err().0, "amount_out_of_range");
        assert_eq!(parse_money("1e12").unwrap_err().0, "bad_number");
        assert_eq!(check_order_line(Some("2"), Some("19.90")), Ok(()));
        assert_eq!(check_order_line(Some("1"), Some("0")), Ok(()));
        assert_eq!(check_order_line(Some("0"), Some("1")).unwrap_err().reason, "non_positive_quantity");
        assert_eq!(check_order_line(Some("1"), Some("-0.01")).unwrap_err().reason, "negative_price");
        assert_eq!(check_order_line(Some("x"), Some("1")).unwrap_err().reason, "bad_integer");
        assert_eq!(check_order_line(Some("1"), None).unwrap_err().reason, "missing_value");
        let r = check_order_line(Some("2000"), Some("500000000")).unwrap_err();
        assert_eq!((r.reason, &*r.message), ("amount_out_of_range",
            "quantity 2000 × unit price 500000000 is not below the 1,000,000,000,000 c360 accepts for a line"));
        // beyond Decimal's own range: refused, not a panic
        assert_eq!(check_line_amount(i32::MAX, Decimal::MAX).unwrap_err().reason, "amount_out_of_range");
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2010-12-01 08:26:00").unwrap();
        assert_eq!((t.date.to_string(), t.time.to_string(), t.has_offset), ("2010-12-01".into(), "08:26:00".into(), false));
        assert!(parse_timestamp("2010-12-01T08:26").is_ok());
        assert!(parse_timestamp("2010-12-01 08:26:00.123456").is_ok());
        // fractions are read as microseconds, padded on the right
        for (text, micros) in [("08:26:00.5", 500_000), ("08:26:00.000001", 1), ("08:26:00.123456", 123_456), ("23:59:59.99", 990_000)] {
            let t = parse_timestamp(&format!("2010-12-01 {text}")).unwrap();
            assert_eq!(t.time, NaiveTime::from_hms_micro_opt(t.time.hour(), t.time.minute(), t.time.second(), micros).unwrap(), "{text}");
        }
        assert_eq!(parse_timestamp("2010-12-01 08:26:07").unwrap().time, NaiveTime::from_hms_opt(8, 26, 7).unwrap());
        assert!(parse_timestamp("2010-12-01").is_ok());
        for off in ["Z", "+08", "+0800", "+08:00", "-05:30"] {
            let t = parse_timestamp(&format!("2010-12-01 08:26:00{off}")).unwrap();
            assert!(t.has_offset, "{off}");
        }
        for bad in ["12/1/2010 8:26", "2010-12-01 25:00", "2010-02-30 10:00", "2010-12-01 08:26:00.1234567",
            "2010-12-01 08:26:00+8", "2010-12-01 08", "2010-12-01x08:26", "2010-12-01 08:26:00+08:0",
            "2010-12-01 08:26:00:00", "2010-12-01 08:26.5", "2010-12-01 08:26:00.", "2010-12-01 8:26", "2010-12-01 08:2a"] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_timestamp("0000-01-01 00:00").unwrap_err().0, "date_out_of_range");
        assert_eq!(parse_timestamp("9999-12-31 00:00").unwrap_err().0, "date_out_of_range");
    }

    #[test]
    fn dates() {
        assert!(parse_date("2024-02-29").is_ok());
        assert_eq!(parse_date("2023-02-29").unwrap_err().0, "bad_date");
        assert_eq!(parse_date("2024-02-29 10:00").unwrap_err().0, "bad_date");
        assert_eq!(parse_date("1899-12-31").unwrap_err().0, "date_out_of_range");
    }

    #[test]
    fn check_names_column_and_value() {
        let r = check("UnitPrice", Some("abc"), Kind::Decimal, true).unwrap_err();
        assert_eq!(r.reason, "bad_number");
        assert_eq!(r.message, "UnitPrice \"abc\" is not a decimal number");
        assert_eq!(check("city", Some("  "), Kind::Text, false), Ok(()));
        assert_eq!(check("customer_id", None, Kind::Text, true).unwrap_err().reason, "missing_value");
        assert_eq!(check("customer_id", Some(&"é".repeat(256)), Kind::Key, true), Ok(()));
        let r = check("customer_id", Some(&"é".repeat(257)), Kind::Key, true).unwrap_err();
        assert_eq!(r.reason, "key_too_long");
        assert!(r.message.starts_with("customer_id \"éé") && r.message.ends_with("(257 characters) is longer than the 256 characters an id may have"), "{}", r.message);
        let long = "x".repeat(10_000_000);
        let r = check("quantity", Some(&long), Kind::Integer, true).unwrap_err();
        assert!(r.message.len() < 200, "message stays short");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Parsers never panic on any text.
            #[test]
            fn never_panic(s in ".{0,40}") {
                let _ = parse_integer(&s);
                let _ = parse_decimal(&s);
                let _ = parse_timestamp(&s);
                let _ = parse_date(&s);
            }

            /// Any valid calendar timestamp written in the canonical form is accepted.
            #[test]
            fn canonical_timestamps_accepted(y in 1900i32..2200, m in 1u32..13, d in 1u32..29, h in 0u32..24, mi in 0u32..60, s in 0u32..60) {
                let text = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
                prop_assert!(parse_timestamp(&text).is_ok());
            }

            /// Decimals round-trip exactly: no floating point anywhere.
            #[test]
            fn decimals_round_trip(int in 0u64..1_000_000_000, frac in 0u32..1000) {
                let text = format!("{int}.{frac:03}");
                prop_assert_eq!(parse_decimal(&text).unwrap().to_string(), text);
            }
        }
    }
}
