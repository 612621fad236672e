//! Lists of members: `members(...)` over a subtree, and a page of an
//! organization's active members (REST).

use entity::enums::{MemberStatus, MembershipKind};
use entity::{member, membership, organization};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::lookup::MemberView;
use crate::auth::Ctx;
use crate::auth::policy::Visible;
use crate::error::AppError;
use crate::memberships::read::{self as memberships, MembershipFilter};
use crate::organizations::service as organizations;
use crate::page::{Page, PageOf};
use crate::tree::organizations_in;

/// Filters of the `members` list.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Code of the subtree whose active members to list.
    pub within: Option<String>,
    pub status: Option<MemberStatus>,
    pub name_contains: Option<String>,
    /// Members placed in the subtree as it stood at this instant, instead of now.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

/// `members(...)`: members with an open OFFICIAL membership in the subtree
/// (the caller's scope, or `within`), in id order.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: MemberFilter,
    page: Page,
) -> Result<PageOf<MemberView>, AppError> {
    let name = filter
        .name_contains
        .as_deref()
        .map(|n| organizations::name_filter("nameContains", n))
        .transpose()?;
    if let Some(at) = filter.as_of {
        return placed_then(conn, ctx, filter, name, at, page).await;
    }
    let Some(subtree) = organizations::search_range(conn, ctx, filter.within.as_deref()).await?
    else {
        return Ok(PageOf::empty());
    };
    let mut query = member::Entity::find();
    if let Some(range) = subtree.range() {
        let active_here = Query::select()
            .column(membership::Column::MemberId)
            .from(membership::Entity)
            .and_where(Expr::col(membership::Column::Kind).eq(MembershipKind::Official.to_value()))
            .and_where(Expr::col(membership::Column::EndedAt).is_null())
            .and_where(
                Expr::col(membership::Column::OrganizationId).in_subquery(organizations_in(range)),
            )
            .to_owned();
        query = query.filter(member::Column::Id.in_subquery(active_here));
    }
    if let Some(status) = filter.status {
        query = query.filter(member::Column::Status.eq(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(member::Column::FullName)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let found = crate::page::fetch_page(conn, query, member::Column::Id, page).await?;
    Ok(found.map(|m| MemberView::new(subtree.placed_member(m), ctx)))
}

/// `members(asOf: ...)`: members with an OFFICIAL membership open at `at` in
/// the subtree as it stood then, as far as the caller's scope reaches today.
async fn placed_then<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: MemberFilter,
    name: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
    page: Page,
) -> Result<PageOf<MemberView>, AppError> {
    use crate::organizations::as_of;
    let Some(subtree) = as_of::search_range_at(conn, ctx, filter.within.as_deref(), at).await?
    else {
        return Ok(PageOf::empty());
    };
    let mut query = member::Entity::find()
        .filter(member::Column::Id.in_subquery(as_of::members_placed_then(&subtree)));
    if let Some(status) = filter.status {
        query = query.filter(member::Column::Status.eq(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(member::Column::FullName)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let found = crate::page::fetch_page(conn, query, member::Column::Id, page).await?;
    Ok(found.map(|m| MemberView::new(subtree.placed_member(m), ctx)))
}

/// A page of an organization's open OFFICIAL memberships with their members.
pub async fn active_members_of<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    org: &Visible<organization::Model>,
    page: Page,
) -> Result<PageOf<(membership::Model, MemberView)>, AppError> {
    let filter = MembershipFilter {
        as_of: crate::clock::now(),
        include_descendants: false,
        kind: Some(MembershipKind::Official),
    };
    let along = memberships::Along {
        total: true,
        members: true,
    };
    let memberships = memberships::membership_pages(conn, &[org.id], filter, page, along)
        .await?
        .remove(&org.id)
        .unwrap_or_else(PageOf::empty);
    let items = memberships
        .items
        .into_iter()
        .filter_map(|listed| {
            // An open OFFICIAL membership is the member's latest: its cell decides.
            let person = ctx.principal.member(listed.member?, Some(org))?;
            Some((listed.membership, MemberView::new(person, ctx)))
        })
        .collect();
    Ok(PageOf {
        items,
        total: memberships.total,
        has_next: memberships.has_next,
    })
}
