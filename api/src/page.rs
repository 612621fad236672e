//! Keyset pages as the domain hands them to the API layers: a list ordered
//! by a unique integer key, the page after a key, and the total count.

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
    use sea_orm::{PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let total = query.clone().count(conn).await?;
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
