//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
//! way"): how many orders a customer will place and whether they are still
//! active, from (frequency x = repeat purchases, recency t_x = last − first
//! purchase, age T = end of calibration − first purchase), in one time unit.
//! Formulas and conventions follow the paper and Python's `lifetimes`.
use super::special::{at_bound, boxed, hyp2f1, hyp2f1_each, ln_beta, ln_gamma, log_add_exp, nelder_mead};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// Sum of the log-likelihood over the customers at the fitted parameters.
    pub log_likelihood: f64,
    pub customers: u64,
    pub repeat_customers: u64,
    pub converged: bool,
    pub iterations: usize,
}

/// Checks one summary row: finite, 0 ≤ t_x ≤ T, x ≥ 0, and t_x = 0 when x = 0.
pub fn check_row(x: f64, t_x: f64, age: f64) -> Result<(), String> {
    if !(x.is_finite() && t_x.is_finite() && age.is_finite()) {
        return Err(format!("frequency, recency and T must be finite (got {x}, {t_x}, {age})"));
    }
    if x < 0.0 || t_x < 0.0 || t_x > age {
        return Err(format!("need frequency >= 0 and 0 <= recency <= T (got {x}, {t_x}, {age})"));
    }
    if x == 0.0 && t_x != 0.0 {
        return Err(format!("a customer without repeat purchases has recency 0 (got recency {t_x})"));
    }
    Ok(())
}

/// Identical rows merged with a weight: the likelihood is evaluated once per
/// distinct (x, t_x, T), which is far fewer than customers at scale.
fn weighted(rows: &[f64]) -> Vec<([f64; 3], f64)> {
    let mut sorted: Vec<[f64; 3]> = rows.chunks_exact(3).map(|r| [r[0], r[1], r[2]]).collect();
    sorted.sort_by(|p, q| p.iter().zip(q).map(|(a, b)| a.total_cmp(b)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal));
    let mut out: Vec<([f64; 3], f64)> = Vec::new();
    for row in sorted {
        match out.last_mut() {
            Some((last, w)) if *last == row => *w += 1.0,
            _ => out.push((row, 1.0)),
        }
    }
    out
}

impl BgNbd {
    /// ln L of one customer.
    pub fn log_likelihood_of(&self, x: f64, t_x: f64, age: f64) -> f64 {
        log_likelihood(self.r, self.alpha, self.a, self.b, x, t_x, age)
    }

    /// P(alive at T | x, t_x, T).
    pub fn p_alive(&self, x: f64, t_x: f64, age: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        1.0 / (1.0 + self.log_odds_dead(x, t_x, age).exp())
    }

    fn log_odds_dead(&self, x: f64, t_x: f64, age: f64) -> f64 {
        (self.a / (self.b + x - 1.0)).ln() + (self.r + x) * ((self.alpha + age) / (self.alpha + t_x)).ln()
    }

    /// E[purchases in (T, T + t] | x, t_x, T] (the paper's eq. 10). Its
    /// ₂F₁(r+x, b+x; c; z)·(1−z)^(r+x) is summed directly or through Euler's
    /// transformation (1−z)^(a−1)·₂F₁(c−r−x, a−1; c; z), whichever series
    /// has the smaller terms: the direct one for models with very large a
    /// and b (dropout nearly the same for everyone), Euler's for customers
    /// with hundreds of orders. Either alone overflows in the other case.
    pub fn expected_purchases(&self, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let series = self.purchase_series(x);
        let z = t / (self.alpha + age + t);
        series.expected(z, hyp2f1(series.a, series.b, series.c, z), self.p_alive(x, t_x, age))
    }

