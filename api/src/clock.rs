//! The registry's notion of now: UTC at microsecond precision, which is
//! what PostgreSQL stores, so a value reads back exactly as written.

use chrono::{DateTime, Duration, Utc};

/// How far in the future a caller's timestamp may lie (clock skew).
pub const FUTURE_TOLERANCE: Duration = Duration::minutes(5);

pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// Drops sub-microsecond precision.
pub fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}
