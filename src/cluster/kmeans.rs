//! k-means on feature vectors (SPEC.md §6), free of pgrx.
//!
//! Each restart is seeded by linfa-clustering (k-means++ and its first
//! step), then refined by c360's own Lloyd steps: a fused pass over flat
//! rows, ten times faster than linfa's (see `lloyd_step`). c360 owns the
//! loop so that it can count iterations, apply scikit-learn's convergence
//! rule, let PostgreSQL cancel a long fit between steps, and report the
//! exact inertia of the final centroids (linfa reports the mean distance
//! before its last update).
use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::{Array2, ArrayView2};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

pub use crate::points::Points;

pub const MAX_K: usize = 100;
pub use crate::points::MAX_FEATURES;

/// How to fit; the defaults are scikit-learn's (n_init 10, max_iter 300, tol 1e-4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub k: usize,
    pub n_init: usize,
    pub max_iter: usize,
    pub tolerance: f64,
    pub seed: u64,
    pub standardize: bool,
}

impl FitOptions {
    pub fn new(k: usize) -> FitOptions {
        FitOptions { k, n_init: 10, max_iter: 300, tolerance: 1e-4, seed: 42, standardize: true }
    }

    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_K).contains(&self.k) {
            return Err(format!("k = {} is out of range 1..{MAX_K}", self.k));
        }
        if !(1..=1000).contains(&self.n_init) {
            return Err(format!("n_init = {} is out of range 1..1000", self.n_init));
        }
        if !(1..=100_000).contains(&self.max_iter) {
            return Err(format!("max_iter = {} is out of range 1..100000", self.max_iter));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(format!("tolerance = {} must be a finite number >= 0", self.tolerance));
        }
        Ok(())
    }
}

/// One k tried by `select_k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: f64,
}

/// A fitted model: everything `assign` needs, plus how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    pub k: usize,
    pub features: usize,
    /// k rows of `features` values, in the standardized space when `mean` is set.
    pub centroids: Vec<Vec<f64>>,
    /// z-score scaler (population std; a constant feature gets std 1);
    /// absent when the fit did not standardize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<Vec<f64>>,
    /// Sum of squared distances of the rows to their centroid (standardized space).
    pub inertia: f64,
    /// Lloyd iterations of the best restart.
    pub iterations: usize,
    pub rows: usize,
    pub cluster_sizes: Vec<u64>,
    /// Simplified silhouette (to centroids) of the training rows.
    pub silhouette: f64,
    pub options: FitOptions,
    /// Filled by `select_k`: every k tried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub k_scores: Vec<KScore>,
}

impl KMeansModel {
    /// Refuses a model that could not have been fitted (a hand-edited text form).
    pub fn check(&self) -> Result<(), String> {
        let scaler_ok = match (&self.mean, &self.std) {
            (Some(m), Some(s)) => {
                m.len() == self.features
                    && s.len() == self.features
                    && m.iter().all(|v| v.is_finite())
                    && s.iter().all(|v| v.is_finite() && *v > 0.0)
            }
            (None, None) => true,
            _ => false,
        };
        if !(1..=MAX_K).contains(&self.k) || !(1..=MAX_FEATURES).contains(&self.features) {
            return Err(format!("k = {} and features = {} must be 1..{MAX_K} and 1..{MAX_FEATURES}", self.k, self.features));
        }
        if self.centroids.len() != self.k || self.cluster_sizes.len() != self.k {
            return Err(format!("it has {} centroids and {} cluster sizes for k = {}", self.centroids.len(), self.cluster_sizes.len(), self.k));
        }
        if self.centroids.iter().any(|c| c.len() != self.features || c.iter().any(|v| !v.is_finite())) {
            return Err(format!("every centroid must have {} finite values", self.features));
        }
        if !scaler_ok {
            return Err(format!("mean and std must both be absent or both have {} finite values (std > 0)", self.features));
        }
        Ok(())
    }

