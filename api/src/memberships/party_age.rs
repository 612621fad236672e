//! Party age (tuổi đảng): from admission, minus the periods with no
//! official membership: removal and any other gap, and a transit by letter
//! beyond its presentation window unless a late reason was accepted. Pure:
//! the caller hands over the member's official periods and letters.

use chrono::{Months, NaiveDate};

/// Party-badge milestones (Huy hiệu Đảng), in years of party age.
pub const BADGES: [u32; 12] = [30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90];

/// One official membership, by day: `[start, end)`, open when `end` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// The letter whose issue ended this period, if one did.
    pub left_by_letter: Option<Transit>,
}

/// What a letter's transit excuses of the gap after a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transit {
    /// The last day of the presentation window.
    pub present_by: NaiveDate,
    /// Received late with its reason recorded: the whole transit counts.
    pub late_reason_accepted: bool,
}

/// A party age: whole years, months and days, and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartyAge {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    /// Days since admission that do not count.
    pub days_not_counted: i64,
    /// Admission moved later by the days not counted: the age counts from here.
    pub counted_from: NaiveDate,
}

/// The next badge, and the day it falls due if nothing more is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub years: u32,
    pub due_on: NaiveDate,
}

/// Days of the gap `[from, to)` that do not count.
fn lost_in_gap(from: NaiveDate, to: NaiveDate, transit: Option<Transit>) -> i64 {
    let gap = (to - from).num_days().max(0);
    match transit {
        Some(t) if t.late_reason_accepted => 0,
        // The window runs through `present_by`: those days count.
        Some(t) => (gap - ((t.present_by - from).num_days() + 1).max(0)).max(0),
        None => gap,
    }
}

/// Party age on `as_of` for a member admitted on `admitted_on` whose
/// official periods (oldest first) are given. `None` before admission.
/// Before the first period the member is taken as active since admission
/// (registries often start later than admissions).
pub fn party_age(admitted_on: NaiveDate, periods: &[Period], as_of: NaiveDate) -> Option<PartyAge> {
    if as_of < admitted_on {
        return None;
    }
    let mut lost = 0;
    for (index, period) in periods.iter().enumerate() {
        let Some(end) = period.end else { continue };
        if end >= as_of {
            continue;
        }
        let next_start = periods
            .get(index + 1)
            .map_or(as_of, |next| next.start.min(as_of));
        lost += lost_in_gap(end, next_start, period.left_by_letter);
    }
    let counted_from = admitted_on + chrono::Days::new(u64::try_from(lost).unwrap_or(0));
    let counted_from = counted_from.min(as_of);
    let (years, months, days) = calendar_difference(counted_from, as_of);
    Some(PartyAge {
        years,
        months,
        days,
        days_not_counted: lost,
        counted_from,
    })
}

/// Whole years, months and days from `from` to `to` (`from <= to`).
pub fn calendar_difference(from: NaiveDate, to: NaiveDate) -> (u32, u32, u32) {
    use chrono::Datelike;
    let months_apart = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut months = u32::try_from(months_apart.max(0)).unwrap_or(0);
    while months > 0
        && from
            .checked_add_months(Months::new(months))
            .is_none_or(|d| d > to)
    {
        months -= 1;
    }
    let anchor = from.checked_add_months(Months::new(months)).unwrap_or(from);
    let days = u32::try_from((to - anchor).num_days()).unwrap_or(0);
    (months / 12, months % 12, days)
}

