//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using
//! iso-value curves"; the `lifetimes` formulation): a customer's average
//! order value over x repeat purchases with mean value m, shrunk towards the
//! population mean. Fitted on customers with x > 0 and m > 0.
use super::special::{at_bound, boxed, digamma, ln_gamma, nelder_mead, trigamma, Minimum, LOG_PARAMETER_RANGE};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
    pub log_likelihood: f64,
    pub customers: u64,
    pub converged: bool,
    pub iterations: usize,
}

/// Checks one row: x > 0 repeat purchases and a mean value m > 0.
pub fn check_row(x: f64, m: f64) -> Result<(), String> {
    if !(x.is_finite() && m.is_finite()) || x <= 0.0 || m <= 0.0 {
        return Err(format!(
            "Gamma-Gamma needs frequency > 0 and monetary value > 0 (got {x}, {m}); fit it on repeat customers with positive spend"
        ));
    }
    Ok(())
}

impl GammaGamma {
    /// E[average order value | x, m]; for x = 0 the population mean p·v / (q − 1).
    pub fn expected_value(&self, x: f64, m: f64) -> f64 {
        let m = if x > 0.0 { m } else { 0.0 };
        self.p * (self.v + x * m) / (self.p * x + self.q - 1.0)
    }

    pub fn check(&self) -> Result<(), String> {
        if [self.p, self.q, self.v].iter().all(|v| v.is_finite() && *v > 0.0) {
            Ok(())
        } else {
            Err("p, q and v must be finite and > 0".into())
        }
    }
}

/// Rows sorted by frequency with ln m precomputed: per evaluation the
/// gamma functions are computed once per distinct frequency and a row costs
/// one log (of x·m + v).
struct Prepared {
    /// (x, m, ln m), sorted by x.
    rows: Vec<(f64, f64, f64)>,
    /// The rows of each frequency: (x, first row, end, Σ ln m).
    groups: Vec<(f64, usize, usize, f64)>,
}

