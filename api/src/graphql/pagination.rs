//! Relay-style pagination shared by every connection: page sizes, opaque cursors, `PageInfo`.

use async_graphql::SimpleObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: i32 = 50;
pub const MAX_PAGE_SIZE: i32 = 500;

/// `first`, checked: 1 to 500, default 50. Out of range is an error, never a silent clamp.
pub fn page_size(first: Option<i32>) -> Result<u64, AppError> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=MAX_PAGE_SIZE).contains(&first) {
        Ok(first as u64)
    } else {
        Err(AppError::invalid(
            "first",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ))
    }
}

/// An opaque cursor over a list ordered by a unique integer key.
pub fn encode_cursor(list: &str, key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}:{key}"))
}

/// The key inside a cursor made by `encode_cursor` for the same list.
pub fn decode_cursor(list: &str, cursor: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(&format!("{list}:"))
                .and_then(|key| key.parse().ok())
        })
        .ok_or_else(|| AppError::invalid("after", "not a cursor of this list"))
}

#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_checked_not_clamped() {
        assert_eq!(page_size(None).unwrap(), 50);
        assert_eq!(page_size(Some(500)).unwrap(), 500);
        for bad in [0, -1, 501] {
            assert!(page_size(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_lists() {
        let cursor = encode_cursor("audit", 42);
        assert_eq!(decode_cursor("audit", &cursor).unwrap(), 42);
        assert!(decode_cursor("members", &cursor).is_err());
        assert!(decode_cursor("audit", "garbage!").is_err());
    }
}