    /// `expected_purchases` at several horizons of one customer (CLV's
    /// monthly steps): P(alive) once and one pass over the shared series
    /// terms. Bit-for-bit the values `expected_purchases` gives one by one.
    pub fn expected_purchases_each(&self, horizons: &[f64], x: f64, t_x: f64, age: f64) -> Vec<f64> {
        let series = self.purchase_series(x);
        let zs: Vec<f64> = horizons.iter().map(|&t| if t <= 0.0 { 0.0 } else { t / (self.alpha + age + t) }).collect();
        let hyps = hyp2f1_each(series.a, series.b, series.c, &zs);
        let p_alive = self.p_alive(x, t_x, age);
        horizons
            .iter()
            .zip(zs.iter().zip(&hyps))
            .map(|(&t, (&z, &hyp))| if t <= 0.0 { 0.0 } else { series.expected(z, hyp, p_alive) })
            .collect()
    }

    /// The ₂F₁ series `expected_purchases` sums for frequency x: the direct
    /// one or Euler's transformation, whichever has the smaller terms.
    fn purchase_series(&self, x: f64) -> PurchaseSeries {
        let (r, a, b) = (self.r, self.a, self.b);
        let c = a + b + x - 1.0;
        let direct_size = (r + x) * (b + x) / c;
        let euler_size = (a - 1.0).abs() * (c - r - x).abs() / c;
        let (sa, sb, power) = if direct_size <= euler_size { (r + x, b + x, r + x) } else { (c - r - x, a - 1.0, a - 1.0) };
        PurchaseSeries { a: sa, b: sb, c, power, scale: c / (a - 1.0) }
    }

    /// Expected purchases of a new customer in (0, t] (eq. 9): for checks.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let z = t / (alpha + t);
        (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z))
    }
}

/// ₂F₁(a, b; c; z)·(1−z)^power as eq. 10 needs it for one frequency.
struct PurchaseSeries {
    a: f64,
    b: f64,
    c: f64,
    power: f64,
    /// (a + b + x − 1) / (a − 1) of the model.
    scale: f64,
}

impl PurchaseSeries {
    /// Eq. 10 at z = t / (α + T + t), from the series' value there.
    fn expected(&self, z: f64, hyp: f64, p_alive: f64) -> f64 {
        self.scale * (1.0 - (1.0 - z).powf(self.power) * hyp) * p_alive
    }
}

fn log_likelihood(r: f64, alpha: f64, a: f64, b: f64, x: f64, t_x: f64, age: f64) -> f64 {
    let a3 = -(r + x) * (alpha + age).ln();
    let a4 = if x > 0.0 {
        a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln()
    } else {
        f64::NEG_INFINITY
    };
    gamma_terms(r, alpha, a, b, x) + log_add_exp(a3, a4)
}

/// The part of ln L that depends on the parameters and x only (the gamma
/// and beta functions): the same for every customer with that frequency.
fn gamma_terms(r: f64, alpha: f64, a: f64, b: f64, x: f64) -> f64 {
    ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_beta(a, b + x) - ln_beta(a, b)
}

/// Rows per parallel block of the likelihood sum.
const BLOCK_ROWS: usize = 16_384;

/// The weighted rows, with t_x and T replaced by indexes into one sorted
/// list of their distinct values. Real summaries have few of those (days
/// within a few years), so ln(α + value) is computed once per value and
/// evaluation instead of twice per row, and ln a − ln(b + x − 1) once per
/// frequency: a row then costs one exp and one log.
struct Prepared {
    values: Vec<f64>,
    /// (x, index of t_x, index of T, weight), sorted by x.
    rows: Vec<(f64, u32, u32, f64)>,
}

impl Prepared {
    fn new(weighted: &[([f64; 3], f64)]) -> Prepared {
        let mut values: Vec<f64> = weighted.iter().flat_map(|(r, _)| [r[1], r[2]]).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let index = |v: f64| values.binary_search_by(|p| p.total_cmp(&v)).expect("every value is listed") as u32;
        let rows = weighted.iter().map(|(r, w)| (r[0], index(r[1]), index(r[2]), *w)).collect();
        Prepared { values, rows }
    }

