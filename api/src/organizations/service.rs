//! Rules and transactions for organizations. Every lookup takes the caller
//! and answers `None` for what lies outside the caller's scope, exactly as
//! for what does not exist.

use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::organization;
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::auth::policy::{Subtree, Visible};
use crate::auth::{Ctx, Scope};
use crate::error::AppError;
use crate::page::{Page, PageOf};

/// How a caller names an organization.
#[derive(Debug, Clone)]
pub enum Lookup {
    Id(i64),
    Code(String),
}

/// The kind a parent must have for a child of this kind; `None` for kinds
/// that may be roots.
pub fn allowed_parents(kind: OrganizationKind) -> &'static [OrganizationKind] {
    use OrganizationKind::*;
    match kind {
        ProvincialCommittee => &[],
        DistrictCommittee => &[ProvincialCommittee],
        // Since 2025 a commune committee sits directly under the province.
        GrassrootsCommittee => &[DistrictCommittee, ProvincialCommittee],
        Cell => &[GrassrootsCommittee, DistrictCommittee],
    }
}

pub(super) fn may_be_root(kind: OrganizationKind) -> bool {
    matches!(
        kind,
        OrganizationKind::ProvincialCommittee | OrganizationKind::DistrictCommittee
    )
}

pub use crate::tree::{path_ids, subtree_range};

/// The scope named by a token's `org` claim; `None` if no organization has that code.
pub async fn resolve_scope(db: &DatabaseConnection, code: &str) -> Result<Option<Scope>, AppError> {
    let found = organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(db)
        .await?;
    Ok(found.map(|org| Scope {
        organization_id: org.id,
        code: org.code,
        path: org.path,
    }))
}

/// One organization, if it exists and the caller may see it.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: Lookup,
) -> Result<Option<Visible<organization::Model>>, AppError> {
    let found = match lookup {
        Lookup::Id(id) => organization::Entity::find_by_id(id).one(conn).await?,
        Lookup::Code(code) => {
            organization::Entity::find()
                .filter(organization::Column::Code.eq(code))
                .one(conn)
                .await?
        }
    };
    Ok(found.and_then(|org| ctx.principal.organization(org)))
}

/// Re-reads an organization that memberships are about to open in, taking
/// a share lock held to commit (PostgreSQL; SQLite writers are serial), so
/// a dissolution, which locks the cell for update, either waits for this
/// transaction or is seen by it as DISSOLVED. Never an open membership in a
/// dissolved cell.
pub async fn lock_for_new_members<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<organization::Model>, AppError> {
    Ok(organization::Entity::find_by_id(id)
        .lock_shared()
        .one(conn)
        .await?)
}

/// `lock_for_new_members` for several organizations named by code, in id
/// order, whatever the caller's scope (the policy decides what a caller is
/// shown of them): a batch takes them all before its other locks.
pub async fn lock_codes_for_new_members<C: ConnectionTrait>(
    conn: &C,
    codes: &[&str],
) -> Result<Vec<organization::Model>, AppError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organization::Entity::find()
        .filter(organization::Column::Code.is_in(codes.iter().copied()))
        .order_by_asc(organization::Column::Id)
        .lock_shared()
        .all(conn)
        .await?)
}

/// `find`, then `lock_for_new_members`: the organization a membership is
/// about to open in, in scope, as it is under the lock.
pub async fn find_for_new_members<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: Lookup,
) -> Result<Option<organization::Model>, AppError> {
    match find(conn, ctx, lookup).await? {
        Some(found) => lock_for_new_members(conn, found.id).await,
        None => Ok(None),
    }
}

/// Whether an organization can take members now.
pub fn is_active_cell(org: &organization::Model) -> bool {
    org.kind == OrganizationKind::Cell && org.status == OrganizationStatus::Active
}

/// Organizations whose shown status (`organization::Model::shown_status`) is this.
pub fn shown_status_is(status: OrganizationStatus) -> sea_orm::Condition {
    use OrganizationStatus::*;
    let ended_as = organization::Column::EndedAs;
    match status {
        Active => sea_orm::Condition::all().add(organization::Column::Status.eq(Active)),
        Dissolved => sea_orm::Condition::all()
            .add(organization::Column::Status.eq(Dissolved))
            .add(ended_as.is_null()),
        Merged | Split => sea_orm::Condition::all().add(ended_as.eq(status)),
    }
}

/// One organization by id, whatever the scope, that must exist.
pub(super) async fn find_any<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("organization {id} vanished")))
}

/// One organization by code, whatever the scope, that must exist.
pub async fn find_any_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<organization::Model, AppError> {
    organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("organization"))
}

/// Filters of the `organizations` list.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    /// Code of the subtree to list (the organization itself included).
    pub within: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub cell_type: Option<CellType>,
    pub status: Option<OrganizationStatus>,
    pub name_contains: Option<String>,
}

/// The subtree a list searches: `within` (an organization the caller sees),
/// else the caller's whole scope. `None` when `within` names nothing the
/// caller sees: the list is empty.
pub async fn search_range<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
) -> Result<Option<Subtree>, AppError> {
    match within {
        Some(code) => Ok(find(conn, ctx, Lookup::Code(code.to_owned()))
            .await?
            .map(|root| Subtree::under(&root))),
        None => Ok(Some(Subtree::of_scope(&ctx.principal))),
    }
}

