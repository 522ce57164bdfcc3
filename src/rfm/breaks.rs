//! Cut points and scores (SPEC.md §5), free of pgrx.
//!
//! Cut points follow PostgreSQL's `percentile_cont` exactly (same sort order,
//! same interpolation arithmetic), so `rfm_breaks` agrees with a plain-SQL
//! `percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8])` to the last bit.
use std::cmp::Ordering;

/// Most bins a caller may ask for; more is never a scoring scheme.
pub const MAX_BINS: i32 = 100;
/// Bins when none are given: quintiles (SPEC §5).
pub const DEFAULT_BINS: i32 = 5;

/// PostgreSQL's float8 order: every NaN equals every other NaN and sorts
/// above every number, including infinity.
pub fn pg_float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The values seen so far and the number of bins asked for: the state of the
/// `rfm_breaks` aggregate. Merging two samples is concatenation, so partial
/// states from parallel workers combine into the same answer as a serial scan.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    pub bins: Option<i32>,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BreaksError {
    BinsOutOfRange(i32),
    BinsChanged { first: i32, now: i32 },
    BadSerializedState,
}

impl std::fmt::Display for BreaksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BreaksError::BinsOutOfRange(n) => write!(f, "number of bins {n} is out of range 1..{MAX_BINS}"),
            BreaksError::BinsChanged { first, now } => {
                write!(f, "number of bins changed within one group: {first}, then {now}")
            }
            BreaksError::BadSerializedState => write!(f, "corrupt serialized rfm_breaks state"),
        }
    }
}

impl Sample {
    pub fn set_bins(&mut self, bins: i32) -> Result<(), BreaksError> {
        if !(1..=MAX_BINS).contains(&bins) {
            return Err(BreaksError::BinsOutOfRange(bins));
        }
        match self.bins {
            Some(first) if first != bins => Err(BreaksError::BinsChanged { first, now: bins }),
            _ => {
                self.bins = Some(bins);
                Ok(())
            }
        }
    }

    pub fn merge(&mut self, other: Sample) -> Result<(), BreaksError> {
        if let Some(bins) = other.bins {
            self.set_bins(bins)?;
        }
        if self.values.is_empty() {
            self.values = other.values;
        } else {
            self.values.extend_from_slice(&other.values);
        }
        Ok(())
    }

    /// The n−1 cut points, or None when no value was seen (like
    /// percentile_cont). Reorders the values in place.
    pub fn cut_points(&mut self) -> Option<Vec<f64>> {
        if self.values.is_empty() {
            return None;
        }
        Some(cut_points(&mut self.values, self.bins.unwrap_or(DEFAULT_BINS)))
    }

    /// Little-endian: bins (i32, 0 = unset), then the values.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.values.len());
        out.extend_from_slice(&self.bins.unwrap_or(0).to_le_bytes());
        for v in &self.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Sample, BreaksError> {
        if bytes.len() < 4 || (bytes.len() - 4) % 8 != 0 {
            return Err(BreaksError::BadSerializedState);
        }
        let bins = i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        let values = bytes[4..].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        Ok(Sample { bins: (bins != 0).then_some(bins), values })
    }
}

