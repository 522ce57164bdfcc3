//! RFM: cut points, scores and segments (SPEC.md §5).
//!
//! The math is in `breaks` (percentile_cont cut points, scores) and
//! `segments` (the rule grid, its checker); this file is the SQL face:
//! the `rfm_breaks` aggregate's support functions (the aggregate itself is
//! declared in sql/rfm.sql, parallel safe), `rfm_score`, `rfm_segment`,
//! `rfm_tier` and the functions that read the editable `c360.segment_rules`.
//! The refresh steps that use them are in sql/rfm.sql.
pub mod breaks;
pub mod segments;

use crate::aggregate;
use crate::fmgr;
use crate::sql_errors::raise;
use breaks::Sample;
use pgrx::prelude::*;
use pgrx::Internal;
use segments::{Resolution, Rule};

extension_sql_file!(
    "../../sql/rfm.sql",
    name = "rfm",
    requires = [
        "tables",
        rfm_breaks_transition_bins,
        rfm_breaks_combine,
        rfm_breaks_serialize,
        rfm_breaks_deserialize,
        rfm_breaks_final,
        segment_rule_defaults,
        segment_map,
    ]
);

fn invalid(message: String, hint: &str) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, "", Some(hint))
}

const AGGREGATE: &str = "c360.rfm_breaks";

fn sample_mut(state: &mut Internal) -> Option<&mut Sample> {
    // SAFETY: every non-NULL rfm_breaks state was made from a Sample.
    unsafe { aggregate::state_mut::<Sample>(state) }
}

fn add_value(mut state: Internal, value: Option<f64>, bins: Option<i32>, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: every rfm_breaks state is a Sample.
    let sample: &mut Sample = unsafe { aggregate::state_or_default(&mut state, fcinfo, "rfm_breaks_transition", AGGREGATE) };
    if let Some(bins) = bins {
        if let Err(e) = sample.set_bins(bins) {
            invalid(format!("rfm_breaks: {e}"), "Pass the same number of bins, between 1 and 100, for every row.")
        }
    }
    if let Some(value) = value {
        sample.values.push(value);
    }
    state
}

fmgr::finfo_v1!(pg_finfo_c360_rfm_breaks_transition);

/// Transition of `rfm_breaks(value)`: keeps every non-NULL value. A
/// hand-written fmgr function (declared in sql/rfm.sql): called once per row,
/// it costs a Vec push instead of pgrx's per-call argument handling.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_rfm_breaks_transition(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with its two declared arguments.
    let (state, value) = unsafe { (fmgr::arg(fcinfo, 0), fmgr::arg(fcinfo, 1)) };
    add_value(Internal::from(state), value.map(fmgr::float8), None, fcinfo)
        .unwrap()
        .expect("add_value always returns a state")
}

/// Transition of `rfm_breaks(value, n)`.
#[pg_extern(immutable, parallel_safe)]
fn rfm_breaks_transition_bins(
    state: Internal,
    value: Option<f64>,
    bins: Option<i32>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let Some(bins) = bins else { invalid("rfm_breaks: number of bins is NULL".into(), "Pass an integer between 1 and 100.") };
    add_value(state, value, Some(bins), fcinfo)
}

