//! Numeric datums to and from [`Fixed`] (the pgrx glue of `numeric_sum`):
//! what the exact revenue sums of the customer pass and the ingest's order
//! facts read and write, and the f64 the float models read.
use crate::fmgr;
use crate::numeric_sum::Fixed;
use pgrx::pg_sys;

/// A `Fixed` as a new numeric (display scale kept), allocated in the current context.
pub unsafe fn fixed_to_numeric(value: Fixed) -> pg_sys::Datum {
    // SAFETY: both calls return a new numeric in the current memory context.
    unsafe {
        match i64::try_from(value.mantissa) {
            Ok(small) => pg_sys::Datum::from(pg_sys::int64_div_fast_to_numeric(small, i32::from(value.scale))),
            Err(_) => {
                let text = std::ffi::CString::new(value.to_string()).expect("digits, sign and point");
                pgrx::fcinfo::direct_function_call_as_datum(
                    pg_sys::numeric_in,
                    &[Some(pg_sys::Datum::from(text.as_ptr())), Some(pg_sys::Datum::from(pg_sys::InvalidOid)), Some(pg_sys::Datum::from(-1i32))],
                )
                .expect("numeric_in returns a value")
            }
        }
    }
}

/// The exact value of a numeric datum, when it fits a `Fixed`.
pub unsafe fn numeric_fixed(value: pg_sys::Datum) -> Option<Fixed> {
    // SAFETY: value is a non-NULL numeric datum; a compressed or out-of-line
    // one is detoasted (a copy in the per-row context) before reading.
    unsafe {
        let bytes = fmgr::inline_varlena_bytes(value).or_else(|| {
            fmgr::inline_varlena_bytes(pg_sys::Datum::from(pg_sys::pg_detoast_datum_packed(value.cast_mut_ptr())))
        })?;
        Fixed::from_numeric_bytes(bytes)
    }
}

/// A numeric as f64, the value PostgreSQL's `numeric_float8` gives (the
/// nearest), reading the stored digits instead of printing and parsing them;
/// NaN, infinities and values beyond a `Fixed` go through `numeric_float8`
/// (NaN where it fails: beyond f64's range).
pub fn numeric_f64(value: pgrx::AnyNumeric) -> f64 {
    let datum = pgrx::datum::IntoDatum::into_datum(value).expect("a numeric");
    // SAFETY: datum is a numeric in the current memory context.
    unsafe {
        match numeric_fixed(datum) {
            Some(fixed) => fixed.to_f64(),
            None => <pgrx::AnyNumeric as pgrx::datum::FromDatum>::from_datum(datum, false)
                .and_then(|n| f64::try_from(n).ok())
                .unwrap_or(f64::NAN),
        }
    }
}