impl Prepared {
    fn new(flat: &[f64]) -> Prepared {
        let mut rows: Vec<(f64, f64, f64)> = flat.chunks_exact(2).map(|r| (r[0], r[1], r[1].ln())).collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut groups: Vec<(f64, usize, usize, f64)> = Vec::new();
        for (i, &(x, _, ln_m)) in rows.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if g.0 == x => {
                    g.2 = i + 1;
                    g.3 += ln_m;
                }
                _ => groups.push((x, i, i + 1, ln_m)),
            }
        }
        Prepared { rows, groups }
    }

    /// The fits' start in log parameters: p = q = 1, v = the mean of m
    /// (from the sorted rows: the same start, so the same fit, in any row order).
    fn start(&self) -> [f64; 3] {
        let mean_m = self.rows.iter().map(|r| r.1).sum::<f64>() / self.rows.len() as f64;
        [0.0, 0.0, mean_m.ln()]
    }

    /// What the fits minimize: minus the mean log-likelihood at log parameters θ.
    fn negative_mean_ll(&self, theta: &[f64]) -> f64 {
        -self.log_likelihood(theta[0].exp(), theta[1].exp(), theta[2].exp()) / self.rows.len() as f64
    }

    /// The mean log-likelihood's gradient and Hessian in the log parameters
    /// θ = (ln p, ln q, ln v), summed per frequency: one ln and one division
    /// a row, ψ and ψ₁ once a frequency.
    fn derivatives(&self, theta: &[f64; 3]) -> ([f64; 3], [[f64; 3]; 3]) {
        let [p, q, v] = theta.map(f64::exp);
        let (mut g, mut h) = ([0.0; 3], [[0.0; 3]; 3]);
        let (psi_q, tri_q) = (digamma(q), trigamma(q));
        for &(x, from, to, sum_ln_m) in &self.groups {
            let n = (to - from) as f64;
            let (mut sum_log, mut sum_inv, mut sum_inv2) = (0.0, 0.0, 0.0);
            for &(_, m, _) in &self.rows[from..to] {
                let w = x * m + v;
                let inv = 1.0 / w;
                sum_log += w.ln();
                sum_inv += inv;
                sum_inv2 += inv * inv;
            }
            let (psi, tri) = (digamma(p * x + q), trigamma(p * x + q));
            g[0] += x * (n * (psi - digamma(p * x) + x.ln()) + sum_ln_m - sum_log);
            g[1] += n * (psi - psi_q + v.ln()) - sum_log;
            g[2] += n * q / v - (p * x + q) * sum_inv;
            h[0][0] += n * x * x * (tri - trigamma(p * x));
            h[0][1] += n * x * tri;
            h[0][2] -= x * sum_inv;
            h[1][1] += n * (tri - tri_q);
            h[1][2] += n / v - sum_inv;
            h[2][2] += (p * x + q) * sum_inv2 - n * q / (v * v);
        }
        // Chain rule to θ (d/dθ = P d/dP), per customer.
        let scale = [p, q, v];
        let total = self.rows.len() as f64;
        let mut h_theta = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in i..3 {
                h_theta[i][j] = scale[i] * scale[j] * h[i][j] / total + if i == j { scale[i] * g[i] / total } else { 0.0 };
                h_theta[j][i] = h_theta[i][j];
            }
        }
        (std::array::from_fn(|i| scale[i] * g[i] / total), h_theta)
    }

    /// Σ ln L, in fixed blocks added in order (the same on any thread count).
    fn log_likelihood(&self, p: f64, q: f64, v: f64) -> f64 {
        use rayon::prelude::*;
        let block_sums: Vec<f64> = self
            .rows
            .par_chunks(16_384)
            .map(|block| {
                let (mut x, mut per_x) = (f64::NAN, 0.0);
                let mut sum = 0.0;
                for &(row_x, m, ln_m) in block {
                    if row_x != x {
                        x = row_x;
                        per_x = ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * v.ln() + p * x * x.ln();
                    }
                    sum += per_x + (p * x - 1.0) * ln_m - (p * x + q) * (x * m + v).ln();
                }
                sum
            })
            .collect();
        block_sums.iter().sum()
    }
}

/// Maximum-likelihood fit on flat rows (x, m, x, m, ...) in any order
/// (the same rows give the same fit), over the logs of p, q, v, from
/// p = q = 1 and v = the mean of m: by Newton's method, or by Nelder–Mead
/// where Newton gives up.
pub fn fit(rows: &[f64], check: &mut dyn FnMut()) -> Result<GammaGamma, String> {
    let customers = rows.len() / 2;
    if customers < 2 {
        return Err(format!("Gamma-Gamma needs at least 2 repeat customers (got {customers})"));
    }
    let total = customers as f64;
    let data = Prepared::new(rows);
    let negative_mean_ll = |s: &[f64]| data.negative_mean_ll(s);
    let start = data.start();
    let best = match newton(&data, &negative_mean_ll, start, check) {
        Some(found) => found,
        None => nelder_mead(&boxed(&negative_mean_ll, &start), &start, 20_000, check),
    };
    let [p, q, v] = [best.x[0].exp(), best.x[1].exp(), best.x[2].exp()];
    if !best.value.is_finite() || at_bound(&best.x, &start) || q <= 1.0 {
        return Err(format!(
            "Gamma-Gamma fit failed: no finite maximum with q > 1 for these customers (q = {q}); spend may not vary enough between customers"
        ));
    }
    Ok(GammaGamma {
        p,
        q,
        v,
        log_likelihood: -best.value * total,
        customers: customers as u64,
        converged: best.converged,
        iterations: best.iterations,
    })
}

