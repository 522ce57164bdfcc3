//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using
//! iso-value curves"; the `lifetimes` formulation): a customer's average
//! order value over x repeat purchases with mean value m, shrunk towards the
//! population mean. Fitted on customers with x > 0 and m > 0.
use super::special::{at_bound, boxed, ln_gamma, nelder_mead};
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
}

impl Prepared {
    fn new(flat: &[f64]) -> Prepared {
        let mut rows: Vec<(f64, f64, f64)> = flat.chunks_exact(2).map(|r| (r[0], r[1], r[1].ln())).collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        Prepared { rows }
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
/// (the same rows give the same fit), over the logs of
/// p, q, v, by Nelder–Mead from p = q = 1 and v = the mean of m.
pub fn fit(rows: &[f64], check: &mut dyn FnMut()) -> Result<GammaGamma, String> {
    let customers = rows.len() / 2;
    if customers < 2 {
        return Err(format!("Gamma-Gamma needs at least 2 repeat customers (got {customers})"));
    }
    let total = customers as f64;
    let data = Prepared::new(rows);
    let negative_mean_ll = |s: &[f64]| -data.log_likelihood(s[0].exp(), s[1].exp(), s[2].exp()) / total;
    // From the sorted rows: the same start, so the same fit, in any row order.
    let mean_m = data.rows.iter().map(|r| r.1).sum::<f64>() / total;
    let start = [0.0, 0.0, mean_m.ln()];
    let best = nelder_mead(&boxed(&negative_mean_ll, &start), &start, 20_000, check);
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
