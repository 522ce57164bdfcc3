//! Customer lifetime value (SPEC.md §7): the SQL face of the BG/NBD and
//! Gamma-Gamma models in `bgnbd` and `gamma_gamma` (pure Rust).
//!
//! `c360.bgnbd_fit(frequency, recency, t)` and `c360.gamma_gamma_fit(frequency,
//! monetary)` are aggregates over any per-customer summary (declared in
//! sql/clv.sql, parallel safe: workers collect rows, the leader fits); the
//! scoring functions take their model values. `c360.btyd_summary()` and the
//! refresh step that scores c360's own customers are in sql/clv.sql.
pub mod bgnbd;
pub mod gamma_gamma;
pub mod purchase_days;
pub mod special;

use crate::aggregate;
use crate::fmgr;
use crate::points::Points;
use crate::sql_errors::raise;
use pgrx::prelude::*;
use pgrx::Internal;
use serde::{Deserialize, Serialize};

extension_sql_file!(
    "../../sql/clv.sql",
    name = "clv",
    requires = [
        "rfm",
        bgnbd_fit_transition,
        gamma_gamma_fit_transition,
        btyd_rows_combine,
        btyd_rows_serialize,
        btyd_rows_deserialize,
        bgnbd_fit_final,
        gamma_gamma_fit_final,
        bgnbd_p_alive,
        bgnbd_expected_purchases,
        gamma_gamma_expected_value,
        clv,
    ]
);

/// A fitted BG/NBD model (r, alpha, a, b, log-likelihood, convergence); text form JSON.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PostgresType, Serialize, Deserialize)]
#[inoutfuncs]
#[bikeshed_postgres_type_manually_impl_from_into_datum]
#[serde(transparent)]
pub struct bgnbd_model(bgnbd::BgNbd);
crate::json_model_io!(bgnbd_model, "c360.bgnbd_model");
crate::model_datum!(bgnbd_model);

/// A fitted Gamma-Gamma spend model (p, q, v, log-likelihood, convergence); text form JSON.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PostgresType, Serialize, Deserialize)]
#[inoutfuncs]
#[bikeshed_postgres_type_manually_impl_from_into_datum]
#[serde(transparent)]
pub struct gamma_gamma_model(gamma_gamma::GammaGamma);
crate::json_model_io!(gamma_gamma_model, "c360.gamma_gamma_model");
crate::model_datum!(gamma_gamma_model);

fn invalid(message: String, hint: &str) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, "", Some(hint))
}

const AGGREGATE: &str = "c360.bgnbd_fit or c360.gamma_gamma_fit";
const BTYD_HINT: &str = "frequency = repeat purchases, recency = last - first purchase, t = end - first purchase, in one time unit (see c360.btyd_summary).";

fn rows_mut(state: &mut Internal) -> Option<&mut Points> {
    // SAFETY: every non-NULL BTYD state was made by aggregate::new_state from Points.
    unsafe { aggregate::state_mut::<Points>(state) }
}

fn add_row(mut state: Internal, row: &[f64], fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: every BTYD fit state is Points.
    let rows: &mut Points = unsafe { aggregate::state_or_default(&mut state, fcinfo, "BTYD transition", AGGREGATE) };
    if let Err(e) = rows.push(row) {
        invalid(format!("BTYD fit: {e}"), BTYD_HINT)
    }
    state
}

/// Transition of `bgnbd_fit(frequency, recency, t)`: rows with a NULL are
/// skipped (as `corr` skips them); an impossible row is an error.
#[pg_extern(immutable, parallel_safe)]
fn bgnbd_fit_transition(
    state: Internal,
    frequency: Option<f64>,
    recency: Option<f64>,
    t: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let (Some(x), Some(t_x), Some(age)) = (frequency, recency, t) else { return state };
    if let Err(e) = bgnbd::check_row(x, t_x, age) {
        invalid(format!("bgnbd_fit: {e}"), BTYD_HINT)
    }
    add_row(state, &[x, t_x, age], fcinfo)
}

