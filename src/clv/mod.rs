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
use crate::numeric_datum::{fixed_to_numeric, numeric_fixed};
use crate::numeric_sum::Fixed;
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
    let m = crate::numeric_datum::numeric_f64(m);
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
    let m = crate::numeric_datum::numeric_f64(monetary);
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
    let m = crate::numeric_datum::numeric_f64(monetary);
    let value = gamma_gamma.0.expected_value(frequency, m);
    let horizons: Vec<f64> = (1..=months).map(|i| i as f64 * units_per_month).collect();
    let by_month = bgnbd.0.expected_purchases_each(&horizons, frequency, recency, t);
    let mut total = 0.0;
    let mut before = 0.0;
    for (i, by_now) in (1..=months).zip(by_month) {
        total += value * (by_now - before) / (1.0 + monthly_discount_rate).powi(i);
        before = by_now;
    }
    money(total, "clv")
}

/// An exact running sum of numerics: a scaled integer while every value
/// and the sum fit one (`numeric_sum`), PostgreSQL's numeric addition from
/// the first value that does not (more than 38 digits, NaN, infinity).
#[derive(Default, Clone, Copy)]
enum RevenueSum {
    #[default]
    Empty,
    Fixed(Fixed),
    /// A numeric allocated in the aggregate's memory context.
    Numeric(pg_sys::Datum),
}

impl RevenueSum {
    /// Adds a non-NULL numeric; memory it keeps is allocated in `context`.
    unsafe fn add(&mut self, value: pg_sys::Datum, context: pg_sys::MemoryContext) {
        // SAFETY: value is a numeric datum; Numeric states hold numerics allocated in context.
        unsafe {
            if !matches!(self, RevenueSum::Numeric(_)) {
                let sum = match (*self, numeric_fixed(value)) {
                    (RevenueSum::Empty, Some(v)) => Some(v),
                    (RevenueSum::Fixed(s), Some(v)) => s.checked_add(v),
                    _ => None,
                };
                if let Some(sum) = sum {
                    *self = RevenueSum::Fixed(sum);
                    return;
                }
            }
            // From here on, PostgreSQL's numeric arithmetic (exact, any size).
            let so_far = match *self {
                RevenueSum::Empty => None,
                RevenueSum::Fixed(s) => Some(pgrx::PgMemoryContexts::For(context).switch_to(|_| fixed_to_numeric(s))),
                RevenueSum::Numeric(d) => Some(d),
            };
            *self = RevenueSum::Numeric(match so_far {
                None => copy_numeric(context, value),
                Some(old) => {
                    let addend = pg_sys::pg_detoast_datum(value.cast_mut_ptr());
                    let sum = pgrx::PgMemoryContexts::For(context).switch_to(|_| {
                        pg_sys::numeric_add_opt_error(old.cast_mut_ptr(), addend.cast(), std::ptr::null_mut())
                    });
                    pg_sys::pfree(old.cast_mut_ptr());
                    pg_sys::Datum::from(sum)
                }
            });
        }
    }

    /// Back to no value, freeing what it kept.
    unsafe fn clear(&mut self) {
        if let RevenueSum::Numeric(old) = *self {
            // SAFETY: a Numeric state's datum was allocated by add() and is not referenced elsewhere.
            unsafe { pg_sys::pfree(old.cast_mut_ptr()) };
        }
        *self = RevenueSum::Empty;
    }

    /// The sum as a numeric (None for no value).
    unsafe fn to_datum(self) -> Option<pg_sys::Datum> {
        match self {
            RevenueSum::Empty => None,
            // SAFETY: makes a new numeric in the current (final function's) context.
            RevenueSum::Fixed(s) => Some(unsafe { fixed_to_numeric(s) }),
            RevenueSum::Numeric(d) => Some(d),
        }
    }
}

/// State shared by the purchase aggregates `c360._first_purchase_day`,
/// `_second_purchase_day`, `_last_purchase_day`, `_purchase_count`,
/// `_purchase_revenue`, `_purchase_days`, `_first_day_revenue` and
/// `_purchase_months` (same transition, read-only finals, so PostgreSQL
/// keeps one state for all of them): one customer's summary in one pass,
/// instead of a state per aggregate and customer.
#[derive(Default)]
struct PurchasesState {
    days: purchase_days::PurchaseDays,
    rows: usize,
    revenue: RevenueSum,
    first_day_revenue: RevenueSum,
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

/// Transition of the purchase aggregates `(day date, revenue numeric)`:
/// hand-written fmgr function (one call per order row in the refresh).
/// Rows count whatever their values; NULL days and NULL revenues are
/// skipped like min() and sum() skip them.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_purchase_days_transition(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with its three declared arguments.
    let (state, day, revenue) = unsafe { (fmgr::arg(fcinfo, 0), fmgr::arg(fcinfo, 1), fmgr::arg(fcinfo, 2)) };
    let mut state = Internal::from(state);
    // SAFETY: every state of these aggregates is a PurchasesState.
    let s: &mut PurchasesState =
        unsafe { aggregate::state_or_default(&mut state, fcinfo, "_purchase_days_transition", DAYS_AGGREGATE) };
    s.rows += 1;
    let context = || aggregate::aggregate_context(fcinfo, "_purchase_days_transition", DAYS_AGGREGATE).value();
    // SAFETY: revenue is a numeric datum; the sums keep their memory in the aggregate context.
    unsafe {
        if let Some(revenue) = revenue {
            s.revenue.add(revenue, context());
        }
        if let Some(day) = day {
            // A date datum is its day number (int32).
            match s.days.add(day.value() as i32) {
                purchase_days::DayRank::NewFirst => {
                    s.first_day_revenue.clear();
                    if let Some(revenue) = revenue {
                        s.first_day_revenue.add(revenue, context());
                    }
                }
                purchase_days::DayRank::OnFirst => {
                    if let Some(revenue) = revenue {
                        s.first_day_revenue.add(revenue, context());
                    }
                }
                purchase_days::DayRank::Later => {}
            }
        }
    }
    state.unwrap().expect("a state")
}

