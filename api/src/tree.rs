//! The shape of the organization tree that every area relies on: organizations
//! carry a materialized path (`/1/7/42/`), and a subtree is one range of paths.

/// Ids along a materialized path `/1/7/42/`, root first.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|id| id.parse().ok()).collect()
}

/// The materialized paths of the subtree rooted at `path`, as the half-open
/// range `[/1/7/, /1/70)`: one index range scan on both backends.
pub fn subtree_range(path: &str) -> (String, String) {
    let mut upper = path.trim_end_matches('/').to_owned();
    upper.push('0');
    (path.to_owned(), upper)
}

/// Ids of the organizations in a range of materialized paths, as a subquery.
pub fn organizations_in(range: &(String, String)) -> sea_orm::sea_query::SelectStatement {
    use entity::organization;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    Query::select()
        .column(organization::Column::Id)
        .from(organization::Entity)
        .and_where(Expr::col(organization::Column::Path).gte(range.0.clone()))
        .and_where(Expr::col(organization::Column::Path).lt(range.1.clone()))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_range_holds_its_descendants_and_nothing_beside_them() {
        let (low, high) = subtree_range("/1/7/");
        for inside in ["/1/7/", "/1/7/42/", "/1/7/9/3/"] {
            assert!(low.as_str() <= inside && inside < high.as_str(), "{inside}");
        }
        for outside in ["/1/70/", "/1/71/", "/1/", "/1/6/9/", "/2/"] {
            assert!(
                !(low.as_str() <= outside && outside < high.as_str()),
                "{outside}"
            );
        }
    }

    #[test]
    fn path_ids_read_root_first() {
        assert_eq!(path_ids("/1/7/42/"), vec![1, 7, 42]);
    }
}
