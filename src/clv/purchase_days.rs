//! The purchase days of one customer, as RFM, the BTYD summary and the KPI
//! tables need them: how many distinct days, which is the first (its revenue
//! is not a repeat purchase), the second purchase (repeat rate at any date),
//! the last, and the months with a purchase (monthly activity and cohorts).
//! Free of pgrx; the SQL aggregates around it are in `mod.rs`.

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

    /// The day of the second purchase (repeats count: two purchases on one
    /// day make it that day); None with fewer than two. A customer had 2+
    /// purchases before D exactly when this is before D.
    pub fn second(&mut self) -> Option<i32> {
        self.days.sort_unstable();
        self.days.get(1).copied()
    }

    /// The first day of each month with a purchase, ascending, once each.
    pub fn months(&mut self) -> Vec<i32> {
        self.days.sort_unstable();
        let mut months: Vec<i32> = self.days.iter().map(|&day| month_start(day)).collect();
        months.dedup();
        months
    }

    pub fn first(&self) -> Option<i32> {
        self.first
    }

    pub fn last(&self) -> Option<i32> {
        self.last
    }
}

/// PostgreSQL's `date` infinities (DATEVAL_NOBEGIN, DATEVAL_NOEND).
const DATE_INFINITIES: [i32; 2] = [i32::MIN, i32::MAX];

/// The first day of the month of `day`, both as PostgreSQL day numbers (days
/// since 2000-01-01); the infinities stay themselves. Exact over the whole
/// date range (H. Hinnant's days-to-civil algorithm, in i64).
pub fn month_start(day: i32) -> i32 {
    if DATE_INFINITIES.contains(&day) {
        return day;
    }
    // Days since 0000-03-01 in the proleptic Gregorian calendar.
    let z = i64::from(day) + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_index + 2) / 5 + 1;
    day - (day_of_month - 1) as i32
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

    /// PostgreSQL day number of a calendar date, through chrono (the reference).
    fn day_number(y: i32, m: u32, d: u32) -> i32 {
        let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap() - epoch).num_days() as i32
    }

    #[test]
    fn months_and_second_purchase() {
        let mut d = PurchaseDays::default();
        assert_eq!((d.second(), d.months()), (None, vec![]));
        d.add(day_number(2011, 3, 31));
        assert_eq!((d.second(), d.months()), (None, vec![day_number(2011, 3, 1)]));
        for (y, m, day) in [(2010, 12, 1), (2011, 3, 1), (2010, 12, 31), (2011, 3, 31)] {
            d.add(day_number(y, m, day));
        }
        assert_eq!(d.second(), Some(day_number(2010, 12, 31)));
        assert_eq!(d.months(), vec![day_number(2010, 12, 1), day_number(2011, 3, 1)]);
        // Two purchases on one day: the second purchase is on that day.
        let mut same_day = PurchaseDays::default();
        same_day.add(5);
        same_day.add(5);
        assert_eq!(same_day.second(), Some(5));
        assert_eq!(month_start(i32::MAX), i32::MAX);
        assert_eq!(month_start(i32::MIN), i32::MIN);
        assert_eq!(month_start(day_number(2000, 1, 1)), 0);
        assert_eq!(month_start(day_number(2024, 2, 29)), day_number(2024, 2, 1));
        assert_eq!(month_start(day_number(1900, 3, 1)), day_number(1900, 3, 1));
        assert_eq!(month_start(day_number(-4713, 11, 24)), day_number(-4713, 11, 1));
    }

    proptest! {
        #[test]
        fn month_start_matches_chrono(day in -2_500_000i32..90_000_000) {
            let date = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(i64::from(day));
            let first = chrono::Datelike::with_day(&date, 1).unwrap();
            prop_assert_eq!(month_start(day), day_number(chrono::Datelike::year(&first), chrono::Datelike::month(&first), 1));
        }

        #[test]
        fn second_is_the_second_smallest(days in proptest::collection::vec(-50i32..50, 0..40)) {
            let mut d = PurchaseDays::default();
            for &day in &days {
                d.add(day);
            }
            let mut sorted = days.clone();
            sorted.sort();
            prop_assert_eq!(d.second(), sorted.get(1).copied());
        }

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
