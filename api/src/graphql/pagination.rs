//! Relay-style pagination shared by every connection: page sizes, opaque cursors, `PageInfo`.

use async_graphql::SimpleObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;
use crate::page::{Page, PageOf};

pub use crate::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};

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

/// The page a connection field asks for: `first` checked, `after` decoded.
pub fn page_arg(list: &str, first: Option<i32>, after: Option<&str>) -> Result<Page, AppError> {
    Ok(Page {
        first: page_size(first)?,
        after: after
            .map(|cursor| decode_cursor(list, cursor))
            .transpose()?,
    })
}

/// A page ready to become one of the contract's `XConnection` types: each
/// edge's node with the key its cursor encodes in `list`.
pub struct ConnectionParts<U> {
    pub list: &'static str,
    pub edges: Vec<(i64, U)>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

/// Declares a contract connection type and its edge type for one node type.
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty) => {
        pub struct $edge {
            list: &'static str,
            key: i64,
            node: $node,
        }

        // The cursor is encoded only when asked for: a page of 500 events
        // would otherwise encode 500 cursors nobody reads.
        #[async_graphql::Object]
        impl $edge {
            async fn cursor(&self) -> String {
                $crate::graphql::pagination::encode_cursor(self.list, self.key)
            }

            async fn node(&self) -> &$node {
                &self.node
            }
        }

        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::pagination::PageInfo,
            /// Items in the whole list, whatever the page.
            pub total_count: i32,
        }

        impl From<$crate::graphql::pagination::ConnectionParts<$node>> for $connection {
            fn from(parts: $crate::graphql::pagination::ConnectionParts<$node>) -> Self {
                Self {
                    edges: parts
                        .edges
                        .into_iter()
                        .map(|(key, node)| $edge {
                            list: parts.list,
                            key,
                            node,
                        })
                        .collect(),
                    page_info: parts.page_info,
                    total_count: parts.total_count,
                }
            }
        }
    };
}
pub(crate) use connection_type;

/// A connection from a domain page: each node's cursor encodes its key in `list`.
pub fn connection<T, U, C: From<ConnectionParts<U>>>(
    list: &'static str,
    page: PageOf<T>,
    after: Option<i64>,
    key: impl Fn(&T) -> i64,
    node: impl Fn(T) -> U,
) -> C {
    let edges: Vec<(i64, U)> = page
        .items
        .into_iter()
        .map(|item| (key(&item), node(item)))
        .collect();
    let page_info = PageInfo {
        has_previous_page: after.is_some(),
        has_next_page: page.has_next,
        start_cursor: edges.first().map(|edge| encode_cursor(list, edge.0)),
        end_cursor: edges.last().map(|edge| encode_cursor(list, edge.0)),
    };
    C::from(ConnectionParts {
        list,
        edges,
        page_info,
        total_count: i32::try_from(page.total).unwrap_or(i32::MAX),
    })
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
