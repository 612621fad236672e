//! Reading transfer events: the change feed in sequence order, and a
//! member's own events. An event is visible when its source or destination
//! lies in the caller's scope.

use entity::{organization, transfer_event};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::auth::Ctx;
use crate::error::AppError;
use crate::organizations::service as organizations;
use crate::page::{Page, PageOf};

fn touching(range: &(String, String)) -> Condition {
    let inside = || {
        Query::select()
            .column(organization::Column::Id)
            .from(organization::Entity)
            .and_where(Expr::col(organization::Column::Path).gte(range.0.clone()))
            .and_where(Expr::col(organization::Column::Path).lt(range.1.clone()))
            .to_owned()
    };
    Condition::any()
        .add(transfer_event::Column::ToOrganizationId.in_subquery(inside()))
        .add(transfer_event::Column::FromOrganizationId.in_subquery(inside()))
}

/// The change feed: every event touching the subtree (`within`, else the
/// caller's scope), by sequence, after a sequence number.
pub async fn feed<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    page: Page,
) -> Result<PageOf<transfer_event::Model>, AppError> {
    let Some(range) = organizations::search_range(conn, ctx, within).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = transfer_event::Entity::find();
    if let Some(range) = range {
        query = query.filter(touching(&range));
    }
    let total = query.clone().count(conn).await?;
    if let Some(after) = page.after {
        query = query.filter(transfer_event::Column::Sequence.gt(after));
    }
    let fetched = query
        .order_by_asc(transfer_event::Column::Sequence)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    Ok(PageOf::from_fetched(fetched, page, total))
}

/// A member's events by sequence. The caller has already been found to see the member.
pub async fn of_member<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
    page: Page,
) -> Result<PageOf<transfer_event::Model>, AppError> {
    let query =
        transfer_event::Entity::find().filter(transfer_event::Column::MemberId.eq(member_id));
    let total = query.clone().count(conn).await?;
    let mut query = query;
    if let Some(after) = page.after {
        query = query.filter(transfer_event::Column::Sequence.gt(after));
    }
    let fetched = query
        .order_by_asc(transfer_event::Column::Sequence)
        .limit(page.first + 1)
        .all(conn)
        .await?;
    Ok(PageOf::from_fetched(fetched, page, total))
}
