//! The purchase days of one customer, as RFM and the BTYD summary need them:
//! how many distinct days, which is the first (its revenue is not a repeat
//! purchase) and the last. Free of pgrx; the SQL aggregates around it are in
//! `mod.rs`.

/// Where a purchase falls relative to the first purchase day seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRank {
    /// Earlier than every day so far (or the first row): a new first day.
    NewFirst,
    /// On the current first day.
    OnFirst,
    /// After the first day.
    Later,
}

/// Purchase days of one customer, in any order, repeats allowed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PurchaseDays {
    days: Vec<i32>,
    first: Option<i32>,
    last: Option<i32>,
}

impl PurchaseDays {
    /// Records a purchase on `day` (any day number, e.g. PostgreSQL's date).
    pub fn add(&mut self, day: i32) -> DayRank {
        self.days.push(day);
        self.last = Some(self.last.map_or(day, |last| last.max(day)));
        match self.first {
            Some(first) if day > first => DayRank::Later,
            Some(first) if day == first => DayRank::OnFirst,
            _ => {
                self.first = Some(day);
                DayRank::NewFirst
            }
        }
    }

    /// Number of distinct days; sorts the days it keeps.
    pub fn distinct(&mut self) -> usize {
        self.days.sort_unstable();
        self.days.chunk_by(|a, b| a == b).count()
    }

    pub fn first(&self) -> Option<i32> {
        self.first
    }

    pub fn last(&self) -> Option<i32> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranks_days_against_the_first() {
        let mut d = PurchaseDays::default();
        assert_eq!(d.add(10), DayRank::NewFirst);
        assert_eq!(d.add(12), DayRank::Later);
        assert_eq!(d.add(10), DayRank::OnFirst);
        assert_eq!(d.add(3), DayRank::NewFirst);
        assert_eq!(d.first(), Some(3));
        assert_eq!(d.last(), Some(12));
        assert_eq!(d.distinct(), 3);
        assert_eq!(PurchaseDays::default().distinct(), 0);
    }

    proptest! {
        #[test]
        fn distinct_and_first_match_a_set(days in proptest::collection::vec(-50i32..50, 0..40)) {
            let mut d = PurchaseDays::default();
            for &day in &days {
                d.add(day);
            }
            let set: std::collections::BTreeSet<i32> = days.iter().copied().collect();
            prop_assert_eq!(d.distinct(), set.len());
            prop_assert_eq!(d.first(), set.first().copied());
            prop_assert_eq!(d.last(), set.last().copied());
        }
    }
}
