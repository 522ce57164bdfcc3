//! Customer clusters (SPEC.md §6): the SQL face of `kmeans`.
//!
//! `c360.kmeans_fit(features, k, ...)` and `c360.kmeans_select_k(features,
//! k_min, k_max, ...)` are aggregates over any query (declared in
//! sql/cluster.sql, parallel safe: workers collect rows, the leader fits);
//! they return a `c360.kmeans_model` that `c360.kmeans_assign` scores
//! vectors with. The refresh step that clusters c360's own customers is in
//! sql/cluster.sql.
pub mod kmeans;

use crate::aggregate;
use crate::sql_errors::raise;
use kmeans::{FitOptions, Points};
use pgrx::prelude::*;
use pgrx::Internal;
use serde::{Deserialize, Serialize};

extension_sql_file!(
    "../../sql/cluster.sql",
    name = "cluster",
    requires = [
        "rfm",
        kmeans_fit_transition,
        kmeans_fit_transition_options,
        kmeans_select_k_transition,
        kmeans_select_k_transition_options,
        kmeans_combine,
        kmeans_serialize,
        kmeans_deserialize,
        kmeans_fit_final,
        kmeans_select_k_final,
        kmeans_assign,
        kmeans_reorder,
        kmeans_k_scores,
        cluster_features,
    ]
);

/// A fitted k-means model. Its text form is JSON (what `SELECT model` shows
/// and what pg_dump writes); input is checked for consistency.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, PostgresType, Serialize, Deserialize)]
#[inoutfuncs]
#[bikeshed_postgres_type_manually_impl_from_into_datum]
#[serde(transparent)]
pub struct kmeans_model(kmeans::KMeansModel);

crate::json_model_io!(kmeans_model, "c360.kmeans_model");
crate::model_datum!(kmeans_model);

fn invalid(message: String, hint: &str) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, "", Some(hint))
}

/// What the aggregate collects: the rows and the parameters every row repeats.
#[derive(Clone, Debug, Default)]
struct FitState {
    points: Points,
    options: Option<FitOptions>,
    /// Some for kmeans_select_k.
    k_range: Option<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Parameters {
    options: FitOptions,
    k_range: Option<(usize, usize)>,
}

impl FitState {
    fn set_parameters(&mut self, options: FitOptions, k_range: Option<(usize, usize)>) {
        match &self.options {
            None => {
                self.options = Some(options);
                self.k_range = k_range;
            }
            Some(old) if *old != options || self.k_range != k_range => invalid(
                "k-means parameters differ between rows".into(),
                "Pass the same k, n_init, max_iter, tolerance, seed and standardize on every row (constants).",
            ),
            Some(_) => {}
        }
    }
}

const AGGREGATE: &str = "c360.kmeans_fit or c360.kmeans_select_k";

fn state_mut(state: &mut Internal) -> Option<&mut FitState> {
    // SAFETY: every non-NULL kmeans state was made by aggregate::new_state from a FitState.
    unsafe { aggregate::state_mut::<FitState>(state) }
}

fn positive(name: &str, value: Option<i64>) -> usize {
    match value {
        Some(v) if v >= 0 => v as usize,
        Some(v) => invalid(format!("k-means: {name} = {v} must not be negative"), "See \\df c360.kmeans_fit for the parameters."),
        None => invalid(format!("k-means: {name} is NULL"), "Pass a value, or use the shorter form for the defaults."),
    }
}

/// Options from the SQL arguments; None arguments of the long form are errors.
fn options(k: usize, long: Option<(Option<i32>, Option<i32>, Option<f64>, Option<i64>, Option<bool>)>) -> FitOptions {
    let mut options = FitOptions::new(k);
    if let Some((n_init, max_iter, tolerance, seed, standardize)) = long {
        options.n_init = positive("n_init", n_init.map(i64::from));
        options.max_iter = positive("max_iter", max_iter.map(i64::from));
        options.tolerance =
            tolerance.unwrap_or_else(|| invalid("k-means: tolerance is NULL".into(), "Pass a value such as 1e-4."));
        options.seed = seed.unwrap_or_else(|| invalid("k-means: seed is NULL".into(), "Pass any integer.")) as u64;
        options.standardize = standardize
            .unwrap_or_else(|| invalid("k-means: standardize is NULL".into(), "Pass true (z-score each feature) or false."));
    }
    if let Err(e) = options.check() {
        invalid(format!("k-means: {e}"), "See \\df c360.kmeans_fit for the parameters.")
    }
    options
}

/// One row: NULL arrays are skipped like other aggregates skip NULLs; a
/// NULL, NaN or infinite element is an error (a fit must not silently
/// lose rows).
fn add_row(
    mut state: Internal,
    features: Option<Array<f64>>,
    options: FitOptions,
    k_range: Option<(usize, usize)>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    // SAFETY: every k-means state is a FitState.
    let fit: &mut FitState = unsafe { aggregate::state_or_default(&mut state, fcinfo, "kmeans transition", AGGREGATE) };
    fit.set_parameters(options, k_range);
    let Some(features) = features else { return state };
    let Ok(row) = features.as_slice() else {
        invalid(
            "k-means: a feature vector contains NULL".into(),
            "Replace NULL features (coalesce) or filter those rows out; c360 does not guess them.",
        )
    };
    if let Err(e) = fit.points.push(row) {
        invalid(format!("k-means: {e}"), "Every row needs the same number of finite features.")
    }
    state
}

/// Transition of `kmeans_fit(features, k)`.
#[pg_extern(immutable, parallel_safe)]
fn kmeans_fit_transition(state: Internal, features: Option<Array<f64>>, k: Option<i32>, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    let k = positive("k", k.map(i64::from));
    add_row(state, features, options(k, None), None, fcinfo)
}

/// Transition of `kmeans_fit(features, k, n_init, max_iter, tolerance, seed, standardize)`.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn kmeans_fit_transition_options(
    state: Internal,
    features: Option<Array<f64>>,
    k: Option<i32>,
    n_init: Option<i32>,
    max_iter: Option<i32>,
    tolerance: Option<f64>,
    seed: Option<i64>,
    standardize: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let k = positive("k", k.map(i64::from));
    add_row(state, features, options(k, Some((n_init, max_iter, tolerance, seed, standardize))), None, fcinfo)
}

