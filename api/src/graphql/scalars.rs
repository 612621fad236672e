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

#[Scalar(
    name = "Date",
    specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html"
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

/// An instant a caller sends (`asOf`, `effectiveAt`, …): RFC 3339, in the
/// years `clock::YEARS`. It is the contract's `DateTime` scalar, which
/// answers keep writing with async-graphql's own `chrono::DateTime<Utc>`:
/// the schema lets the two share the name (`ignore_name_conflicts`), and
/// both read and write the same RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub chrono::DateTime<Utc>);

/// The name the two `DateTime` implementations share.
pub const DATE_TIME: &str = "DateTime";

// The description repeats async-graphql's word for word: whichever of the
// two registers first writes it into the SDL.
/// Implement the DateTime<Utc> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
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
        Value::String(self.0.to_rfc3339())
    }
}

impl From<Instant> for chrono::DateTime<Utc> {
    fn from(instant: Instant) -> Self {
        instant.0
    }
}