impl aggregate::PartialState for Sample {
    fn merge_state(&mut self, other: Sample) -> Result<(), String> {
        self.merge(other).map_err(|e| e.to_string())
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.serialize()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Sample, String> {
        Sample::deserialize(bytes).map_err(|e| e.to_string())
    }
}

/// Combines two partial states (parallel workers); never changes `other`.
#[pg_extern(immutable, parallel_safe)]
fn rfm_breaks_combine(state: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::combine::<Sample>(state, other, fcinfo, AGGREGATE, &|e| {
        invalid(format!("rfm_breaks: {e}"), "Pass the same number of bins for every row.")
    })
}

#[pg_extern(immutable, parallel_safe, strict)]
fn rfm_breaks_serialize(mut state: Internal) -> Vec<u8> {
    aggregate::serialize::<Sample>(&mut state)
}

#[pg_extern(immutable, parallel_safe, strict)]
fn rfm_breaks_deserialize(bytes: &[u8], _unused: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::deserialize::<Sample>(bytes, fcinfo, AGGREGATE)
}

/// The n−1 cut points; NULL when the group had no non-NULL value.
#[pg_extern(immutable, parallel_safe)]
fn rfm_breaks_final(mut state: Internal) -> Option<Vec<f64>> {
    sample_mut(&mut state)?.cut_points()
}

/// Cut points of the last `breaks` array one `rfm_score` call site saw, as
/// its in-line bytes and checked values: a query scores every row against
/// the same array, so it is checked and unpacked once, not once per row.
#[derive(Default)]
struct ScoreCache {
    array_bytes: Vec<u8>,
    cuts: Vec<f64>,
}

/// The cut points of a float8[] datum, or the error naming the bad element.
fn checked_cuts(breaks: pg_sys::Datum) -> Vec<f64> {
    let hint = "Cut points must be non-NULL and ascending, as c360.rfm_breaks returns them.";
    // SAFETY: the argument is declared float8[] and is not NULL (STRICT).
    let breaks = unsafe { Array::<f64>::from_polymorphic_datum(breaks, false, pg_sys::FLOAT8ARRAYOID) }
        .expect("a non-NULL array");
    let Ok(cuts) = breaks.as_slice() else {
        invalid(format!("rfm_score: {}", breaks::ScoreError::NullBreak(breaks::first_null(breaks.iter()))), hint)
    };
    if let Err(e) = breaks::check_ascending(cuts) {
        invalid(format!("rfm_score: {e}"), hint)
    }
    cuts.to_vec()
}

fmgr::finfo_v1!(pg_finfo_c360_rfm_score);

/// `rfm_score(value, breaks, lower_is_better)`: `1 + #{i : value > breaks[i]}`,
/// or with `lower_is_better` (recency) `1 + #{i : value < breaks[i]}`: equal
/// values always share a score. Hand-written fmgr function (declared in
/// sql/rfm.sql) with a per-call-site cache of the parsed cut points: through
/// pgrx's wrapper each call unpacked the array again, which made scoring
/// slower than an inline SQL `CASE`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn c360_rfm_score(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL calls this with its three declared arguments, none
    // NULL (STRICT); the breaks datum outlives this call.
    let (Some(value), Some(breaks), Some(lower_is_better)) =
        (unsafe { (fmgr::arg(fcinfo, 0), fmgr::arg(fcinfo, 1), fmgr::arg(fcinfo, 2)) })
    else {
        return unsafe { pgrx::fcinfo::pg_return_null(fcinfo) };
    };
    // SAFETY: this call site only ever caches a ScoreCache.
    let cache: &mut ScoreCache = unsafe { fmgr::call_cache(fcinfo, ScoreCache::default) };
    match unsafe { fmgr::inline_varlena_bytes(breaks) } {
        Some(bytes) if bytes == cache.array_bytes.as_slice() => {}
        bytes => {
            cache.cuts = checked_cuts(breaks);
            cache.array_bytes = bytes.map(<[u8]>::to_vec).unwrap_or_default();
        }
    }
    pg_sys::Datum::from(breaks::score(fmgr::float8(value), &cache.cuts, lower_is_better.value() != 0))
}

fn check_scores(r: i32, f: i32, m: i32) {
    for (name, score) in [("r", r), ("f", f), ("m", m)] {
        if !(1..=segments::SCORE_MAX).contains(&score) {
            invalid(format!("rfm score {name} = {score} is out of range 1..5"), "Segments are defined on quintile scores 1 to 5.")
        }
    }
}

/// The default segment (SPEC.md §5 grid) of an R, F, M score triple.
#[pg_extern(immutable, parallel_safe, strict)]
fn rfm_segment(r: i32, f: i32, m: i32) -> &'static str {
    check_scores(r, f, m);
    segments::default_segment(r, f, m).expect("the default grid covers every cell")
}

/// The default tier of a segment name; NULL for a name outside the default grid.
#[pg_extern(immutable, parallel_safe, strict)]
fn rfm_tier(segment: &str) -> Option<&'static str> {
    segments::default_tier(segment)
}

/// The spec's segment grid as rows: what c360.segment_rules starts with.
#[pg_extern(immutable, parallel_safe)]
fn segment_rule_defaults() -> TableIterator<
    'static,
    (
        name!(segment, String),
        name!(tier, String),
        name!(r_min, i32),
        name!(r_max, i32),
        name!(f_min, i32),
        name!(f_max, i32),
        name!(m_min, i32),
        name!(m_max, i32),
        name!(priority, i32),
    ),