/// `percentile_cont(i / bins)` for i = 1..bins−1 over `values`, computed the
/// way PostgreSQL does (src/backend/utils/adt/orderedsetaggs.c). Only the
/// ranks the interpolation reads are put in place (successive selections,
/// O(n) for quintiles), not the whole sample sorted as percentile_cont does:
/// the values at those ranks, and so the cut points, are the same.
pub fn cut_points(values: &mut [f64], bins: i32) -> Vec<f64> {
    let last_row = (values.len() - 1) as f64;
    let rows: Vec<(f64, usize, usize)> = (1..bins)
        .map(|i| {
            let row = f64::from(i) / f64::from(bins) * last_row;
            (row, row.floor() as usize, row.ceil() as usize)
        })
        .collect();
    let mut ranks: Vec<usize> = rows.iter().flat_map(|&(_, first, second)| [first, second]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    // After selecting rank r, everything right of it is >= values[r]: the
    // next rank is selected among those alone.
    let mut done = 0;
    for r in ranks {
        values[done..].select_nth_unstable_by(r - done, |a, b| pg_float_cmp(*a, *b));
        done = r + 1;
    }
    rows.into_iter()
        .map(|(row, first, second)| {
            let low = values[first];
            if first == second {
                low
            } else {
                let high = values[second];
                low + (row - first as f64) * (high - low)
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScoreError {
    NullBreak(usize),
    Unordered(usize),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::NullBreak(i) => write!(f, "cut point {i} is NULL"),
            ScoreError::Unordered(i) => write!(f, "cut point {i} is smaller than cut point {}", i - 1),
        }
    }
}

/// Breaks must be ascending (1-based positions in errors, as SQL arrays).
pub fn check_ascending(breaks: &[f64]) -> Result<(), ScoreError> {
    match breaks.windows(2).position(|w| pg_float_cmp(w[1], w[0]) == Ordering::Less) {
        Some(i) => Err(ScoreError::Unordered(i + 2)),
        None => Ok(()),
    }
}

/// Position (1-based) of the first NULL among breaks, for the error message.
pub fn first_null(breaks: impl Iterator<Item = Option<f64>>) -> usize {
    breaks.take_while(Option::is_some).count() + 1
}

/// Higher is better: 1 + #{i : value > b_i}. Lower is better (recency):
/// 1 + #{i : value < b_i}. Equal values always get the same score.
pub fn score(value: f64, breaks: &[f64], lower_is_better: bool) -> i32 {
    let wanted = if lower_is_better { Ordering::Less } else { Ordering::Greater };
    1 + breaks.iter().filter(|b| pg_float_cmp(value, **b) == wanted).count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cut_points_interpolate_like_percentile_cont() {
        // percentile_cont(0.2..0.8) of 1..10 in PostgreSQL: 2.8, 4.6, 6.4, 8.2
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        let got = cut_points(&mut v, 5);
        let want = [2.8, 4.6, 6.4, 8.2];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn one_value_gives_that_value_for_every_cut() {
        assert_eq!(cut_points(&mut [7.0], 5), vec![7.0; 4]);
    }

    #[test]
    fn nan_sorts_above_infinity() {
        let mut v = vec![f64::NAN, 1.0, f64::INFINITY];
        let got = cut_points(&mut v, 2);
        assert_eq!(got, vec![f64::INFINITY]);
        assert_eq!(score(f64::NAN, &[1.0, 2.0], false), 3);
        assert_eq!(score(f64::NAN, &[1.0, 2.0], true), 1);
    }

    #[test]
    fn scores_follow_the_spec() {
        let breaks = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(score(5.0, &breaks, false), 1);
        assert_eq!(score(10.0, &breaks, false), 1, "equal to a cut point is not above it");
        assert_eq!(score(10.5, &breaks, false), 2);
        assert_eq!(score(99.0, &breaks, false), 5);
        assert_eq!(score(5.0, &breaks, true), 5);
        assert_eq!(score(40.0, &breaks, true), 1);
        assert_eq!(score(39.0, &breaks, true), 2);
        assert_eq!(score(1.0, &[], false), 1);
    }

    #[test]
    fn breaks_are_checked() {
        assert_eq!(first_null([Some(1.0), None].into_iter()), 2);
        assert_eq!(check_ascending(&[2.0, 1.0]), Err(ScoreError::Unordered(2)));
        assert_eq!(check_ascending(&[0.0, 2.0, 1.0]), Err(ScoreError::Unordered(3)));
        assert_eq!(check_ascending(&[1.0, 1.0, f64::NAN]), Ok(()));
    }

    #[test]
    fn bins_are_validated() {
        let mut s = Sample::default();
        assert_eq!(s.set_bins(0), Err(BreaksError::BinsOutOfRange(0)));
        s.set_bins(5).unwrap();
        assert_eq!(s.set_bins(4), Err(BreaksError::BinsChanged { first: 5, now: 4 }));
    }

    #[test]
    fn empty_sample_has_no_cut_points() {
        assert_eq!(Sample::default().cut_points(), None);
    }

    proptest! {
        #[test]
        fn split_and_merge_equals_serial(values in proptest::collection::vec(-1e6f64..1e6, 1..300), split in 0usize..300, bins in 1i32..12) {
            let split = split.min(values.len());
            let serial = Sample { bins: Some(bins), values: values.clone() }.cut_points();
            let mut left = Sample { bins: Some(bins), values: values[..split].to_vec() };
            let right = Sample::deserialize(&Sample { bins: None, values: values[split..].to_vec() }.serialize()).unwrap();
            left.merge(right).unwrap();
            let mut left = Sample::deserialize(&left.serialize()).unwrap();
            prop_assert_eq!(left.cut_points(), serial);
        }

        /// Selecting only the ranks read gives what sorting everything gives.
        #[test]
        fn selection_equals_full_sort(values in proptest::collection::vec(prop_oneof![
                8 => (0u8..30).prop_map(f64::from), 1 => Just(f64::NAN), 1 => Just(f64::INFINITY), 2 => -1e6f64..1e6], 1..400),
            bins in 1i32..=100) {
            let mut sorted = values.clone();
            sorted.sort_by(|a, b| pg_float_cmp(*a, *b));
            let last_row = (sorted.len() - 1) as f64;
            let want: Vec<f64> = (1..bins).map(|i| {
                let row = f64::from(i) / f64::from(bins) * last_row;
                let (first, second) = (row.floor(), row.ceil());
                let low = sorted[first as usize];
                if first == second { low } else { low + (row - first) * (sorted[second as usize] - low) }
            }).collect();
            let got = cut_points(&mut values.clone(), bins);
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()), "{:?} vs {:?}", got, want);
            }
        }

        #[test]
        fn ties_share_a_score_and_scores_are_monotone(values in proptest::collection::vec(0u8..20, 1..200)) {
            let mut v: Vec<f64> = values.iter().map(|x| f64::from(*x)).collect();
            let breaks = cut_points(&mut v.clone(), 5);
            v.sort_by(|a, b| pg_float_cmp(*a, *b));
            for w in v.windows(2) {
                let (a, b) = (score(w[0], &breaks, false), score(w[1], &breaks, false));
                prop_assert!(a <= b);
                if w[0] == w[1] { prop_assert_eq!(a, b); }
                prop_assert!((1..=5).contains(&a));
            }
        }
    }
}
