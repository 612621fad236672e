//! Reading transfer events: the change feed in sequence order, and pages of
//! members' own events. An event is visible when its source or destination
//! lies in the caller's scope.

use entity::{member, organization, transfer_event};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

use crate::auth::Ctx;
use crate::auth::policy::Visible;
use crate::error::AppError;
use crate::members::lookup::MemberIdentity;
use crate::organizations::service as organizations;
use crate::page::{Page, PageOf};
use crate::tree::organizations_in;

fn touching(range: &(String, String)) -> Condition {
    Condition::any()
        .add(transfer_event::Column::ToOrganizationId.in_subquery(organizations_in(range)))
        .add(transfer_event::Column::FromOrganizationId.in_subquery(organizations_in(range)))
}

/// The change feed: every event touching the subtree (`within`, else the
/// caller's scope), by sequence, after a sequence number; with the count of
/// the whole feed only when `counted` (readers paging on rarely need it, and
/// over millions of events it costs more than the page).
pub async fn feed<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    page: Page,
    counted: bool,
) -> Result<PageOf<Visible<transfer_event::Model>>, AppError> {
    let Some(subtree) = organizations::search_range(conn, ctx, within).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = transfer_event::Entity::find();
    if let Some(range) = subtree.range() {
        query = query.filter(touching(range));
    }
    let key = transfer_event::Column::Sequence;
    let found = crate::page::fetch_page_counted(conn, query, key, page, counted).await?;
    Ok(found.map(|event| subtree.event(event)))
}

/// Events by id, in no particular order.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<transfer_event::Model>, AppError> {
    Ok(transfer_event::Entity::find()
        .filter(transfer_event::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The same page of several members' events (by sequence) in two
/// statements: counts, then rows (`page::fetch_pages`). Only events touching
/// `scope` (a subtree's path range; `None` for everything), as in the feed:
/// a member's life outside the caller's subtree stays there.
pub async fn of_members<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
    scope: Option<&(String, String)>,
    page: Page,
) -> Result<HashMap<i64, PageOf<transfer_event::Model>>, AppError> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{EntityName, Iterable};
    let mut totals: HashMap<i64, u64> = member_ids.iter().map(|id| (*id, 0)).collect();
    if member_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut counted = Query::select();
    counted
        .column(transfer_event::Column::MemberId)
        .expr_as(
            Expr::col(transfer_event::Column::Id).count(),
            Alias::new("events"),
        )
        .from(transfer_event::Entity.table_ref())
        .and_where(Expr::col(transfer_event::Column::MemberId).is_in(member_ids.iter().copied()))
        .group_by_col(transfer_event::Column::MemberId);
    if let Some(range) = scope {
        counted.cond_where(touching(range));
    }
    for row in conn.query_all(&counted).await? {
        let member: i64 = row.try_get("", "member_id")?;
        let events: i64 = row.try_get("", "events")?;
        totals.insert(member, u64::try_from(events).unwrap_or(0));
    }
    let mut rows = Query::select();
    rows.columns(transfer_event::Column::iter())
        .from(transfer_event::Entity.table_ref())
        .and_where(Expr::col(transfer_event::Column::MemberId).is_in(member_ids.iter().copied()));
    if let Some(range) = scope {
        rows.cond_where(touching(range));
    }
    Ok(crate::page::fetch_pages(
        conn,
        rows,
        Expr::col(transfer_event::Column::MemberId),
        Expr::col(transfer_event::Column::Sequence),
        page,
        &totals,
    )
    .await?)
}

/// An event of the feed with the member it moved and its two ends.
pub struct FeedRow {
    pub event: Visible<transfer_event::Model>,
    pub member: member::Model,
    pub from: Option<organization::Model>,
    pub to: organization::Model,
}

/// A page of the change feed (as `feed`, without the count) with each
/// event's member and organizations, in one statement whatever the page size.
pub async fn feed_rows<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    page: Page,
) -> Result<PageOf<FeedRow>, AppError> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType};
    use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
    let Some(subtree) = organizations::search_range(conn, ctx, within).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = transfer_event::Entity::find();
    if let Some(range) = subtree.range() {
        query = query.filter(touching(range));
    }
    if let Some(after) = page.after {
        query = query.filter(transfer_event::Column::Sequence.gt(after));
    }
    let mut statement = query
        .order_by_asc(transfer_event::Column::Sequence)
        .limit(page.first + 1)
        .into_query();
    let joins = [
        (
            JoinType::InnerJoin,
            "t",
            transfer_event::Column::ToOrganizationId,
        ),
        (
            JoinType::LeftJoin,
            "f",
            transfer_event::Column::FromOrganizationId,
        ),
    ];
    statement.join_as(
        JoinType::InnerJoin,
        member::Entity,
        Alias::new("m"),
        Expr::col((Alias::new("m"), member::Column::Id))
            .equals((transfer_event::Entity, transfer_event::Column::MemberId)),
    );
    for (join, alias, column) in joins {
        statement.join_as(
            join,
            organization::Entity,
            Alias::new(alias),
            Expr::col((Alias::new(alias), organization::Column::Id))
                .equals((transfer_event::Entity, column)),
        );
    }
    crate::columns::columns_as::<member::Entity>(&mut statement, "m", "m_");
    crate::columns::columns_as::<organization::Entity>(&mut statement, "t", "t_");
    crate::columns::columns_as::<organization::Entity>(&mut statement, "f", "f_");
    let rows = conn.query_all(&statement).await?;
    let mut fetched = Vec::with_capacity(rows.len());
    if let Some(first) = rows.first() {
        use crate::columns::{ReadAt, position_of};
        let (event, member, to, from) = (
            position_of(first, "id")?,
            position_of(first, "m_id")?,
            position_of(first, "t_id")?,
            position_of(first, "f_id")?,
        );
        for row in &rows {
            fetched.push(FeedRow {
                event: subtree.event(transfer_event::Model::read_at(row, event)?),
                member: member::Model::read_at(row, member)?,
                to: organization::Model::read_at(row, to)?,
                // An admission has no source: its columns are null, not an error to make.
                from: match row.try_get_by_index::<Option<i64>>(from)? {
                    Some(_) => Some(organization::Model::read_at(row, from)?),
                    None => None,
                },
            });
        }
    }
    Ok(PageOf::from_fetched(fetched, page, 0))
}

/// An event of the feed as an integration script reads it: the member it
/// moved by identity only (national ID masked as the role requires) and the
/// codes of its two ends.
pub struct FeedEntry {
    pub event: transfer_event::Model,
    pub member: MemberIdentity,
    pub from_code: Option<String>,
    pub to_code: String,
}

/// A page of the change feed with what each event names, in one statement
/// whatever the page size (`feed_rows`).
pub async fn feed_entries<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    page: Page,
) -> Result<PageOf<FeedEntry>, AppError> {
    let rows = feed_rows(conn, ctx, None, page).await?;
    Ok(rows.map(|row| FeedEntry {
        member: MemberIdentity::new(&row.member, ctx),
        from_code: row.from.map(|org| org.code),
        to_code: row.to.code,
        event: row.event.into_inner(),
    }))
}
