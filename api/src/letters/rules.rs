//! The letters' rules that need no database: dates, deadlines, the length
//! of temporary activity, the number and the dues month.

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};
use entity::enums::{MembershipKind, TemporaryPurpose, TransferReason};

use crate::config::LetterRules;
use crate::error::AppError;

/// The last day a letter issued on `issued_on` may be presented on time.
pub fn present_by(issued_on: NaiveDate, rules: &LetterRules) -> NaiveDate {
    issued_on + chrono::Days::new(u64::from(rules.presentation_days))
}

/// Whole days past the deadline on `today` (0 when not overdue).
pub fn days_overdue(present_by: NaiveDate, today: NaiveDate) -> i64 {
    (today - present_by).num_days().max(0)
}

/// The instant a step dated `day` takes effect: now when it is today,
/// else the day's start (UTC).
pub fn instant_of_day(day: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    if day == now.date_naive() {
        now
    } else {
        day.and_time(NaiveTime::MIN).and_utc()
    }
}

/// The latest day temporary activity for `purpose` begun on `from` may end.
pub fn latest_end(from: NaiveDate, purpose: TemporaryPurpose, rules: &LetterRules) -> NaiveDate {
    let months = match purpose {
        TemporaryPurpose::Work | TemporaryPurpose::Residence => rules.temporary_months_work,
        TemporaryPurpose::Study => rules.temporary_months_study,
    };
    from.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The end date and purpose temporary activity must carry, and official
/// moves must not.
pub fn check_temporary(
    kind: MembershipKind,
    starts: NaiveDate,
    ends_on: Option<NaiveDate>,
    purpose: Option<TemporaryPurpose>,
    rules: &LetterRules,
) -> Result<(), AppError> {
    match (kind, ends_on, purpose) {
        (MembershipKind::Official, None, None) => Ok(()),
        (MembershipKind::Official, _, _) => Err(AppError::invalid(
            "endsOn",
            "endsOn and purpose go with TEMPORARY activity only",
        )),
        (MembershipKind::Temporary, None, _) => Err(AppError::invalid(
            "endsOn",
            "TEMPORARY activity needs the day it ends",
        )),
        (MembershipKind::Temporary, Some(_), None) => Err(AppError::invalid(
            "purpose",
            "TEMPORARY activity needs its purpose: WORK, RESIDENCE or STUDY",
        )),
        (MembershipKind::Temporary, Some(ends), Some(purpose)) => {
            if ends <= starts {
                return Err(AppError::invalid("endsOn", "must be after the start"));
            }
            let latest = latest_end(starts, purpose, rules);
            if ends > latest {
                return Err(AppError::invalid(
                    "endsOn",
                    format!("temporary activity for this purpose ends by {latest} at the latest"),
                ));
            }
            Ok(())
        }
    }
}

/// A letter number: 1 to 64 of A-Z a-z 0-9 and `/ . - _`, e.g. `125-GGT/ĐU`
/// is written `125-GGT/DU`.
pub fn check_number(number: &str) -> Result<(), AppError> {
    let fine = !number.is_empty()
        && number.len() <= 64
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.-_".contains(c));
    if fine {
        Ok(())
    } else {
        Err(AppError::invalid(
            "number",
            "1 to 64 of A-Z a-z 0-9 / . - _",
        ))
    }
}

/// Dues paid through a month, `YYYY-MM`.
pub fn check_dues_month(month: &str) -> Result<(), AppError> {
    let parsed = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d");
    if month.len() == 7 && parsed.is_ok() {
        Ok(())
    } else {
        Err(AppError::invalid("duesPaidThrough", "a month, YYYY-MM"))
    }
}

/// Why a letter moves a member: a relocation, a reassignment or another reason.
pub fn check_reason(reason: TransferReason) -> Result<(), AppError> {
    match reason {
        TransferReason::Relocation | TransferReason::Reassignment | TransferReason::Other => Ok(()),
        _ => Err(AppError::invalid(
            "reason",
            "a letter moves a member for RELOCATION, REASSIGNMENT or OTHER",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_letter_is_due_thirty_days_after_issue_and_overdue_after() {
        let rules = LetterRules::default();
        let due = present_by(day(2025, 1, 10), &rules);
        assert_eq!(due, day(2025, 2, 9));
        assert_eq!(days_overdue(due, day(2025, 2, 9)), 0);
        assert_eq!(days_overdue(due, day(2025, 2, 12)), 3);
        assert_eq!(days_overdue(due, day(2025, 1, 12)), 0);
    }

    #[test]
    fn temporary_activity_lasts_a_year_for_work_and_two_for_study() {
        let rules = LetterRules::default();
        let start = day(2025, 3, 1);
        let temporary = MembershipKind::Temporary;
        let work = Some(TemporaryPurpose::Work);
        let study = Some(TemporaryPurpose::Study);
        assert!(check_temporary(temporary, start, Some(day(2026, 3, 1)), work, &rules).is_ok());
        assert!(check_temporary(temporary, start, Some(day(2026, 3, 2)), work, &rules).is_err());
        assert!(check_temporary(temporary, start, Some(day(2027, 3, 1)), study, &rules).is_ok());
        assert!(check_temporary(temporary, start, Some(day(2027, 3, 2)), study, &rules).is_err());
        assert!(check_temporary(temporary, start, None, work, &rules).is_err());
        assert!(check_temporary(temporary, start, Some(start), work, &rules).is_err());
        let official = MembershipKind::Official;
        assert!(check_temporary(official, start, None, None, &rules).is_ok());
        assert!(check_temporary(official, start, Some(day(2025, 9, 1)), work, &rules).is_err());
    }

    #[test]
    fn numbers_and_months_are_checked() {
        assert!(check_number("125-GGT/DU").is_ok());
        assert!(check_number("").is_err());
        assert!(check_number("12 5").is_err());
        assert!(check_dues_month("2025-06").is_ok());
        assert!(check_dues_month("2025-13").is_err());
        assert!(check_dues_month("2025-6").is_err());
    }
}