/// Transition of `gamma_gamma_fit(frequency, monetary)`: rows with a NULL
/// are skipped; frequency and monetary must be > 0 (fit on repeat customers).
#[pg_extern(immutable, parallel_safe)]
fn gamma_gamma_fit_transition(
    state: Internal,
    frequency: Option<f64>,
    monetary: Option<AnyNumeric>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let (Some(x), Some(m)) = (frequency, monetary) else { return state };
    let m = f64::try_from(m).unwrap_or(f64::NAN);
    if let Err(e) = gamma_gamma::check_row(x, m) {
        invalid(format!("gamma_gamma_fit: {e}"), "Filter the rows: WHERE frequency > 0 AND monetary > 0.")
    }
    add_row(state, &[x, m], fcinfo)
}

impl aggregate::PartialState for Points {
    fn merge_state(&mut self, other: Points) -> Result<(), String> {
        self.merge(other)
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.serialize()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Points, String> {
        Points::deserialize(bytes)
    }
}

/// Combines two partial states (parallel workers); never changes `other`.
#[pg_extern(immutable, parallel_safe)]
fn btyd_rows_combine(state: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::combine::<Points>(state, other, fcinfo, AGGREGATE, &|e| invalid(format!("BTYD fit: {e}"), BTYD_HINT))
}

#[pg_extern(immutable, parallel_safe, strict)]
fn btyd_rows_serialize(mut state: Internal) -> Vec<u8> {
    aggregate::serialize::<Points>(&mut state)
}

#[pg_extern(immutable, parallel_safe, strict)]
fn btyd_rows_deserialize(bytes: &[u8], _unused: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::deserialize::<Points>(bytes, fcinfo, AGGREGATE)
}

fn check_for_interrupts() {
    pg_sys::check_for_interrupts!();
}

/// The fitted BG/NBD model; NULL for no rows.
#[pg_extern(immutable, parallel_safe)]
fn bgnbd_fit_final(mut state: Internal) -> Option<bgnbd_model> {
    let rows = rows_mut(&mut state)?;
    match bgnbd::fit(&rows.data, &mut check_for_interrupts) {
        Ok(model) => Some(bgnbd_model(model)),
        Err(e) => invalid(format!("bgnbd_fit: {e}"), BTYD_HINT),
    }
}

/// The fitted Gamma-Gamma model; NULL for no rows.
#[pg_extern(immutable, parallel_safe)]
fn gamma_gamma_fit_final(mut state: Internal) -> Option<gamma_gamma_model> {
    let rows = rows_mut(&mut state)?;
    match gamma_gamma::fit(&rows.data, &mut check_for_interrupts) {
        Ok(model) => Some(gamma_gamma_model(model)),
        Err(e) => invalid(format!("gamma_gamma_fit: {e}"), "Fit on repeat customers with positive, varying spend."),
    }
}

fn checked(x: f64, t_x: f64, age: f64, caller: &str) {
    if let Err(e) = bgnbd::check_row(x, t_x, age) {
        invalid(format!("{caller}: {e}"), BTYD_HINT)
    }
}

/// Probability that a customer is still active at t.
#[pg_extern(immutable, parallel_safe, strict)]
fn bgnbd_p_alive(model: bgnbd_model, frequency: f64, recency: f64, t: f64) -> f64 {
    checked(frequency, recency, t, "bgnbd_p_alive");
    finite(model.0.p_alive(frequency, recency, t), "bgnbd_p_alive")
}

/// Expected purchases in the next `horizon` time units.
#[pg_extern(immutable, parallel_safe, strict)]
fn bgnbd_expected_purchases(model: bgnbd_model, horizon: f64, frequency: f64, recency: f64, t: f64) -> f64 {
    checked(frequency, recency, t, "bgnbd_expected_purchases");
    if !(horizon.is_finite() && horizon >= 0.0) {
        invalid(format!("bgnbd_expected_purchases: horizon {horizon} must be a finite number >= 0"), "Pass it in the model's time unit.")
    }
    finite(model.0.expected_purchases(horizon, frequency, recency, t), "bgnbd_expected_purchases")
}

/// A model's prediction, or an error rather than a silent NaN.
fn finite(value: f64, caller: &str) -> f64 {
    if !value.is_finite() {
        raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{caller}: the model gives no finite value for this customer ({value})"),
            "",
            Some("The model's parameters may be extreme; check c360.clv_models or refit on more customers."),
        )
    }
    value
}