    /// Σ weight · ln L over the rows; the same sum whatever the thread count
    /// (fixed blocks, added in order).
    fn log_likelihood(&self, r: f64, alpha: f64, a: f64, b: f64) -> f64 {
        use rayon::prelude::*;
        let ln_alpha_plus: Vec<f64> = self.values.iter().map(|v| (alpha + v).ln()).collect();
        let gamma_terms_of = |x: f64| gamma_terms(r, alpha, a, b, x);
        let block_sums: Vec<f64> = self
            .rows
            .par_chunks(BLOCK_ROWS)
            .map(|block| {
                let mut x = f64::NAN;
                let (mut gamma_terms, mut dropout_term) = (0.0, 0.0);
                let mut sum = 0.0;
                for &(row_x, tx, age, w) in block {
                    if row_x != x {
                        x = row_x;
                        gamma_terms = gamma_terms_of(x);
                        dropout_term = if x > 0.0 { a.ln() - (b + x - 1.0).ln() } else { f64::NEG_INFINITY };
                    }
                    let a3 = -(r + x) * ln_alpha_plus[age as usize];
                    let a4 = dropout_term - (r + x) * ln_alpha_plus[tx as usize];
                    sum += w * (gamma_terms + log_add_exp(a3, a4));
                }
                sum
            })
            .collect();
        block_sums.iter().sum()
    }
}

/// Maximum-likelihood fit on flat rows (x, t_x, T, x, t_x, T, ...), in any
/// order (the same rows give the same fit), over
/// the logs of the parameters (so they stay positive), by Nelder–Mead from
/// r = a = b = 1 and α = the mean age (which scales with the time unit).
pub fn fit(rows: &[f64], check: &mut dyn FnMut()) -> Result<BgNbd, String> {
    let customers = rows.len() / 3;
    let repeat = rows.chunks_exact(3).filter(|r| r[0] > 0.0).count();
    if customers < 2 || repeat == 0 {
        return Err(format!(
            "BG/NBD needs at least 2 customers and at least one with a repeat purchase (got {customers} customers, {repeat} with repeat purchases)"
        ));
    }
    let data = Prepared::new(&weighted(rows));
    let total = customers as f64;
    let negative_mean_ll = |p: &[f64]| -data.log_likelihood(p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp()) / total;
    // From the sorted rows: the same start, so the same fit, in any row order.
    let mean_age = data.rows.iter().map(|&(_, _, age, w)| w * data.values[age as usize]).sum::<f64>() / total;
    let start = [0.0, mean_age.max(1e-6).ln(), 0.0, 0.0];
    let best = nelder_mead(&boxed(&negative_mean_ll, &start), &start, 20_000, check);
    let p: Vec<f64> = best.x.iter().map(|v| v.exp()).collect();
    if !best.value.is_finite() || at_bound(&best.x, &start) {
        return Err(format!(
            "BG/NBD fit failed: the likelihood has no maximum at finite parameters for these {customers} customers (r, alpha, a, b ran to {:.3e}, {:.3e}, {:.3e}, {:.3e}); more customers and repeat purchases are needed",
            p[0], p[1], p[2], p[3]
        ));
    }
    Ok(BgNbd {
        r: p[0],
        alpha: p[1],
        a: p[2],
        b: p[3],
        log_likelihood: -best.value * total,
        customers: customers as u64,
        repeat_customers: repeat as u64,
        converged: best.converged,
        iterations: best.iterations,
    })
}

