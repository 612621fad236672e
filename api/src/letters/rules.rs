//! The letters' rules that need no database: dates, deadlines, the number
//! and the dues month (the length of temporary activity is
//! `memberships::temporary`'s).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::enums::TransferReason;

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
    fn numbers_and_months_are_checked() {
        assert!(check_number("125-GGT/DU").is_ok());
        assert!(check_number("").is_err());
        assert!(check_number("12 5").is_err());
        assert!(check_dues_month("2025-06").is_ok());
        assert!(check_dues_month("2025-13").is_err());
        assert!(check_dues_month("2025-6").is_err());
    }
}