> {
    TableIterator::new(
        segments::default_rules()
            .into_iter()
            .map(|r| (r.segment, r.tier, r.r.0, r.r.1, r.f.0, r.f.1, r.m.0, r.m.1, r.priority)),
    )
}

/// Reads c360.segment_rules (read-only SPI: safe in parallel workers).
fn read_rules() -> Vec<Rule> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT segment, tier, r_min, r_max, f_min, f_max, m_min, m_max, priority FROM c360.segment_rules",
                None,
                &[],
            )?
            .map(|row| {
                let get = |i: usize| row.get::<i32>(i).map(|v| v.unwrap_or(0));
                Ok(Rule {
                    segment: row.get::<String>(1)?.unwrap_or_default(),
                    tier: row.get::<String>(2)?.unwrap_or_default(),
                    r: (get(3)?, get(4)?),
                    f: (get(5)?, get(6)?),
                    m: (get(7)?, get(8)?),
                    priority: get(9)?,
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| error!("c360: could not read c360.segment_rules: {e}"))
}

/// Every problem of the rule set in c360.segment_rules; no rows = usable.
///
/// PARALLEL UNSAFE, like the two functions below: they read segment_rules
/// through SPI, and pgrx runs that read as a command (CommandCounterIncrement)
/// once the transaction has written — a CREATE TABLE AS, for one, as dbt
/// builds models — which PostgreSQL refuses inside a parallel plan.
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog)]
fn check_segment_rules() -> TableIterator<
    'static,
    (
        name!(problem, String),
        name!(segment, Option<String>),
        name!(r, Option<i32>),
        name!(f, Option<i32>),
        name!(m, Option<i32>),
        name!(detail, String),
    ),
> {
    let resolution = segments::resolve(read_rules());
    TableIterator::new(resolution.problems.into_iter().map(|p| {
        (p.problem.to_string(), p.segment, p.cell.map(|c| c.0), p.cell.map(|c| c.1), p.cell.map(|c| c.2), p.detail)
    }))
}

/// Raises the first problem of a broken rule set, naming how many there are.
fn refuse_broken(resolution: &Resolution) {
    if let Some(first) = resolution.problems.first() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "c360.segment_rules is not a usable rule set",
            format!("{} problem(s); first: {}: {}", resolution.problems.len(), first.problem, first.detail),
            Some("SELECT * FROM c360.check_segment_rules() lists them all; fix the rules or restore the defaults with c360.reset_segment_rules()."),
        )
    }
}

/// Every (r, f, m) cell with the segment and tier c360.segment_rules gives
/// it; errors when the rule set is broken. Parallel unsafe: see above.
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog)]
fn segment_map() -> TableIterator<
    'static,
    (name!(r, i32), name!(f, i32), name!(m, i32), name!(segment, String), name!(tier, String), name!(priority, i32)),
> {
    let resolution = segments::resolve(read_rules());
    refuse_broken(&resolution);
    let rows: Vec<_> = resolution
        .cells()
        .map(|((r, f, m), rule)| {
            let rule = rule.expect("a rule set without problems maps every cell");
            (r, f, m, rule.segment.clone(), rule.tier.clone(), rule.priority)
        })
        .collect();
    TableIterator::new(rows)
}

/// The segment c360.segment_rules gives an R, F, M triple. The rules are
/// read once per query and kept in the function's call cache. Parallel
/// unsafe: see check_segment_rules.
#[pg_extern(stable, parallel_unsafe, strict)]
#[search_path(pg_catalog)]
fn rfm_segment_by_rules(r: i32, f: i32, m: i32, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check_scores(r, f, m);
    // SAFETY: this call site only ever caches a Resolution.
    let resolution: &Resolution = unsafe {
        fmgr::call_cache(fcinfo, || {
            let resolution = segments::resolve(read_rules());
            refuse_broken(&resolution);
            resolution
        })
    };
    resolution.rule(r, f, m).expect("checked rule set").segment.clone()
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn breaks_match_percentile_cont() {
        let same = Spi::get_one::<bool>(
            "SELECT c360.rfm_breaks(x) = percentile_cont(ARRAY[0.2,0.4,0.6,0.8]) WITHIN GROUP (ORDER BY x)
             FROM (SELECT (random() * 1000)::int::float8 AS x FROM generate_series(1, 2000)) s",
        );
        assert_eq!(same, Ok(Some(true)));
    }
}
