//! The tree's memory, written. Every change of an organization (created,
//! renamed, moved with its subtree, dissolved) calls `record` in the same
//! transaction, after the change is written to `organization`: the open
//! version of each organization concerned ends at the instant the change took
//! effect and a new one, copied from the current row, begins there. Three
//! statements, whatever the number of organizations concerned.

use chrono::{DateTime, Utc};
use entity::{organization, organization_version as version};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, QueryStatementBuilder, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppError;

/// Which organizations changed.
pub enum Changed<'a> {
    /// These organizations.
    Ids(&'a [i64]),
    /// Every organization whose (new) path lies in this range: a moved subtree.
    Subtree(&'a (String, String)),
}

impl Changed<'_> {
    /// The condition on `column` (an organization id) that keeps the changed ones.
    fn holds(&self, column: SimpleExpr) -> SimpleExpr {
        match self {
            Changed::Ids(ids) => column.is_in(ids.iter().copied()),
            Changed::Subtree(range) => column.in_subquery(crate::tree::organizations_in(range)),
        }
    }
}

/// Records the current state of the changed organizations as their version
/// from `at` on. A version that began at `at` or later (a change at the same
/// instant, or backdated before the version began) is rewritten in place
/// instead, so no period is ever empty.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    changed: Changed<'_>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let of_changed = changed.holds(Expr::col(version::Column::OrganizationId));
    version::Entity::update_many()
        .col_expr(version::Column::ValidTo, Expr::value(at))
        .filter(version::Column::ValidTo.is_null())
        .filter(version::Column::ValidFrom.lt(at))
        .filter(of_changed.clone())
        .exec(conn)
        .await?;

    let current = |column: organization::Column| -> SimpleExpr {
        SimpleExpr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .column((organization::Entity, column))
                    .from(organization::Entity)
                    .and_where(
                        Expr::col((organization::Entity, organization::Column::Id))
                            .equals((version::Entity, version::Column::OrganizationId)),
                    )
                    .to_owned()
                    .into_sub_query_statement(),
            ),
        )
    };
    version::Entity::update_many()
        .col_expr(
            version::Column::ParentId,
            current(organization::Column::ParentId),
        )
        .col_expr(version::Column::Path, current(organization::Column::Path))
        .col_expr(version::Column::Depth, current(organization::Column::Depth))
        .col_expr(version::Column::Name, current(organization::Column::Name))
        .col_expr(
            version::Column::Status,
            shown_status(
                current(organization::Column::EndedAs),
                current(organization::Column::Status),
            ),
        )
        .filter(version::Column::ValidTo.is_null())
        .filter(of_changed)
        .exec(conn)
        .await?;

    let open_version = Query::select()
        .expr(Expr::val(1))
        .from(version::Entity)
        .and_where(
            Expr::col((version::Entity, version::Column::OrganizationId))
                .equals((organization::Entity, organization::Column::Id)),
        )
        .and_where(Expr::col((version::Entity, version::Column::ValidTo)).is_null())
        .to_owned();
    let unrecorded = Query::select()
        .column((organization::Entity, organization::Column::Id))
        .expr(Expr::val(at))
        .columns([
            (organization::Entity, organization::Column::ParentId),
            (organization::Entity, organization::Column::Path),
            (organization::Entity, organization::Column::Depth),
            (organization::Entity, organization::Column::Name),
        ])
        .expr(shown_status(
            Expr::col((organization::Entity, organization::Column::EndedAs)),
            Expr::col((organization::Entity, organization::Column::Status)),
        ))
        .from(organization::Entity)
        .and_where(changed.holds(Expr::col((organization::Entity, organization::Column::Id))))
        .and_where(Expr::exists(open_version).not())
        .to_owned();
    let insert = Query::insert()
        .into_table(version::Entity)
        .columns([
            version::Column::OrganizationId,
            version::Column::ValidFrom,
            version::Column::ParentId,
            version::Column::Path,
            version::Column::Depth,
            version::Column::Name,
            version::Column::Status,
        ])
        .select_from(unrecorded)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("history insert: {e}")))?
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// The status callers see (`organization::Model::shown_status`), in SQL.
fn shown_status(ended_as: SimpleExpr, status: SimpleExpr) -> SimpleExpr {
    Func::coalesce([ended_as, status]).into()
}