    /// The 0-based cluster of a feature vector: the nearest centroid (ties to the lowest index).
    pub fn assign(&self, row: &[f64]) -> Result<Option<usize>, String> {
        if row.len() != self.features {
            return Err(format!("the feature vector has {} elements but the model was fitted on {}", row.len(), self.features));
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        let scaled: Vec<f64> = match (&self.mean, &self.std) {
            (Some(mean), Some(std)) => row.iter().zip(mean).zip(std).map(|((v, m), s)| (v - m) / s).collect(),
            _ => row.to_vec(),
        };
        Ok(Some(nearest(&self.centroids, &scaled).0))
    }

    /// Renumbers the clusters: cluster `order[j]` becomes cluster j.
    pub fn reorder(&mut self, order: &[usize]) -> Result<(), String> {
        let mut seen = vec![false; self.k];
        if order.len() != self.k || order.iter().any(|&i| i >= self.k || std::mem::replace(&mut seen[i], true)) {
            return Err(format!("the new order must list each of the {} clusters once", self.k));
        }
        self.centroids = order.iter().map(|&i| self.centroids[i].clone()).collect();
        self.cluster_sizes = order.iter().map(|&i| self.cluster_sizes[i]).collect();
        Ok(())
    }
}

/// log1p of each value, mirrored below zero: sign(x)·ln(1 + |x|).
pub fn signed_log1p(values: &[f64]) -> Vec<f64> {
    values.iter().map(|v| v.signum() * v.abs().ln_1p()).collect()
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the nearest centroid and the squared distance to it.
fn nearest(centroids: &[Vec<f64>], row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let d = squared_distance(c, row);
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// Mean and population standard deviation of each column (std 1 where constant).
fn scaler(points: &Points) -> (Vec<f64>, Vec<f64>) {
    let n = points.len() as f64;
    let mut mean = vec![0.0; points.dim];
    for row in points.data.chunks_exact(points.dim) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; points.dim];
    for row in points.data.chunks_exact(points.dim) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    let std = var.iter().map(|s| (s / n).sqrt()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
    (mean, std)
}

/// The training matrix in the space the centroids live in.
fn training_matrix(points: &Points, scale: Option<&(Vec<f64>, Vec<f64>)>) -> Array2<f64> {
    let mut data = points.data.clone();
    if let Some((mean, std)) = scale {
        for row in data.chunks_exact_mut(points.dim) {
            for ((v, m), s) in row.iter_mut().zip(mean).zip(std) {
                *v = (*v - m) / s;
            }
        }
    }
    Array2::from_shape_vec((points.len(), points.dim), data).expect("rows × dim values")
}

struct Run {
    centroids: Vec<Vec<f64>>,
    inertia: f64,
    iterations: usize,
}

/// One restart: linfa's k-means++ seeding and first step, then c360's own
/// Lloyd steps until the squared centroid shift is within tolerance.
fn one_run(x: ArrayView2<f64>, opts: &FitOptions, run: usize, tol: f64, between_steps: &mut dyn FnMut()) -> Result<Run, String> {
    // A separate stream per restart, so restart i is the same whatever n_init is.
    let rng = Xoshiro256Plus::seed_from_u64(opts.seed.wrapping_add(run as u64));
    let seeded = KMeans::params_with_rng(opts.k, rng)
        .init_method(KMeansInit::KMeansPlusPlus)
        .n_runs(1)
        .max_n_iterations(1)
        .fit(&DatasetBase::from(x))
        .map_err(|e| format!("k-means failed: {e}"))?;
    let rows = x.as_slice().expect("standard layout");
    let dim = x.ncols();
    let mut centroids: Vec<f64> = seeded.centroids().iter().copied().collect();
    let mut iterations = 1;
    while iterations < opts.max_iter {
        between_steps();
        let next = lloyd_step(rows, dim, &centroids);
        let shift: f64 = next.iter().zip(&centroids).map(|(a, b)| (a - b) * (a - b)).sum();
        centroids = next;
        iterations += 1;
        if shift <= tol {
            break;
        }
    }
    let centroids: Vec<Vec<f64>> = centroids.chunks(dim).map(<[f64]>::to_vec).collect();
    let inertia = rows.chunks_exact(dim).map(|r| nearest(&centroids, r).1).sum();
    Ok(Run { centroids, inertia, iterations })
}

/// Per-cluster sums and counts of one block of rows.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<u64>,
}

/// One Lloyd step: assign every row to its nearest centroid and move each
/// centroid to the mean of its rows (an empty cluster keeps its centroid).
/// linfa's step walks ndarray views row by row and updates centroids
/// serially (~45 ms a step at 1M × 3); this one is a single fused pass over
/// the flat rows, blocks in parallel, summed in block order so the result
/// does not depend on thread timing (~4 ms).
fn lloyd_step(rows: &[f64], dim: usize, centroids: &[f64]) -> Vec<f64> {
    use rayon::prelude::*;
    let k = centroids.len() / dim;
    let block_rows = (rows.len() / dim).div_ceil(64).max(4096);
    // The common dimensions get a copy with the dimension a constant, so
    // the distance loops unroll (c360's own features are 3).
    let block_partial = match dim {
        2 => block_partial::<2>,
        3 => block_partial::<3>,
        4 => block_partial::<4>,
        _ => block_partial::<0>,
    };
    let partials: Vec<Partial> = rows.par_chunks(block_rows * dim).map(|block| block_partial(block, dim, centroids)).collect();
    let mut total = Partial { sums: vec![0.0; k * dim], counts: vec![0; k] };
    for p in partials {
        total.sums.iter_mut().zip(&p.sums).for_each(|(t, s)| *t += s);
        total.counts.iter_mut().zip(&p.counts).for_each(|(t, c)| *t += c);
    }
    let mut next = centroids.to_vec();
    for c in 0..k {
        if total.counts[c] > 0 {
            for j in 0..dim {
                next[c * dim + j] = total.sums[c * dim + j] / total.counts[c] as f64;
            }
        }
    }
    next
}

/// Per-cluster sums and counts of one block of rows of `dim` features;
/// `D` is `dim` when it is not 0 (then a constant to the compiler). The
/// arithmetic is `squared_distance`'s, in the same order.
fn block_partial<const D: usize>(block: &[f64], dim: usize, centroids: &[f64]) -> Partial {
    let dim = if D == 0 { dim } else { D };
    let k = centroids.len() / dim;
    let mut p = Partial { sums: vec![0.0; k * dim], counts: vec![0; k] };
    for row in block.chunks_exact(dim) {
        let mut best = (0, f64::INFINITY);
        for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
            let mut d = 0.0;
            for j in 0..dim {
                let diff = centroid[j] - row[j];
                d += diff * diff;
            }
            if d < best.1 {
                best = (c, d);
            }
        }
        p.counts[best.0] += 1;
        for j in 0..dim {
            p.sums[best.0 * dim + j] += row[j];
        }
    }
    p
}

/// Fits k-means: the best (lowest inertia) of `n_init` restarts. The same
/// rows in any order give the same model.
/// `between_steps` runs between Lloyd steps (PostgreSQL checks for cancel there).
pub fn fit(points: &Points, opts: &FitOptions, between_steps: &mut dyn FnMut()) -> Result<KMeansModel, String> {
    fit_sorted(&points.sorted(), opts, between_steps)
}

fn fit_sorted(points: &Points, opts: &FitOptions, between_steps: &mut dyn FnMut()) -> Result<KMeansModel, String> {
    opts.check()?;
    if points.len() < opts.k {
        return Err(format!("k = {} but only {} rows to cluster", opts.k, points.len()));
    }
    let scale = opts.standardize.then(|| scaler(points));
    let x = training_matrix(points, scale.as_ref());
    // scikit-learn's rule: tolerance relative to the mean variance of the data.
    let mean_variance = x.columns().into_iter().map(|c| c.var(0.0)).sum::<f64>() / points.dim as f64;
    let tol = opts.tolerance * mean_variance.max(f64::MIN_POSITIVE);
    let mut best: Option<Run> = None;
    for run in 0..opts.n_init {
        let candidate = one_run(x.view(), opts, run, tol, between_steps)?;
        if best.as_ref().is_none_or(|b| candidate.inertia < b.inertia) {
            best = Some(candidate);
        }
    }
    let best = best.expect("n_init >= 1");
    let mut cluster_sizes = vec![0u64; opts.k];
    for row in x.rows() {
        cluster_sizes[nearest(&best.centroids, row.as_slice().expect("standard layout")).0] += 1;
    }
    let silhouette = simplified_silhouette(x.view(), &best.centroids);
    let (mean, std) = match scale {
        Some((m, s)) => (Some(m), Some(s)),
        None => (None, None),
    };
    Ok(KMeansModel {
        k: opts.k,
        features: points.dim,
        centroids: best.centroids,
        mean,
        std,
        inertia: best.inertia,
        iterations: best.iterations,
        rows: points.len(),
        cluster_sizes,
        silhouette,
        options: opts.clone(),
        k_scores: Vec::new(),
    })
}

/// Mean simplified silhouette: for each row, a = distance to its centroid,
/// b = distance to the nearest other centroid, s = (b − a) / max(a, b).
/// O(n·k) instead of the full silhouette's O(n²), so it scales to millions of
/// rows; it ranks k the same way on compact clusters. 0 for k = 1.
pub fn simplified_silhouette(x: ArrayView2<f64>, centroids: &[Vec<f64>]) -> f64 {
    if centroids.len() < 2 || x.nrows() == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for row in x.rows() {
        let row = row.as_slice().expect("standard layout");
        // The two smallest distances: to the own (nearest) and the next centroid.
        let (mut a, mut b) = (f64::INFINITY, f64::INFINITY);
        for c in centroids {
            let d = squared_distance(c, row).sqrt();
            if d < a {
                (a, b) = (d, a);
            } else if d < b {
                b = d;
            }
        }
        if b > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / x.nrows() as f64
}

/// Fits every k in `k_min..=k_max` and returns the model with the highest
/// simplified silhouette (the smaller k on a tie), with all scores in `k_scores`.
pub fn select_k(points: &Points, k_min: usize, k_max: usize, opts: &FitOptions, between_steps: &mut dyn FnMut()) -> Result<KMeansModel, String> {
    if k_min < 2 || k_max < k_min || k_max > MAX_K {
        return Err(format!("k range {k_min}..{k_max} is invalid; it must be 2 <= k_min <= k_max <= {MAX_K}"));
    }
    let points = points.sorted();
    let mut best: Option<KMeansModel> = None;
    let mut scores = Vec::new();
    for k in k_min..=k_max.min(points.len().max(k_min)) {
        let model = fit_sorted(&points, &FitOptions { k, ..opts.clone() }, between_steps)?;
        scores.push(KScore { k, inertia: model.inertia, silhouette: model.silhouette });
        if best.as_ref().is_none_or(|b| model.silhouette > b.silhouette) {
            best = Some(model);
        }
    }
    let mut best = best.expect("at least k_min is fitted");
    best.k_scores = scores;
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(per_blob: usize, centers: &[[f64; 2]], seed: u64) -> Points {
        // A small LCG: deterministic jitter in [-0.5, 0.5) without another dependency.
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut points = Points::default();
        for c in centers {
            for _ in 0..per_blob {
                points.push(&[c[0] + next(), c[1] + next()]).unwrap();
            }
        }
        points
    }

    const CENTERS: [[f64; 2]; 3] = [[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]];

    #[test]
    fn separated_blobs_are_recovered_exactly() {
        let points = blobs(200, &CENTERS, 7);
        let model = fit(&points, &FitOptions::new(3), &mut || {}).unwrap();
        // Every blob maps to one cluster and no two blobs share one.
        let labels: Vec<usize> = points.data.chunks(2).map(|r| model.assign(r).unwrap().unwrap()).collect();
        let mut blob_labels: Vec<usize> = labels.chunks(200).map(|b| b[0]).collect();
        for (blob, chunk) in labels.chunks(200).enumerate() {
            assert!(chunk.iter().all(|&l| l == blob_labels[blob]), "blob {blob} split");
        }
        blob_labels.sort();
        blob_labels.dedup();
        assert_eq!(blob_labels.len(), 3);
        assert_eq!(model.cluster_sizes, vec![200, 200, 200]);
        assert!(model.silhouette > 0.9, "{}", model.silhouette);
    }

    #[test]
    fn same_seed_same_model_other_seed_may_differ() {
        let points = blobs(100, &CENTERS, 3);
        let a = fit(&points, &FitOptions::new(4), &mut || {}).unwrap();
        let b = fit(&points, &FitOptions::new(4), &mut || {}).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn row_order_does_not_change_the_model() {
        let points = blobs(100, &CENTERS, 3);
        let mut reversed = Points { dim: 2, data: Vec::new() };
        for row in points.data.chunks(2).rev() {
            reversed.push(row).unwrap();
        }
        let opts = FitOptions::new(3);
        assert_eq!(fit(&points, &opts, &mut || {}).unwrap(), fit(&reversed, &opts, &mut || {}).unwrap());
    }

    #[test]
    fn inertia_is_the_sum_of_squared_distances() {
        let points = blobs(50, &CENTERS, 5);
        let opts = FitOptions { standardize: false, ..FitOptions::new(3) };
        let model = fit(&points, &opts, &mut || {}).unwrap();
        let expected: f64 = points.data.chunks(2).map(|r| nearest(&model.centroids, r).1).sum();
        assert!((model.inertia - expected).abs() < 1e-9 * expected);
        // Jitter is uniform in a unit square: variance 1/12 per axis around each centre.
        assert!((model.inertia / 150.0 - 2.0 / 12.0).abs() < 0.05, "{}", model.inertia);
    }

    #[test]
    fn standardized_model_scores_raw_vectors() {
        let points = blobs(100, &CENTERS, 11);
        let model = fit(&points, &FitOptions::new(3), &mut || {}).unwrap();
        let (mean, std) = (model.mean.clone().unwrap(), model.std.clone().unwrap());
        assert!((mean[0] - 20.0 / 3.0).abs() < 0.2 && std[0] > 5.0);
        let near_origin = model.assign(&[0.1, -0.2]).unwrap();
        assert_eq!(near_origin, model.assign(&[0.0, 0.0]).unwrap());
        assert_ne!(near_origin, model.assign(&[20.0, 0.0]).unwrap());
    }

    #[test]
    fn select_k_finds_three_blobs() {
        let points = blobs(100, &CENTERS, 13);
        let model = select_k(&points, 2, 6, &FitOptions::new(2), &mut || {}).unwrap();
        assert_eq!(model.k, 3);
        assert_eq!(model.k_scores.iter().map(|s| s.k).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
        // Inertia never rises with k on these blobs.
        assert!(model.k_scores.windows(2).all(|w| w[1].inertia <= w[0].inertia * 1.0001));
    }

    #[test]
    fn reorder_permutes_centroids_and_sizes() {
        let points = blobs(30, &CENTERS, 17);
        let mut model = fit(&points, &FitOptions::new(3), &mut || {}).unwrap();
        let before = model.clone();
        model.reorder(&[2, 0, 1]).unwrap();
        assert_eq!(model.centroids[0], before.centroids[2]);
        assert_eq!(model.cluster_sizes[1], before.cluster_sizes[0]);
        assert!(model.reorder(&[0, 0, 1]).is_err());
        assert!(model.reorder(&[0, 1]).is_err());
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let mut points = Points::default();
        points.push(&[1.0, 2.0]).unwrap();
        assert!(points.push(&[1.0]).unwrap_err().contains("different lengths"));
        assert!(points.push(&[1.0, f64::NAN]).unwrap_err().contains("feature 2 is NaN"));
        assert!(points.push(&[]).is_err());
        assert!(fit(&points, &FitOptions::new(2), &mut || {}).unwrap_err().contains("only 1 rows"));
        assert!(fit(&points, &FitOptions::new(0), &mut || {}).unwrap_err().contains("k = 0"));
        let model = fit(&points, &FitOptions::new(1), &mut || {}).unwrap();
        assert_eq!(model.check(), Ok(()));
        let mut broken = model.clone();
        broken.centroids[0].pop();
        assert!(broken.check().unwrap_err().contains("2 finite values"));
        assert!(model.assign(&[1.0]).unwrap_err().contains("fitted on 2"));
        assert_eq!(model.assign(&[1.0, f64::INFINITY]).unwrap(), None);
    }

    #[test]
    fn serialized_points_round_trip() {
        let points = blobs(5, &CENTERS, 1);
        assert_eq!(Points::deserialize(&points.serialize()).unwrap(), points);
        assert_eq!(Points::deserialize(&Points::default().serialize()).unwrap(), Points::default());
        assert!(Points::deserialize(&[1, 0, 0]).is_err());
        assert!(Points::deserialize(&[2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]).is_err());
    }

    #[test]
    fn identical_points_do_not_panic() {
        let mut points = Points::default();
        for _ in 0..10 {
            points.push(&[3.0, 3.0]).unwrap();
        }
        let model = fit(&points, &FitOptions::new(2), &mut || {}).unwrap();
        assert_eq!(model.inertia, 0.0);
        assert_eq!(model.cluster_sizes.iter().sum::<u64>(), 10);
    }
}

#[cfg(test)]
mod probe {
    #[test]
    #[ignore]
    fn probe_million() {
        let mut p = super::Points::default();
        let mut s = 1u64;
        for i in 0..1_000_000u64 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            p.push(&[(i % 4) as f64 * 3.0 + u, (i % 3) as f64 + u * u, u.ln_1p()]).unwrap();
        }
        let t = std::time::Instant::now();
        let m = super::fit(&p, &super::FitOptions::new(4), &mut || {}).unwrap();
        eprintln!("fit {:?} iters {} inertia {}", t.elapsed(), m.iterations, m.inertia);
    }
}