/// Newton's method (damped where the surface is not concave) with a
/// backtracking line search on the mean log-likelihood: tens of steps where
/// Nelder–Mead takes ~250 iterations (each a pass over the customers).
/// None when it cannot be trusted to end at an interior maximum (a step out
/// of the box, no convergence); the caller then runs Nelder–Mead.
fn newton(data: &Prepared, negative_mean_ll: &dyn Fn(&[f64]) -> f64, start: [f64; 3], check: &mut dyn FnMut()) -> Option<Minimum> {
    let mut theta = start;
    let mut value = negative_mean_ll(&theta);
    for iteration in 1..=100 {
        check();
        let (g, h) = data.derivatives(&theta);
        // Ascent direction d solving (−H + μI) d = g: Newton's (μ = 0) where
        // −H is positive definite, else μ grows until it is (far from the
        // maximum the surface need not be concave).
        let size = (0..3).map(|i| h[i][i].abs()).fold(0.0, f64::max);
        let step = std::iter::once(0.0)
            .chain((0..40).map(|k| 1e-8 * (1.0 + size) * 10f64.powi(k)))
            .find_map(|mu| {
                solve_positive_definite(std::array::from_fn(|i| std::array::from_fn(|j| if i == j { mu - h[i][j] } else { -h[i][j] })), g)
            })?;
        let decrement: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
        if !decrement.is_finite() {
            return None;
        }
        if decrement <= 1e-20 {
            return Some(Minimum { x: theta.to_vec(), value, iterations: iteration, converged: true });
        }
        let mut t = 1.0;
        loop {
            let candidate: [f64; 3] = std::array::from_fn(|i| theta[i] + t * step[i]);
            if candidate.iter().zip(&start).any(|(c, s)| (c - s).abs() > LOG_PARAMETER_RANGE - 1.0) {
                return None;
            }
            let candidate_value = negative_mean_ll(&candidate);
            // Armijo: at least 1e-4 of the gain the quadratic model promises.
            if candidate_value.is_finite() && candidate_value <= value - 1e-4 * t * decrement {
                theta = candidate;
                value = candidate_value;
                break;
            }
            t /= 2.0;
            if t < 1e-10 {
                // No step gains: the maximum to rounding, if the model agrees.
                return (decrement < 1e-12).then(|| Minimum { x: theta.to_vec(), value, iterations: iteration, converged: true });
            }
        }
    }
    None
}