/// Defines the final function `$symbol` of a purchase aggregate: `$value`
/// maps the state (None for no rows) to the result (None for SQL NULL).
/// Finals only read the state (FINALFUNC_MODIFY = READ_ONLY: it is shared).
macro_rules! purchase_final {
    ($(#[$doc:meta])* $finfo:ident, $symbol:ident, $value:expr) => {
        fmgr::finfo_v1!($finfo);
        $(#[$doc])*
        ///
        /// # Safety
        /// PostgreSQL calls it as the final function of a purchase aggregate.
        #[pg_guard]
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $symbol(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            let value: fn(Option<&mut PurchasesState>) -> Option<pg_sys::Datum> = $value;
            // SAFETY: the argument is this aggregate's state (a PurchasesState)
            // or NULL; PostgreSQL copies a result that lives in the aggregate context.
            unsafe {
                let state = fmgr::arg(fcinfo, 0).map(|state| &mut *state.cast_mut_ptr::<PurchasesState>());
                match value(state) {
                    Some(result) => result,
                    None => pgrx::fcinfo::pg_return_null(fcinfo),
                }
            }
        }
    };
}

/// An int4 result datum.
fn int4(value: usize) -> pg_sys::Datum {
    pg_sys::Datum::from(i32::try_from(value).unwrap_or(i32::MAX))
}

/// A `date[]` datum of PostgreSQL day numbers, in the current memory context.
unsafe fn date_array(days: &[i32]) -> pg_sys::Datum {
    let mut elements: Vec<pg_sys::Datum> = days.iter().map(|&day| pg_sys::Datum::from(day)).collect();
    // SAFETY: construct_array copies the by-value elements into a new array.
    unsafe {
        pg_sys::Datum::from(pg_sys::construct_array(
            elements.as_mut_ptr(),
            elements.len() as i32,
            pg_sys::DATEOID,
            4,
            true,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        ))
    }
}

purchase_final!(
    /// Final of `_purchase_days`: the number of distinct purchase days (0 for no rows).
    pg_finfo_c360_purchase_days_final, c360_purchase_days_final,
    |s| Some(int4(s.map_or(0, |s| s.days.distinct())))
);
purchase_final!(
    /// Final of `_first_day_revenue`: the revenue of the first purchase day
    /// (NULL for no rows or no non-NULL revenue on that day).
    pg_finfo_c360_first_day_revenue_final, c360_first_day_revenue_final,
    // SAFETY: makes a numeric in the final function's context, or returns the state's.
    |s| s.and_then(|s| unsafe { s.first_day_revenue.to_datum() })
);
purchase_final!(
    /// Final of `_purchase_revenue`: the exact sum of the non-NULL revenues
    /// (NULL when there are none), at the largest display scale, like sum(numeric).
    pg_finfo_c360_purchase_revenue_final, c360_purchase_revenue_final,
    // SAFETY: as above.
    |s| s.and_then(|s| unsafe { s.revenue.to_datum() })
);
purchase_final!(
    /// Final of `_purchase_count`: the number of rows, like count(*) (0 for none).
    pg_finfo_c360_purchase_count_final, c360_purchase_count_final,
    |s| Some(int4(s.map_or(0, |s| s.rows)))
);
purchase_final!(
    /// Final of `_first_purchase_day`: the earliest non-NULL day (NULL for none).
    pg_finfo_c360_first_purchase_day_final, c360_first_purchase_day_final,
    |s| s.and_then(|s| s.days.first()).map(pg_sys::Datum::from)
);
purchase_final!(
    /// Final of `_second_purchase_day`: the day of the second purchase, repeats
    /// counted (NULL for fewer than two rows with a day).
    pg_finfo_c360_second_purchase_day_final, c360_second_purchase_day_final,
    |s| s.and_then(|s| s.days.second()).map(pg_sys::Datum::from)
);
purchase_final!(
    /// Final of `_purchase_months`: the first day of each month with a
    /// purchase, ascending, as a `date[]` (NULL for no rows with a day).
    pg_finfo_c360_purchase_months_final, c360_purchase_months_final,
    // SAFETY: makes the array in the final function's context.
    |s| s.map(|s| s.days.months()).filter(|months| !months.is_empty()).map(|months| unsafe { date_array(&months) })
);

purchase_final!(
    /// Final of `_last_purchase_day`: the latest non-NULL day (NULL for none).
    pg_finfo_c360_last_purchase_day_final, c360_last_purchase_day_final,
    |s| s.and_then(|s| s.days.last()).map(pg_sys::Datum::from)
);
