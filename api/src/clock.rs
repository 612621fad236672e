//! The registry's notion of now: UTC at microsecond precision, which is
//! what PostgreSQL stores, so a value reads back exactly as written.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// The years a caller's date or instant may fall in: ISO 8601's four-digit
/// years from 0001. Year 0 and below, or past 9999, have no agreed text form
/// and no place in a registry.
pub const YEARS: RangeInclusive<i32> = 1..=9999;

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

/// A caller's calendar date, `YYYY-MM-DD`, that exists and falls in `YEARS`.
pub fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| YEARS.contains(&date.year()))
        .ok_or("a date must be YYYY-MM-DD, exist, and fall in the years 0001 to 9999")
}

/// A caller's instant, RFC 3339 with any offset, whose UTC date falls in `YEARS`.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, &'static str> {
    match text.parse::<DateTime<Utc>>() {
        Ok(at) if YEARS.contains(&at.year()) => Ok(at),
        Ok(_) => Err("an instant must fall in the years 0001 to 9999 UTC"),
        // A local date-time names no instant until it says where.
        Err(_) if text.parse::<chrono::NaiveDateTime>().is_ok() => Err(
            "the time zone is missing: an instant must end in Z or an offset such as +07:00 (RFC 3339, e.g. 2026-01-31T08:00:00Z)",
        ),
        Err(_) => Err(
            "an instant must be RFC 3339 (e.g. 2026-01-31T08:00:00Z) and fall in the years 0001 to 9999 UTC",
        ),
    }
}

/// `parse_instant` for an optional field of a REST body or query string.
pub fn deserialize_instant<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    text.map(|text| parse_instant(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// How every transport writes an instant: RFC 3339 in UTC with `Z`, with
/// the fractional digits it needs (as serde writes a `DateTime<Utc>`).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
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
    fn dates_outside_years_1_to_9999_are_refused() {
        assert_eq!(
            parse_date("2017-08-01"),
            Ok(NaiveDate::from_ymd_opt(2017, 8, 1).unwrap())
        );
        assert!(parse_date("0001-01-01").is_ok());
        assert!(parse_date("9999-12-31").is_ok());
        for text in [
            "0000-01-01",
            "-0001-01-01",
            "10000-01-01",
            "+10000-01-01",
            "2026-02-30",
            "2026-1-1x",
        ] {
            assert!(parse_date(text).is_err(), "{text}");
        }
    }

    #[test]
    fn instants_outside_years_1_to_9999_utc_are_refused() {
        assert!(parse_instant("2026-01-31T08:00:00Z").is_ok());
        assert!(parse_instant("0001-01-01T00:00:00Z").is_ok());
        assert_eq!(
            parse_instant("2026-01-01T06:00:00+14:00").map(|at| at.to_rfc3339()),
            Ok("2025-12-31T16:00:00+00:00".to_owned())
        );
        for text in [
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "10000-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
        ] {
            assert!(parse_instant(text).is_err(), "{text}");
        }
        let local = parse_instant("2026-01-31T08:00:00").expect_err("no time zone");
        assert!(local.starts_with("the time zone is missing"), "{local}");
    }

    #[test]
    fn instants_are_written_alike_on_every_transport() {
        for text in [
            "2026-01-31T08:00:00Z",
            "2026-01-31T08:00:00.250Z",
            "2026-01-31T08:00:00.123456Z",
        ] {
            let at = parse_instant(text).expect("an instant");
            assert_eq!(rfc3339(at), text);
            assert_eq!(serde_json::to_value(at).ok(), Some(serde_json::json!(text)));
        }
        let east = parse_instant("2026-01-31T15:00:00+07:00").expect("an instant");
        assert_eq!(rfc3339(east), "2026-01-31T08:00:00Z");
    }

    #[test]
    fn rest_instants_follow_the_same_rule() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "deserialize_instant")]
            at: Option<DateTime<Utc>>,
        }
        let read = |json: &str| serde_json::from_str::<Body>(json).map(|body| body.at);
        assert!(matches!(
            read(r#"{"at":"2026-01-31T08:00:00Z"}"#),
            Ok(Some(_))
        ));
        assert!(matches!(read(r#"{}"#), Ok(None)));
        assert!(matches!(read(r#"{"at":null}"#), Ok(None)));
        assert!(read(r#"{"at":"0000-01-01T00:00:00Z"}"#).is_err());
        assert!(actix_web::web::Query::<Body>::from_query("at=2026-01-31T08%3A00%3A00Z").is_ok());
        assert!(actix_web::web::Query::<Body>::from_query("at=0000-01-01T00%3A00%3A00Z").is_err());
    }

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
