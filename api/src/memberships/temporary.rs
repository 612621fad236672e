//! How long temporary activity (sinh hoạt tạm thời) may last: a rule of
//! every TEMPORARY membership, opened by a transfer or by a letter.

use chrono::{Months, NaiveDate};
use entity::enums::{MembershipKind, TemporaryPurpose};

use crate::config::LetterRules;
use crate::error::AppError;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
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
}
