//! The registry's notion of now: UTC at microsecond precision, which is
//! what PostgreSQL stores, so a value reads back exactly as written.

use chrono::{DateTime, Duration, Utc};

/// How far in the future a caller's timestamp may lie (clock skew).
pub const FUTURE_TOLERANCE: Duration = Duration::minutes(5);

/// Refuses a caller's timestamp more than `FUTURE_TOLERANCE` after `now`,
/// naming the field it came in.
pub fn not_in_future(
    field: &'static str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), crate::error::AppError> {
    match at {
        Some(at) if at > now + FUTURE_TOLERANCE => Err(crate::error::AppError::invalid(
            field,
            "must not be more than 5 minutes in the future",
        )),
        _ => Ok(()),
    }
}

pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// Drops sub-microsecond precision.
pub fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_up_to_five_minutes_ahead_are_clock_skew_beyond_is_refused() {
        let now = now();
        assert!(not_in_future("at", None, now).is_ok());
        assert!(not_in_future("at", Some(now + FUTURE_TOLERANCE), now).is_ok());
        let refused = not_in_future(
            "at",
            Some(now + FUTURE_TOLERANCE + Duration::seconds(1)),
            now,
        )
        .expect_err("beyond the tolerance");
        assert_eq!(
            refused.to_string(),
            "at: must not be more than 5 minutes in the future"
        );
    }
}
