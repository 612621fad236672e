//! Reading letters as each side may see them: one by id, and lists per
//! committee (`within`): open, in transit, overdue.

use chrono::NaiveDate;
use entity::enums::{LetterStatus, MembershipKind};
use entity::{letter, membership, organization};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

use crate::auth::Ctx;
use crate::auth::policy::Visible;
use crate::error::AppError;
use crate::organizations::service as organizations;
use crate::page::{Page, PageOf};
use crate::tree::organizations_in;

/// A letter as the policy lets the caller see it (either side), or nothing.
pub async fn seal<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    letter: letter::Model,
) -> Result<Option<Visible<letter::Model>>, AppError> {
    let ends =
        organizations::by_ids(conn, &[letter.from_cell_id, letter.to_organization_id]).await?;
    let end = |id: i64| ends.iter().find(|org| org.id == id);
    Ok(
        match (end(letter.from_cell_id), end(letter.to_organization_id)) {
            (Some(from), Some(to)) => ctx.principal.letter(letter, from, to),
            _ => None,
        },
    )
}

/// One letter by id, if the caller is on either side of it.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    id: i64,
) -> Result<Option<Visible<letter::Model>>, AppError> {
    match letter::Entity::find_by_id(id).one(conn).await? {
        Some(found) => seal(conn, ctx, found).await,
        None => Ok(None),
    }
}

/// Which letters a list keeps.
#[derive(Debug, Clone, Default)]
pub struct LetterFilter {
    /// Code of a committee or cell the caller sees: letters leaving or
    /// reaching its subtree. Default: the caller's scope.
    pub within: Option<String>,
    pub status: Option<LetterStatus>,
    /// OPEN OFFICIAL letters: members counted by no cell.
    pub in_transit: bool,
    /// OPEN letters past their deadline on `today`.
    pub overdue: bool,
    pub member_id: Option<i64>,
}

/// A page of the letters leaving or reaching the subtree, by id.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: &LetterFilter,
    today: NaiveDate,
    page: Page,
) -> Result<PageOf<Visible<letter::Model>>, AppError> {
    let Some(subtree) = organizations::search_range(conn, ctx, filter.within.as_deref()).await?
    else {
        return Ok(PageOf::empty());
    };
    let mut query = letter::Entity::find();
    if let Some(range) = subtree.range() {
        query = query.filter(
            Condition::any()
                .add(letter::Column::FromCellId.in_subquery(organizations_in(range)))
                .add(letter::Column::ToOrganizationId.in_subquery(organizations_in(range))),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(letter::Column::Status.eq(status));
    }
    if filter.in_transit {
        query = query
            .filter(letter::Column::Status.eq(LetterStatus::Open))
            .filter(letter::Column::Kind.eq(MembershipKind::Official));
    }
    if filter.overdue {
        query = query
            .filter(letter::Column::Status.eq(LetterStatus::Open))
            .filter(letter::Column::PresentBy.lt(today));
    }
    if let Some(member) = filter.member_id {
        query = query.filter(letter::Column::MemberId.eq(member));
    }
    let found = crate::page::fetch_page(conn, query, letter::Column::Id, page).await?;
    let ids: Vec<i64> = found
        .items
        .iter()
        .flat_map(|l| [l.from_cell_id, l.to_organization_id])
        .collect();
    let ends: HashMap<i64, organization::Model> = organizations::by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|org| (org.id, org))
        .collect();
    Ok(found.filter_map(|letter| {
        let from = ends.get(&letter.from_cell_id)?;
        let to = ends.get(&letter.to_organization_id)?;
        ctx.principal.letter(letter, from, to)
    }))
}

/// Temporary memberships in the subtree due to end by `by` (those already
/// past their end included), soonest first: the cells ask for the return.
pub async fn temporary_ending<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    by: NaiveDate,
) -> Result<Vec<Visible<membership::Model>>, AppError> {
    use sea_orm::QueryOrder;
    let Some(subtree) = organizations::search_range(conn, ctx, within).await? else {
        return Ok(Vec::new());
    };
    let mut query = membership::Entity::find()
        .filter(membership::Column::Kind.eq(MembershipKind::Temporary))
        .filter(membership::Column::EndedAt.is_null())
        .filter(membership::Column::EndsOn.lte(by));
    if let Some(range) = subtree.range() {
        query =
            query.filter(membership::Column::OrganizationId.in_subquery(organizations_in(range)));
    }
    let found = query
        .order_by_asc(membership::Column::EndsOn)
        .order_by_asc(membership::Column::Id)
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|m| subtree.found_membership(m))
        .collect())
}