/// A `nameContains` argument, checked.
pub fn name_filter(field: &'static str, needle: &str) -> Result<String, AppError> {
    if needle.chars().count() > 255 || needle.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must be at most 255 characters, without control characters",
        ));
    }
    Ok(crate::page::like_pattern(needle))
}

/// `organizations(...)`: in id order, within the caller's scope.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: OrganizationFilter,
    page: Page,
) -> Result<PageOf<Visible<organization::Model>>, AppError> {
    let name = filter
        .name_contains
        .as_deref()
        .map(|n| name_filter("nameContains", n))
        .transpose()?;
    let Some(range) = search_range(conn, ctx, filter.within.as_deref()).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = organization::Entity::find();
    if let Some(range) = range.range() {
        query = query.filter(crate::tree::path_in(
            sea_orm::sea_query::Expr::col(organization::Column::Path),
            range,
        ));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(organization::Column::Kind.eq(kind));
    }
    if let Some(cell_type) = filter.cell_type {
        query = query.filter(organization::Column::CellType.eq(cell_type));
    }
    if let Some(status) = filter.status {
        query = query.filter(shown_status_is(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(organization::Column::Name)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let found = crate::page::fetch_page(conn, query, organization::Column::Id, page).await?;
    // The range is the caller's scope or a subtree inside it; the seal checks each row again.
    Ok(found.filter_map(|org| ctx.principal.organization(org)))
}

/// Organizations by id, whatever the scope: for loaders, whose callers check the scope.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<organization::Model>, AppError> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The children of several organizations in one query, each list in id order.
pub async fn children_of<C: ConnectionTrait>(
    conn: &C,
    parent_ids: &[i64],
    status: Option<OrganizationStatus>,
) -> Result<HashMap<i64, Vec<organization::Model>>, AppError> {
    let mut query = organization::Entity::find()
        .filter(organization::Column::ParentId.is_in(parent_ids.iter().copied()));
    if let Some(status) = status {
        query = query.filter(shown_status_is(status));
    }
    let mut children: HashMap<i64, Vec<organization::Model>> = HashMap::new();
    for child in query
        .order_by_asc(organization::Column::Id)
        .all(conn)
        .await?
    {
        if let Some(parent) = child.parent_id {
            children.entry(parent).or_default().push(child);
        }
    }
    Ok(children)
}

/// The children of several organizations in one statement, each with the
/// OFFICIAL memberships open in it at `counted_at` (its own, not its
/// subtree's), each list in id order. The count is a correlated subquery
/// that PostgreSQL answers from `ix_membership_official_by_organization`
/// alone, without visiting the memberships themselves.
pub async fn children_counted<C: ConnectionTrait>(
    conn: &C,
    parent_ids: &[i64],
    status: Option<OrganizationStatus>,
    counted_at: chrono::DateTime<chrono::Utc>,
) -> Result<HashMap<i64, Vec<(organization::Model, u64)>>, AppError> {
    use entity::membership;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{FromQueryResult, QueryTrait};
    let ms = Alias::new("ms");
    let mut count = Query::select();
    count
        // COUNT(*), not of a column: the index alone answers it.
        .expr(Expr::cust("COUNT(*)"))
        .from_as(membership::Entity, ms.clone())
        .and_where(
            Expr::col((ms.clone(), membership::Column::OrganizationId))
                .equals((organization::Entity, organization::Column::Id)),
        )
        // A literal, not a parameter: a generic plan may then use the partial index.
        .and_where(Expr::col((ms.clone(), membership::Column::Kind)).eq(Expr::cust("'OFFICIAL'")))
        .cond_where(crate::memberships::read::open_at_in(ms, counted_at));
    let mut query = organization::Entity::find()
        .filter(organization::Column::ParentId.is_in(parent_ids.iter().copied()));
    if let Some(status) = status {
        query = query.filter(shown_status_is(status));
    }
    let mut statement = query.order_by_asc(organization::Column::Id).into_query();
    statement.expr_as(
        Expr::SubQuery(None, Box::new(count.into())),
        Alias::new("official_members"),
    );
    let mut children: HashMap<i64, Vec<(organization::Model, u64)>> = HashMap::new();
    for row in conn.query_all(&statement).await? {
        let child = organization::Model::from_query_result(&row, "")?;
        let members: i64 = row.try_get("", "official_members")?;
        if let Some(parent) = child.parent_id {
            children
                .entry(parent)
                .or_default()
                .push((child, u64::try_from(members).unwrap_or(0)));
        }
    }
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_rules_allow_only_the_documented_parents() {
        use OrganizationKind::*;
        assert!(allowed_parents(Cell).contains(&GrassrootsCommittee));
        assert!(allowed_parents(Cell).contains(&DistrictCommittee));
        assert!(!allowed_parents(Cell).contains(&Cell));
        assert!(allowed_parents(GrassrootsCommittee).contains(&DistrictCommittee));
        assert!(allowed_parents(GrassrootsCommittee).contains(&ProvincialCommittee));
        assert!(!allowed_parents(GrassrootsCommittee).contains(&GrassrootsCommittee));
        assert_eq!(allowed_parents(DistrictCommittee), &[ProvincialCommittee]);
        assert!(may_be_root(DistrictCommittee) && !may_be_root(Cell));
    }
}