impl BgNbd {
    /// Refuses parameters that could not have been fitted (hand-edited text form).
    pub fn check(&self) -> Result<(), String> {
        if [self.r, self.alpha, self.a, self.b].iter().all(|v| v.is_finite() && *v > 0.0) {
            Ok(())
        } else {
            Err("r, alpha, a and b must be finite and > 0".into())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The paper's CDNOW estimates.
    fn cdnow() -> BgNbd {
        BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, log_likelihood: 0.0, customers: 0, repeat_customers: 0, converged: true, iterations: 0 }
    }

    #[test]
    fn expected_purchases_each_is_expected_purchases_per_horizon() {
        let horizons: Vec<f64> = (0..=12).map(|i| i as f64 * 4.348125).chain([-1.0, 500.0]).collect();
        let heavy_dropout = BgNbd { a: 900.0, b: 5000.0, ..cdnow() };
        for model in [cdnow(), heavy_dropout] {
            for &(x, t_x, age) in &[(0.0, 0.0, 38.86), (2.0, 30.43, 38.86), (7.0, 5.0, 70.0), (40.0, 50.0, 52.0)] {
                let each = model.expected_purchases_each(&horizons, x, t_x, age);
                for (t, value) in horizons.iter().zip(&each) {
                    assert_eq!(value.to_bits(), model.expected_purchases(*t, x, t_x, age).to_bits(), "x {x} t {t}");
                }
            }
        }
    }

    #[test]
    fn conditional_expectation_matches_the_paper() {
        // Fader, Hardie & Lee (2005): x = 2, t_x = 30.43, T = 38.86, 39 weeks → 1.226.
        let e = cdnow().expected_purchases(39.0, 2.0, 30.43, 38.86);
        assert!((e - 1.226).abs() < 0.001, "{e}");
    }

    #[test]
    fn conditional_expectation_of_a_new_customer_is_the_unconditional_one() {
        // x = 0, T = 0: nothing observed yet.
        let m = cdnow();
        assert!((m.expected_purchases(39.0, 0.0, 0.0, 0.0) - m.expected_purchases_new(39.0)).abs() < 1e-9);
    }

    #[test]
    fn heavy_buyers_stay_finite() {
        let m = cdnow();
        let e = m.expected_purchases(39.0, 500.0, 38.0, 39.0);
        assert!(e.is_finite() && e > 0.0, "{e}");
        let gone = m.expected_purchases(39.0, 500.0, 1.0, 39.0);
        assert!(gone.is_finite() && gone < 1e-6, "{gone}");
    }

    #[test]
    fn near_fixed_dropout_models_stay_finite() {
        // a and b in the millions: the beta distribution of dropout is
        // nearly a point mass (what a fit of homogeneous customers gives).
        let m = BgNbd { r: 1.575, alpha: 8.18, a: 3.6e6, b: 1.73e7, ..cdnow() };
        let near = m.expected_purchases(90.0 / 7.0, 2.0, 5.0, 30.0);
        let far = m.expected_purchases(180.0 / 7.0, 2.0, 5.0, 30.0);
        assert!(near.is_finite() && far.is_finite() && 0.0 < near && near < far, "{near} {far}");
        // Both series agree where both are usable.
        let moderate = BgNbd { a: 40.0, b: 160.0, ..m.clone() };
        let (x, age, t) = (3.0, 30.0, 13.0);
        let z = t / (moderate.alpha + age + t);
        let c = moderate.a + moderate.b + x - 1.0;
        let direct = (1.0 - z).powf(moderate.r + x) * hyp2f1(moderate.r + x, moderate.b + x, c, z);
        let euler = (1.0 - z).powf(moderate.a - 1.0) * hyp2f1(c - moderate.r - x, moderate.a - 1.0, c, z);
        assert!((direct - euler).abs() < 1e-10, "{direct} {euler}");
    }

    #[test]
    fn p_alive_falls_with_time_since_last_purchase() {
        let m = cdnow();
        assert_eq!(m.p_alive(0.0, 0.0, 30.0), 1.0);
        assert!(m.p_alive(3.0, 35.0, 38.0) > m.p_alive(3.0, 10.0, 38.0));
    }

    /// CDNOW sample summary (SPEC §7): purchases merged per day, calibration
    /// to 1997-09-30, weeks. None when ../shared/data is absent.
    pub(crate) fn cdnow_summary() -> Option<Vec<(u32, f64, f64, f64, f64)>> {
        use chrono::NaiveDate;
        use std::collections::BTreeMap;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cdnow/CDNOW_sample.txt");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("SKIP: {path} not found (../shared/data is absent in a fresh clone)");
            return None;
        };
        let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
        let mut days: BTreeMap<u32, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let day = NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap();
            let entry = days.entry(f[1].parse().unwrap()).or_default();
            if day <= end {
                *entry.entry(day).or_default() += f[4].parse::<f64>().unwrap();
            }
        }
        Some(
            days.into_iter()
                .map(|(id, d)| {
                    let first = *d.keys().next().unwrap();
                    let last = *d.keys().last().unwrap();
                    let weeks = |a: NaiveDate, b: NaiveDate| (b - a).num_days() as f64 / 7.0;
                    let repeat: Vec<f64> = d.iter().skip(1).map(|(_, v)| *v).collect();
                    let m = if repeat.is_empty() { 0.0 } else { repeat.iter().sum::<f64>() / repeat.len() as f64 };
                    (id, repeat.len() as f64, weeks(first, last), weeks(first, end), m)
                })
                .collect(),
        )
    }

    #[test]
    fn cdnow_fit_matches_the_published_parameters() {
        let Some(summary) = cdnow_summary() else { return };
        assert_eq!(summary.len(), 2357);
        let rows: Vec<f64> = summary.iter().flat_map(|c| [c.1, c.2, c.3]).collect();
        let m = fit(&rows, &mut || {}).unwrap();
        assert!(m.converged);
        for (got, want) in [(m.r, 0.243), (m.alpha, 4.414), (m.a, 0.793), (m.b, 2.426)] {
            assert!((got / want - 1.0).abs() < 0.01, "{m:?}");
        }
        // ln L at the fit is at least that at the published (rounded) values.
        let published = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, ..m.clone() };
        let ll = |p: &BgNbd| rows.chunks(3).map(|r| p.log_likelihood_of(r[0], r[1], r[2])).sum::<f64>();
        assert!(ll(&m) >= ll(&published));
        assert!((ll(&m) - m.log_likelihood).abs() < 1e-6 * ll(&m).abs());
    }

    #[test]
    fn row_order_does_not_change_the_fit() {
        let rows: Vec<[f64; 3]> = (0..60).map(|i| [(i % 4) as f64, (i % 4 * 3) as f64, 20.0 + (i % 7) as f64]).collect();
        let forward: Vec<f64> = rows.iter().flatten().copied().collect();
        let backward: Vec<f64> = rows.iter().rev().flatten().copied().collect();
        assert_eq!(fit(&forward, &mut || {}).unwrap(), fit(&backward, &mut || {}).unwrap());
    }

    #[test]
    fn degenerate_inputs_are_errors_not_panics() {
        assert!(fit(&[0.0, 0.0, 5.0, 0.0, 0.0, 7.0], &mut || {}).unwrap_err().contains("repeat"));
        assert!(fit(&[2.0, 1.0, 5.0], &mut || {}).unwrap_err().contains("at least 2"));
        assert!(fit(&[], &mut || {}).is_err());
        // Everyone buys on a fixed rhythm and never stops: the fit goes to
        // the no-dropout edge (a → 0) and still predicts finite values.
        let regular: Vec<f64> = (1..=20).flat_map(|i| [4.0, 4.0 * i as f64, 4.0 * i as f64 + 1.0]).collect();
        let m = fit(&regular, &mut || {}).unwrap();
        assert!(m.p_alive(4.0, 40.0, 41.0) > 0.99);
        let e = m.expected_purchases(52.0, 4.0, 40.0, 41.0);
        assert!(e.is_finite() && e > 0.0, "{e}");
        assert!(check_row(1.0, 6.0, 5.0).is_err());
        assert!(check_row(0.0, 1.0, 5.0).is_err());
        assert!(check_row(f64::NAN, 1.0, 5.0).is_err());
    }
}