fn k_range(k_min: Option<i32>, k_max: Option<i32>) -> (usize, usize) {
    let range = (positive("k_min", k_min.map(i64::from)), positive("k_max", k_max.map(i64::from)));
    if range.0 < 2 || range.1 < range.0 || range.1 > kmeans::MAX_K {
        invalid(
            format!("k-means: k range {}..{} is invalid", range.0, range.1),
            &format!("Use 2 <= k_min <= k_max <= {}.", kmeans::MAX_K),
        )
    }
    range
}

/// Transition of `kmeans_select_k(features, k_min, k_max)`.
#[pg_extern(immutable, parallel_safe)]
fn kmeans_select_k_transition(
    state: Internal,
    features: Option<Array<f64>>,
    k_min: Option<i32>,
    k_max: Option<i32>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let range = k_range(k_min, k_max);
    add_row(state, features, options(range.0, None), Some(range), fcinfo)
}

/// Transition of `kmeans_select_k(features, k_min, k_max, n_init, max_iter, tolerance, seed, standardize)`.
#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::too_many_arguments)]
fn kmeans_select_k_transition_options(
    state: Internal,
    features: Option<Array<f64>>,
    k_min: Option<i32>,
    k_max: Option<i32>,
    n_init: Option<i32>,
    max_iter: Option<i32>,
    tolerance: Option<f64>,
    seed: Option<i64>,
    standardize: Option<bool>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let range = k_range(k_min, k_max);
    let options = options(range.0, Some((n_init, max_iter, tolerance, seed, standardize)));
    add_row(state, features, options, Some(range), fcinfo)
}

impl aggregate::PartialState for FitState {
    fn merge_state(&mut self, other: FitState) -> Result<(), String> {
        if let Some(options) = other.options {
            self.set_parameters(options, other.k_range);
        }
        self.points.merge(other.points)
    }
    fn to_bytes(&self) -> Vec<u8> {
        let parameters = self.options.clone().map(|options| Parameters { options, k_range: self.k_range });
        let head = serde_json::to_vec(&parameters).expect("parameters serialize");
        let mut out = (head.len() as u32).to_le_bytes().to_vec();
        out.extend(head);
        out.extend(self.points.serialize());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Result<FitState, String> {
        let corrupt = || "corrupt k-means state".to_string();
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(corrupt());
        }
        let parameters: Option<Parameters> = serde_json::from_slice(&rest[..len]).map_err(|_| corrupt())?;
        Ok(FitState {
            points: Points::deserialize(&rest[len..])?,
            k_range: parameters.as_ref().and_then(|p| p.k_range),
            options: parameters.map(|p| p.options),
        })
    }
}