/// Money out of a float model: numeric, rounded to 4 decimals (always
/// shown with 4). Built from the whole number of ten-thousandths, which is
/// exact and skips float8_numeric's text round trip (the bulk of the cost
/// of scoring a customer).
fn money(value: f64, caller: &str) -> AnyNumeric {
    let units = (finite(value, caller) * 10_000.0).round();
    if units.abs() >= 9.0e18 {
        invalid(format!("{caller}: result {value} is too large for an amount"), "Check the model.")
    }
    // SAFETY: int64_div_fast_to_numeric returns a new numeric (units / 10^4).
    unsafe {
        AnyNumeric::from_datum(pg_sys::Datum::from(pg_sys::int64_div_fast_to_numeric(units as i64, 4)), false)
            .expect("a numeric")
    }
}

/// Expected average order value given repeat purchases and their mean value
/// (the population mean for frequency 0).
#[pg_extern(immutable, parallel_safe, strict)]
fn gamma_gamma_expected_value(model: gamma_gamma_model, frequency: f64, monetary: AnyNumeric) -> AnyNumeric {
    let m = f64::try_from(monetary).unwrap_or(f64::NAN);
    if !(frequency.is_finite() && frequency >= 0.0 && m.is_finite() && m >= 0.0) {
        invalid(format!("gamma_gamma_expected_value: need frequency >= 0 and monetary >= 0 (got {frequency}, {m})"), BTYD_HINT)
    }
    money(model.0.expected_value(frequency, m), "gamma_gamma_expected_value")
}

/// Discounted value of a customer's expected purchases over `months`: per
/// month i, E[value] × (E[purchases by i] − E[purchases by i − 1]) /
/// (1 + monthly_discount_rate)^i (`lifetimes`' customer_lifetime_value).
#[pg_extern(immutable, parallel_safe, strict)]
#[allow(clippy::too_many_arguments)]
fn clv(
    bgnbd: bgnbd_model,
    gamma_gamma: gamma_gamma_model,
    frequency: f64,
    recency: f64,
    t: f64,
    monetary: AnyNumeric,
    months: default!(i32, 12),
    monthly_discount_rate: default!(f64, 0.01),
    units_per_month: default!(f64, 4.348125),
) -> AnyNumeric {
    checked(frequency, recency, t, "clv");
    if !(0..=1200).contains(&months) || !(monthly_discount_rate > -1.0 && monthly_discount_rate.is_finite()) || !(units_per_month > 0.0) {
        invalid(
            format!("clv: months {months}, monthly_discount_rate {monthly_discount_rate}, units_per_month {units_per_month} out of range"),
            "months 0..1200, monthly_discount_rate > -1, units_per_month > 0 (4.348125 weeks or 30.4375 days a month).",
        )
    }
    let m = f64::try_from(monetary).unwrap_or(f64::NAN);
    let value = gamma_gamma.0.expected_value(frequency, m);
    let mut total = 0.0;
    let mut before = 0.0;
    for i in 1..=months {
        let by_now = bgnbd.0.expected_purchases(i as f64 * units_per_month, frequency, recency, t);
        total += value * (by_now - before) / (1.0 + monthly_discount_rate).powi(i);
        before = by_now;
    }
    money(total, "clv")
}

/// State shared by `c360._purchase_days` and `c360._first_day_revenue` (same
/// transition, read-only finals, so PostgreSQL keeps one state for both):
/// a customer's purchase days and the revenue of the first of them, a
/// numeric kept in the aggregate's memory.
#[derive(Default)]
struct DaysState {
    days: purchase_days::PurchaseDays,
    first_day_revenue: Option<pg_sys::Datum>,
}

const DAYS_AGGREGATE: &str = "c360._purchase_days";

