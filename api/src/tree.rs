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

/// The subtree condition: `path` (a column of materialized paths) lies in
/// `range`. Every subtree read is this one index range scan.
pub fn path_in(
    path: impl Into<sea_orm::sea_query::Expr> + Clone,
    range: &(String, String),
) -> sea_orm::Condition {
    use sea_orm::sea_query::ExprTrait;
    let path: sea_orm::sea_query::Expr = path.into();
    sea_orm::Condition::all()
        .add(path.clone().gte(range.0.clone()))
        .add(path.lt(range.1.clone()))
}

/// The subtree condition between two columns of one statement: `path` lies
/// under `root`, the range `subtree_range` computes, written in SQL.
pub fn path_under(
    path: impl Into<sea_orm::sea_query::Expr> + Clone,
    root: impl Into<sea_orm::sea_query::Expr> + Clone,
) -> sea_orm::Condition {
    use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func};
    let (path, root): (Expr, Expr) = (path.into(), root.into());
    // `/1/7/` → `/1/7` || '0'
    let upper = Expr::from(
        Func::cust("SUBSTR")
            .arg(root.clone())
            .arg(1)
            .arg(Expr::from(Func::char_length(root.clone())).sub(1)),
    )
    .binary(BinOper::Custom("||"), Expr::val("0"));
    sea_orm::Condition::all()
        .add(path.clone().gte(root))
        .add(path.lt(upper))
}

/// Ids of the organizations in a range of materialized paths, as a subquery.
pub fn organizations_in(range: &(String, String)) -> sea_orm::sea_query::SelectStatement {
    use entity::organization;
    use sea_orm::sea_query::{Expr, Query};
    Query::select()
        .column(organization::Column::Id)
        .from(organization::Entity)
        .cond_where(path_in(Expr::col(organization::Column::Path), range))
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