/// x with A x = b for a symmetric positive definite A (Cholesky); None if A is not.
fn solve_positive_definite(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - sum;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - sum) / l[j][j];
            }
        }
    }
    let mut y = [0.0; 3];
    for i in 0..3 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        x[i] = (y[i] - (i + 1..3).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ln L of one customer, term by term as in the paper: the reference
    /// the fit's per-frequency evaluation is checked against.
    fn log_likelihood(p: f64, q: f64, v: f64, x: f64, m: f64) -> f64 {
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * v.ln() + (p * x - 1.0) * m.ln() + p * x * x.ln()
            - (p * x + q) * (x * m + v).ln()
    }

    #[test]
    fn expected_value_shrinks_towards_the_population_mean() {
        let m = GammaGamma { p: 6.25, q: 3.74, v: 15.44, log_likelihood: 0.0, customers: 0, converged: true, iterations: 0 };
        let population = 6.25 * 15.44 / 2.74;
        assert!((m.expected_value(0.0, 999.0) - population).abs() < 1e-12);
        let one = m.expected_value(1.0, 100.0);
        let many = m.expected_value(50.0, 100.0);
        assert!(population < one && one < many && many < 100.0);
    }

    #[test]
    fn cdnow_fit_matches_the_published_parameters() {
        let Some(summary) = super::super::bgnbd::tests::cdnow_summary() else { return };
        let rows: Vec<f64> = summary.iter().filter(|c| c.1 > 0.0).flat_map(|c| [c.1, c.4]).collect();
        assert_eq!(rows.len() / 2, 946);
        let m = fit(&rows, &mut || {}).unwrap();
        for (got, want) in [(m.p, 6.25), (m.q, 3.74), (m.v, 15.44)] {
            assert!((got / want - 1.0).abs() < 0.01, "{m:?}");
        }
    }

    #[test]
    fn newton_finds_the_maximum_nelder_mead_finds() {
        // Drawn from the model itself with p = 2, q = 4, v = 100 (whole
        // shapes: a gamma draw is a sum of exponential ones).
        let mut seed = 7u64;
        let mut uniform = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut gamma = |shape: u32, rate: f64| (0..shape).map(|_| -uniform().ln() / rate).sum::<f64>();
        let mut rows: Vec<f64> = Vec::new();
        for i in 0..3000 {
            let x = (i % 9 + 1) as f64;
            let nu = gamma(4, 100.0);
            let spend: f64 = (0..i % 9 + 1).map(|_| gamma(2, nu)).sum();
            rows.extend([x, spend / x]);
        }
        if let Some(summary) = super::super::bgnbd::tests::cdnow_summary() {
            rows = summary.iter().filter(|c| c.1 > 0.0).flat_map(|c| [c.1, c.4]).collect();
        }
        let data = Prepared::new(&rows);
        let f = |s: &[f64]| data.negative_mean_ll(s);
        let start = data.start();
        let by_newton = newton(&data, &f, start, &mut || {}).expect("Newton converges on well-posed data");
        let by_simplex = nelder_mead(&boxed(&f, &start), &start, 20_000, &mut || {});
        assert!(by_newton.iterations < 40, "{by_newton:?}");
        assert!(by_newton.value <= by_simplex.value + 1e-12, "{by_newton:?} {by_simplex:?}");
        for (a, b) in by_newton.x.iter().zip(&by_simplex.x) {
            assert!((a - b).abs() < 1e-4, "{by_newton:?} {by_simplex:?}");
        }
        // The gradient vanishes there.
        let (g, _) = data.derivatives(&[by_newton.x[0], by_newton.x[1], by_newton.x[2]]);
        assert!(g.iter().all(|v| v.abs() < 1e-8), "{g:?}");
    }

    #[test]
    fn row_order_does_not_change_the_fit() {
        let rows: Vec<[f64; 2]> = (1..80).map(|i| [(i % 5 + 1) as f64, 10.0 + (i * 37 % 50) as f64]).collect();
        let forward: Vec<f64> = rows.iter().flatten().copied().collect();
        let backward: Vec<f64> = rows.iter().rev().flatten().copied().collect();
        assert_eq!(fit(&forward, &mut || {}).unwrap(), fit(&backward, &mut || {}).unwrap());
    }

    #[test]
    fn fit_is_a_likelihood_maximum_and_errors_are_clear() {
        let rows: Vec<f64> = (1..200).flat_map(|i| [(i % 7 + 1) as f64, 10.0 + (i * 37 % 50) as f64]).collect();
        let fitted = fit(&rows, &mut || {}).unwrap();
        let ll = |p: f64, q: f64, v: f64| rows.chunks(2).map(|r| log_likelihood(p, q, v, r[0], r[1])).sum::<f64>();
        assert!(ll(fitted.p, fitted.q, fitted.v) >= ll(6.25, 3.74, 15.44));
        assert!(ll(fitted.p, fitted.q, fitted.v) >= ll(fitted.p * 1.01, fitted.q, fitted.v));
        assert!((ll(fitted.p, fitted.q, fitted.v) - fitted.log_likelihood).abs() < 1e-8 * fitted.log_likelihood.abs());
        assert!(fit(&[1.0, 5.0], &mut || {}).unwrap_err().contains("at least 2"));
        // Spend unrelated to anything: the fit shrinks every customer to the
        // population mean (q, v large, v / q finite) and stays finite.
        let constant: Vec<f64> = (1..50).flat_map(|i| [(i % 3 + 1) as f64, 10.0 * i as f64]).collect();
        let m = fit(&constant, &mut || {}).unwrap();
        assert!(m.expected_value(1.0, 10.0).is_finite());
        assert!(check_row(0.0, 5.0).is_err() && check_row(1.0, 0.0).is_err());
    }
}