/// A copy of a numeric datum (detoasted) in `context`.
unsafe fn copy_numeric(context: pg_sys::MemoryContext, value: pg_sys::Datum) -> pg_sys::Datum {
    // SAFETY: value is a non-NULL numeric datum; the copy is allocated in context.
    unsafe {
        let detoasted = pg_sys::pg_detoast_datum(value.cast_mut_ptr());
        let len = pgrx::varlena::varsize_any(detoasted);
        let copy = pg_sys::MemoryContextAlloc(context, len);
        std::ptr::copy_nonoverlapping(detoasted.cast::<u8>(), copy.cast::<u8>(), len);
        pg_sys::Datum::from(copy)
    }
}

fmgr::finfo_v1!(pg_finfo_c360_purchase_days_transition);

/// Transition of `_purchase_days(day, revenue)` / `_first_day_revenue`:
/// hand-written fmgr function (one call per order row in the refresh).
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_purchase_days_transition(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with its three declared arguments.
    let (state, day, revenue) = unsafe { (fmgr::arg(fcinfo, 0), fmgr::arg(fcinfo, 1), fmgr::arg(fcinfo, 2)) };
    let mut state = Internal::from(state);
    // SAFETY: every state of these aggregates is a DaysState.
    let s: &mut DaysState =
        unsafe { aggregate::state_or_default(&mut state, fcinfo, "_purchase_days_transition", DAYS_AGGREGATE) };
    if let Some(day) = day {
        // A date datum is its day number (int32).
        let rank = s.days.add(day.value() as i32);
        let context = || aggregate::aggregate_context(fcinfo, "_purchase_days_transition", DAYS_AGGREGATE).value();
        // SAFETY: first_day_revenue, when set, is a numeric this state allocated in the aggregate context.
        unsafe {
            match (rank, revenue, s.first_day_revenue) {
                (purchase_days::DayRank::NewFirst, revenue, old) => {
                    if let Some(old) = old {
                        pg_sys::pfree(old.cast_mut_ptr());
                    }
                    s.first_day_revenue = revenue.map(|r| copy_numeric(context(), r));
                }
                (purchase_days::DayRank::OnFirst, Some(revenue), None) => {
                    s.first_day_revenue = Some(copy_numeric(context(), revenue));
                }
                (purchase_days::DayRank::OnFirst, Some(revenue), Some(old)) => {
                    let addend = pg_sys::pg_detoast_datum(revenue.cast_mut_ptr());
                    let sum = pgrx::PgMemoryContexts::For(context()).switch_to(|_| {
                        pg_sys::numeric_add_opt_error(old.cast_mut_ptr(), addend.cast(), std::ptr::null_mut())
                    });
                    pg_sys::pfree(old.cast_mut_ptr());
                    s.first_day_revenue = Some(pg_sys::Datum::from(sum));
                }
                _ => {}
            }
        }
    }
    state.unwrap().expect("a state")
}

fmgr::finfo_v1!(pg_finfo_c360_purchase_days_final);

/// Final of `_purchase_days`: the number of distinct purchase days (0 for no rows).
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_purchase_days_final(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: the argument is this aggregate's state (a DaysState) or NULL.
    let days = unsafe { fmgr::arg(fcinfo, 0) }
        .map(|state| unsafe { (*state.cast_mut_ptr::<DaysState>()).days.distinct() })
        .unwrap_or(0);
    pg_sys::Datum::from(i32::try_from(days).unwrap_or(i32::MAX))
}

fmgr::finfo_v1!(pg_finfo_c360_first_day_revenue_final);

/// Final of `_first_day_revenue`: the revenue of the first purchase day
/// (NULL for no rows or no non-NULL revenue on that day).
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_first_day_revenue_final(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: the argument is this aggregate's state (a DaysState) or NULL;
    // PostgreSQL copies a final value that lives in the aggregate context.
    let revenue = unsafe { fmgr::arg(fcinfo, 0) }.and_then(|state| unsafe { (*state.cast_mut_ptr::<DaysState>()).first_day_revenue });
    match revenue {
        Some(revenue) => revenue,
        None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
    }
}