/// Combines two partial states (parallel workers); never changes `other`.
#[pg_extern(immutable, parallel_safe)]
fn kmeans_combine(state: Internal, other: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::combine::<FitState>(state, other, fcinfo, AGGREGATE, &|e| {
        invalid(format!("k-means: {e}"), "Every row needs the same number of finite features.")
    })
}

#[pg_extern(immutable, parallel_safe, strict)]
fn kmeans_serialize(mut state: Internal) -> Vec<u8> {
    aggregate::serialize::<FitState>(&mut state)
}

#[pg_extern(immutable, parallel_safe, strict)]
fn kmeans_deserialize(bytes: &[u8], _unused: Internal, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    aggregate::deserialize::<FitState>(bytes, fcinfo, AGGREGATE)
}

fn check_for_interrupts() {
    pg_sys::check_for_interrupts!();
}

fn finish(state: &mut Internal) -> Option<kmeans_model> {
    let fit = state_mut(state)?;
    let options = fit.options.clone()?;
    if fit.points.is_empty() {
        return None;
    }
    let model = match fit.k_range {
        Some((k_min, k_max)) => kmeans::select_k(&fit.points, k_min, k_max, &options, &mut check_for_interrupts),
        None => kmeans::fit(&fit.points, &options, &mut check_for_interrupts),
    };
    match model {
        Ok(model) => Some(kmeans_model(model)),
        Err(e) => invalid(format!("k-means: {e}"), "Use a k no larger than the number of rows."),
    }
}

/// The fitted model; NULL when there were no rows.
#[pg_extern(immutable, parallel_safe)]
fn kmeans_fit_final(mut state: Internal) -> Option<kmeans_model> {
    finish(&mut state)
}

/// The model of the best k (highest simplified silhouette); NULL for no rows.
#[pg_extern(immutable, parallel_safe)]
fn kmeans_select_k_final(mut state: Internal) -> Option<kmeans_model> {
    finish(&mut state)
}

/// The cluster (1..k) of a feature vector: its nearest centroid after the
/// model's scaling. NULL when an element is NULL, NaN or infinite; an error
/// when the length differs from the model's.
#[pg_extern(immutable, parallel_safe, strict)]
fn kmeans_assign(features: Array<f64>, model: kmeans_model) -> Option<i32> {
    let row: Vec<f64> = features.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    match model.0.assign(&row) {
        Ok(cluster) => cluster.map(|c| c as i32 + 1),
        Err(e) => invalid(format!("kmeans_assign: {e}"), "Pass the same features, in the same order, as the fit."),
    }
}

/// The model with clusters renumbered: `new_order[j]` is the old number of
/// the cluster that becomes j. c360 orders its customer clusters this way.
#[pg_extern(immutable, parallel_safe, strict)]
fn kmeans_reorder(model: kmeans_model, new_order: Array<i32>) -> kmeans_model {
    let order: Vec<usize> = new_order.iter().map(|v| v.map_or(usize::MAX, |v| (v as usize).wrapping_sub(1))).collect();
    let mut reordered = model.0;
    if let Err(e) = reordered.reorder(&order) {
        invalid(format!("kmeans_reorder: {e}"), "Pass an array of the cluster numbers 1..k in their new order.")
    }
    kmeans_model(reordered)
}

/// Inertia and simplified silhouette of every k kmeans_select_k tried (one
/// row, for the model's k, when it came from kmeans_fit).
#[pg_extern(immutable, parallel_safe, strict)]
fn kmeans_k_scores(
    model: kmeans_model,
) -> TableIterator<'static, (name!(k, i32), name!(inertia, f64), name!(silhouette, f64), name!(chosen, bool))> {
    let model = model.0;
    let scores = if model.k_scores.is_empty() {
        vec![kmeans::KScore { k: model.k, inertia: model.inertia, silhouette: model.silhouette }]
    } else {
        model.k_scores.clone()
    };
    TableIterator::new(scores.into_iter().map(move |s| (s.k as i32, s.inertia, s.silhouette, s.k == model.k)))
}

/// The clustering features of a customer (SPEC.md §6): log1p of recency
/// days, frequency and monetary. Sign-preserving (−log1p(|x|) below zero) so
/// a negative input cannot make NaN; c360's own metrics are never negative.
#[pg_extern(immutable, parallel_safe, strict)]
fn cluster_features(recency_days: i32, frequency: i32, monetary: AnyNumeric) -> Vec<f64> {
    let monetary = crate::numeric_datum::numeric_f64(monetary);
    kmeans::signed_log1p(&[recency_days as f64, frequency as f64, monetary])
}
