//! Scalars of the public contract that async-graphql does not name the same
//! way, and the bounds on the dates and instants callers send.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, Utc};

/// A value the scalar refuses is the caller's mistake: BAD_USER_INPUT, like
/// every other refused input.
fn bad_input<T: async_graphql::InputType>(error: InputValueError<T>) -> InputValueError<T> {
    error.with_extension("code", crate::error::ErrorCode::BadUserInput.as_str())
}

/// ISO 8601 calendar date, e.g. 2017-08-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date: `YYYY-MM-DD` (ISO 8601 / RFC 3339 `full-date`), e.g.
/// `2017-08-01`, with no time and no time zone. Years 0001 to 9999; an
/// impossible date such as 2026-02-30 is refused.
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => crate::clock::parse_date(text)
                .map(Date)
                .map_err(|reason| bad_input(InputValueError::custom(reason))),
            _ => Err(bad_input(InputValueError::expected_type(value))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, the contract's `DateTime` scalar, for every date-time the
/// schema reads or writes: RFC 3339, in the years `clock::YEARS`; written
/// in UTC with `Z`, as REST writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub chrono::DateTime<Utc>);

/// An instant: an RFC 3339 `date-time` with its time zone. Written in UTC
/// with `Z` and as many fractional digits as needed (none, 3 or 6), e.g.
/// `2026-01-31T08:00:00Z` or `2026-01-31T08:00:00.250Z`; read with `Z` or
/// any offset (`2026-01-31T15:00:00+07:00` is the same instant). A
/// date-time without its time zone is refused. Years 0001 to 9999 UTC.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Instant {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => crate::clock::parse_instant(text)
                .map(Instant)
                .map_err(|reason| bad_input(InputValueError::custom(reason))),
            _ => Err(bad_input(InputValueError::expected_type(value))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(crate::clock::rfc3339(self.0))
    }
}

impl From<Instant> for chrono::DateTime<Utc> {
    fn from(instant: Instant) -> Self {
        instant.0
    }
}
