//! Keyset pages as the domain hands them to the API layers: a list ordered
//! by a unique integer key, the page after a key, and the total count.

use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: i32 = 50;
pub const MAX_PAGE_SIZE: i32 = 500;

/// `first` (GraphQL) or `limit` (REST), checked: 1 to 500, default 50. Out
/// of range is an error, never a silent clamp.
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

/// Which page: at most `first` items whose key is greater than `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    pub first: u64,
    pub after: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    /// Items in the whole list, whatever page this is.
    pub total: u64,
    pub has_next: bool,
}

impl<T> PageOf<T> {
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            total: 0,
            has_next: false,
        }
    }

    /// Builds a page from up to `first + 1` fetched items (the extra one
    /// only tells that another page follows).
    pub fn from_fetched(mut items: Vec<T>, page: Page, total: u64) -> Self {
        let has_next = items.len() as u64 > page.first;
        items.truncate(page.first as usize);
        Self {
            items,
            total,
            has_next,
        }
    }

    /// The same page with each item converted.
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> PageOf<U> {
        PageOf {
            items: self.items.into_iter().map(convert).collect(),
            total: self.total,
            has_next: self.has_next,
        }
    }

    /// Keeps the items `keep` turns into something; the counts stay those
    /// of the query (a dropped item is one the query should not have found).
    pub fn filter_map<U>(self, keep: impl FnMut(T) -> Option<U>) -> PageOf<U> {
        PageOf {
            items: self.items.into_iter().filter_map(keep).collect(),
            total: self.total,
            has_next: self.has_next,
        }
    }

    /// Pages a list already in key order, in memory.
    pub fn slice(all: Vec<T>, page: Page, key: impl Fn(&T) -> i64) -> Self {
        let total = all.len() as u64;
        let fetched: Vec<T> = all
            .into_iter()
            .filter(|item| page.after.is_none_or(|after| key(item) > after))
            .take(page.first as usize + 1)
            .collect();
        Self::from_fetched(fetched, page, total)
    }
}

/// Runs one keyset page of a query over a unique integer column: the total
/// of the whole list, then up to `first` rows after `page.after`, in key order.
pub async fn fetch_page<E, C, K>(
    conn: &C,
    query: sea_orm::Select<E>,
    key: K,
    page: Page,
) -> Result<PageOf<E::Model>, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
    C: sea_orm::ConnectionTrait,
    K: sea_orm::ColumnTrait,
{
    fetch_page_counted(conn, query, key, page, true).await
}

/// `fetch_page`, with the count of the whole list only when `counted` (a
/// statement of its own, and over a long list the dearest part of the
/// page); without it the page's `total` is 0.
pub async fn fetch_page_counted<E, C, K>(
    conn: &C,
    query: sea_orm::Select<E>,
    key: K,
    page: Page,
    counted: bool,
) -> Result<PageOf<E::Model>, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
    C: sea_orm::ConnectionTrait,
    K: sea_orm::ColumnTrait,
{
    use sea_orm::{PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let total = if counted {
        query.clone().count(conn).await?
    } else {
        0
    };
    let mut query = query;
    if let Some(after) = page.after {
        query = query.filter(key.gt(after));
    }
    let fetched = query
        .order_by_asc(key)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    Ok(PageOf::from_fetched(fetched, page, total))
}

/// The same page of several lists in one statement. `rows` selects the rows
/// of every list (columns named as the model's); `list` says which list a
/// row is in and `key` is its unique key, the order within a list. One list
/// is a plain keyset page; several are numbered by a window function, each
/// list's first `page.first + 1` rows after `page.after` kept. `totals` (the
/// size of each whole list, counted by the caller) completes each page.
pub async fn fetch_pages<M, C>(
    conn: &C,
    mut rows: sea_orm::sea_query::SelectStatement,
    list: sea_orm::sea_query::Expr,
    key: sea_orm::sea_query::Expr,
    page: Page,
    totals: &std::collections::HashMap<i64, u64>,
) -> Result<std::collections::HashMap<i64, PageOf<M>>, sea_orm::DbErr>
where
    M: sea_orm::FromQueryResult,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::sea_query::{
        Alias, Asterisk, Expr, ExprTrait, OverStatement, Query, WindowStatement,
    };
    let mut fetched: std::collections::HashMap<i64, Vec<M>> = std::collections::HashMap::new();
    let lists = totals.values().filter(|total| **total > 0).count();
    if lists > 0 {
        rows.expr_as(list.clone(), Alias::new("listed_in"));
        if let Some(after) = page.after {
            rows.and_where(key.clone().gt(after));
        }
        let first = i64::try_from(page.first).unwrap_or(i64::MAX);
        let query = if lists == 1 {
            // One list: a keyset page, which stops after its rows.
            rows.order_by_expr(key, sea_orm::Order::Asc)
                .limit(page.first + 1);
            rows
        } else {
            let mut window = WindowStatement::new();
            window
                .add_partition_by(list)
                .order_by_expr(key, sea_orm::Order::Asc);
            rows.expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                window,
                Alias::new("row_in_page"),
            );
            let mut numbered = Query::select();
            numbered
                .column(Asterisk)
                .from_subquery(rows, Alias::new("numbered"))
                .and_where(Expr::col(Alias::new("row_in_page")).lte(first.saturating_add(1)))
                .order_by(Alias::new("listed_in"), sea_orm::Order::Asc)
                .order_by(Alias::new("row_in_page"), sea_orm::Order::Asc);
            numbered
        };
        for row in conn.query_all(&query).await? {
            let listed_in: i64 = row.try_get("", "listed_in")?;
            fetched
                .entry(listed_in)
                .or_default()
                .push(M::from_query_result(&row, "")?);
        }
    }
    Ok(totals
        .iter()
        .map(|(list, total)| {
            let rows = fetched.remove(list).unwrap_or_default();
            (*list, PageOf::from_fetched(rows, page, *total))
        })
        .collect())
}

/// `%`, `_` and `\` escaped for a LIKE pattern with `ESCAPE '\'`, lower-cased.
pub fn like_pattern(needle: &str) -> String {
    let mut escaped = String::with_capacity(needle.len() + 2);
    escaped.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_the_key() {
        let page = PageOf::slice(
            (1..=10).collect(),
            Page {
                first: 3,
                after: Some(4),
            },
            |n| *n,
        );
        assert_eq!(page.items, vec![5, 6, 7]);
        assert!(page.has_next);
        assert_eq!(page.total, 10);
        let last = PageOf::slice(
            (1..=10).collect(),
            Page {
                first: 3,
                after: Some(8),
            },
            |n| *n,
        );
        assert_eq!(last.items, vec![9, 10]);
        assert!(!last.has_next);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Bạch_100%"), "%bạch\\_100\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