/// The next badge after `age`, if any is left.
pub fn next_badge(age: &PartyAge) -> Option<Badge> {
    BADGES
        .iter()
        .copied()
        .find(|years| *years > age.years)
        .and_then(|years| {
            age.counted_from
                .checked_add_months(Months::new(years * 12))
                .map(|due_on| Badge { years, due_on })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn period(start: NaiveDate, end: Option<NaiveDate>, transit: Option<Transit>) -> Period {
        Period {
            start,
            end,
            left_by_letter: transit,
        }
    }

    #[test]
    fn an_unbroken_membership_counts_from_admission() {
        let periods = [period(day(2010, 5, 19), None, None)];
        let age = party_age(day(1995, 5, 19), &periods, day(2025, 5, 18)).expect("age");
        assert_eq!((age.years, age.months, age.days), (29, 11, 29));
        assert_eq!(age.days_not_counted, 0);
        assert_eq!(
            next_badge(&age),
            Some(Badge {
                years: 30,
                due_on: day(2025, 5, 19)
            })
        );
        let age = party_age(day(1995, 5, 19), &periods, day(2025, 5, 19)).expect("age");
        assert_eq!((age.years, age.months, age.days), (30, 0, 0));
        assert_eq!(next_badge(&age).map(|b| b.years), Some(40));
        assert!(party_age(day(1995, 5, 19), &periods, day(1995, 5, 18)).is_none());
    }

    #[test]
    fn a_transit_inside_the_window_counts_and_beyond_it_does_not() {
        let issued = day(2024, 1, 10);
        let transit = Transit {
            present_by: day(2024, 2, 9),
            late_reason_accepted: false,
        };
        // Received on day 20: all counts.
        let on_time = [
            period(day(2010, 1, 1), Some(issued), Some(transit)),
            period(day(2024, 1, 30), None, None),
        ];
        let age = party_age(day(2010, 1, 1), &on_time, day(2025, 1, 1)).expect("age");
        assert_eq!(age.days_not_counted, 0);
        // Received on 2024-02-19: 10 days past the window do not count.
        let late = [
            period(day(2010, 1, 1), Some(issued), Some(transit)),
            period(day(2024, 2, 19), None, None),
        ];
        let age = party_age(day(2010, 1, 1), &late, day(2025, 1, 1)).expect("age");
        assert_eq!(age.days_not_counted, 9);
        assert_eq!(age.counted_from, day(2010, 1, 10));
        // With the late reason accepted, all counts.
        let excused = [
            period(
                day(2010, 1, 1),
                Some(issued),
                Some(Transit {
                    late_reason_accepted: true,
                    ..transit
                }),
            ),
            period(day(2024, 2, 19), None, None),
        ];
        assert_eq!(
            party_age(day(2010, 1, 1), &excused, day(2025, 1, 1))
                .expect("age")
                .days_not_counted,
            0
        );
        // Still in transit: the days past the window up to as_of do not count.
        let open = [period(day(2010, 1, 1), Some(issued), Some(transit))];
        assert_eq!(
            party_age(day(2010, 1, 1), &open, day(2024, 2, 20))
                .expect("age")
                .days_not_counted,
            10
        );
    }

    #[test]
    fn a_removal_stops_the_count() {
        let removed = [period(day(2000, 1, 1), Some(day(2010, 1, 1)), None)];
        let age = party_age(day(2000, 1, 1), &removed, day(2020, 1, 1)).expect("age");
        assert_eq!(
            age.days_not_counted,
            (day(2020, 1, 1) - day(2010, 1, 1)).num_days()
        );
        // Days are taken off, so the leap days of the two decades differ by one.
        assert_eq!((age.years, age.months, age.days), (10, 0, 1));
    }

    #[test]
    fn calendar_differences_handle_month_ends() {
        // A month from the 31st ends on the month's last day.
        assert_eq!(
            calendar_difference(day(2024, 1, 31), day(2024, 2, 28)),
            (0, 0, 28)
        );
        assert_eq!(
            calendar_difference(day(2024, 1, 31), day(2024, 2, 29)),
            (0, 1, 0)
        );
        assert_eq!(
            calendar_difference(day(2024, 1, 31), day(2024, 3, 1)),
            (0, 1, 1)
        );
        assert_eq!(
            calendar_difference(day(2020, 2, 29), day(2021, 2, 28)),
            (1, 0, 0)
        );
        assert_eq!(
            calendar_difference(day(2020, 2, 29), day(2024, 2, 29)),
            (4, 0, 0)
        );
    }
}
