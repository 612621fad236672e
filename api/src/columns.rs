//! Several entities' rows in one statement: each entity's columns under a
//! prefix of its own, read back with `FromQueryResult::from_query_result(row, prefix)`.

use sea_orm::EntityTrait;
use sea_orm::sea_query::{Alias, Expr, SelectStatement};

/// Selects every column of `E` from the table or alias `table`, each named
/// `{prefix}{column}`.
pub fn columns_as<E: EntityTrait>(query: &mut SelectStatement, table: &str, prefix: &str) {
    use sea_orm::{IdenStatic, Iterable};
    for column in E::Column::iter() {
        query.expr_as(
            Expr::col((Alias::new(table), column)),
            Alias::new(format!("{prefix}{}", column.as_str())),
        );
    }
}
