//! The tree as it stood at an instant, read from `organization_version`:
//! an organization then, its children then, a subtree then (one range of
//! paths valid at the instant, one index range scan), and the memberships
//! open then in such a subtree. Every read keeps to the caller's scope as it
//! is today; the current record of each organization found comes with its
//! version, so the policy seals what is current.

use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, OrganizationStatus};
use entity::{membership, organization, organization_version as version};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, IntoIden, JoinType, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use std::collections::HashMap;

use super::service::{self, Lookup, OrganizationFilter};
use crate::auth::Ctx;
use crate::auth::policy::{SubtreeThen, Visible};
use crate::error::AppError;
use crate::memberships::read::open_at_in;
use crate::page::{Page, PageOf};
use crate::tree::{path_in, path_under};

/// An organization the caller sees, with its version at an instant.
pub type Then = (Visible<organization::Model>, version::Model);

/// Versions valid at `at` (of a table or alias of a larger statement).
pub fn valid_at_in(versions: impl IntoIden + Clone, at: DateTime<Utc>) -> Condition {
    let col = |column: version::Column| Expr::col((versions.clone(), column));
    Condition::all()
        .add(col(version::Column::ValidFrom).lte(at))
        .add(
            Condition::any()
                .add(col(version::Column::ValidTo).is_null())
                .add(col(version::Column::ValidTo).gt(at)),
        )
}

/// The version of each organization valid at `at`; organizations that did
/// not exist then are left out.
pub async fn versions_at<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<HashMap<i64, version::Model>, AppError> {
    Ok(version::Entity::find()
        .filter(version::Column::OrganizationId.is_in(ids.iter().copied()))
        .filter(valid_at_in(version::Entity, at))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.organization_id, v))
        .collect())
}

/// The children of several organizations as they stood at `at` (of one
/// status then, if given), each with its current record, in id order.
pub async fn children_at<C: ConnectionTrait>(
    conn: &C,
    parent_ids: &[i64],
    at: DateTime<Utc>,
    status: Option<OrganizationStatus>,
) -> Result<HashMap<i64, Vec<(version::Model, organization::Model)>>, AppError> {
    let mut query = version::Entity::find()
        .find_also_related(organization::Entity)
        .filter(version::Column::ParentId.is_in(parent_ids.iter().copied()))
        .filter(valid_at_in(version::Entity, at));
    if let Some(status) = status {
        query = query.filter(version::Column::Status.eq(status));
    }
    let mut children: HashMap<i64, Vec<(version::Model, organization::Model)>> = HashMap::new();
    for (then, now) in query
        .order_by_asc(version::Column::OrganizationId)
        .all(conn)
        .await?
    {
        if let (Some(parent), Some(now)) = (then.parent_id, now) {
            children.entry(parent).or_default().push((then, now));
        }
    }
    Ok(children)
}

/// One organization as it stood at `at`: `None` if absent, outside the
/// caller's scope, or not yet established then.
pub async fn find_at<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: Lookup,
    at: DateTime<Utc>,
) -> Result<Option<Then>, AppError> {
    let Some(org) = service::find(conn, ctx, lookup).await? else {
        return Ok(None);
    };
    Ok(versions_at(conn, &[org.id], at)
        .await?
        .remove(&org.id)
        .map(|then| (org, then)))
}

/// The subtree a list searches as of `at`: `within` as it stood then (an
/// organization the caller sees, established by then), else everything
/// that stood then in the caller's scope. `None`: the list is empty.
pub async fn search_range_at<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Option<SubtreeThen>, AppError> {
    match within {
        Some(code) => Ok(find_at(conn, ctx, Lookup::Code(code.to_owned()), at)
            .await?
            .and_then(|(root, then)| SubtreeThen::under(&ctx.principal, &root, &then, at))),
        None => Ok(Some(SubtreeThen::of_scope(&ctx.principal, at))),
    }
}

/// `organizations(asOf: ...)`: the organizations as they stood at `at`, in
/// id order; filters on status and name apply to them as they were then.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: OrganizationFilter,
    at: DateTime<Utc>,
    page: Page,
) -> Result<PageOf<Then>, AppError> {
    let name = filter
        .name_contains
        .as_deref()
        .map(|n| service::name_filter("nameContains", n))
        .transpose()?;
    let Some(subtree) = search_range_at(conn, ctx, filter.within.as_deref(), at).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = version::Entity::find()
        .join(JoinType::InnerJoin, version::Relation::Organization.def())
        .filter(valid_at_in(version::Entity, at));
    if let Some(range) = subtree.range_then() {
        query = query.filter(path_in(
            Expr::col((version::Entity, version::Column::Path)),
            range,
        ));
    }
    if let Some(range) = subtree.range_now() {
        query = query.filter(path_in(
            Expr::col((organization::Entity, organization::Column::Path)),
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
        query = query.filter(version::Column::Status.eq(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col((
                version::Entity,
                version::Column::Name,
            ))))
            .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let found = crate::page::fetch_page(conn, query, version::Column::OrganizationId, page).await?;
    let ids: Vec<i64> = found.items.iter().map(|v| v.organization_id).collect();
    let mut now: HashMap<i64, organization::Model> = service::by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|org| (org.id, org))
        .collect();
    // The query kept to the caller's scope; the seal checks each row again.
    Ok(found.filter_map(|then| {
        let org = ctx
            .principal
            .organization(now.remove(&then.organization_id)?)?;
        Some((org, then))
    }))
}

/// The memberships open at the subtree's instant in the subtrees of several
/// organizations as they stood then, kept to the caller's scope today:
/// `organization_version` as "ov" (the listed ones) and "dv" (their
/// descendants then), `membership` as "ms".
fn memberships_then(
    organization_ids: &[i64],
    subtree: &SubtreeThen,
    kind: Option<MembershipKind>,
) -> sea_orm::sea_query::SelectStatement {
    let (listed, held, ms, now) = (
        Alias::new("ov"),
        Alias::new("dv"),
        Alias::new("ms"),
        Alias::new("dn"),
    );
    let at = subtree.at();
    let mut kept = open_at_in(ms.clone(), at).add(
        Expr::col((ms.clone(), membership::Column::OrganizationId))
            .equals((held.clone(), version::Column::OrganizationId)),
    );
    if let Some(kind) = kind {
        kept = kept.add(Expr::col((ms.clone(), membership::Column::Kind)).eq(kind));
    }
    let mut query = Query::select();
    query
        .from_as(version::Entity, listed.clone())
        .join_as(
            JoinType::InnerJoin,
            version::Entity,
            held.clone(),
            valid_at_in(held.clone(), at).add(path_under(
                Expr::col((held.clone(), version::Column::Path)),
                Expr::col((listed.clone(), version::Column::Path)),
            )),
        )
        .join_as(JoinType::InnerJoin, membership::Entity, ms, kept)
        .cond_where(
            valid_at_in(listed.clone(), at).add(
                Expr::col((listed, version::Column::OrganizationId))
                    .is_in(organization_ids.iter().copied()),
            ),
        );
    if let Some(range) = subtree.range_now() {
        query.join_as(
            JoinType::InnerJoin,
            organization::Entity,
            now.clone(),
            Condition::all()
                .add(
                    Expr::col((now.clone(), organization::Column::Id))
                        .equals((held, version::Column::OrganizationId)),
                )
                .add(path_in(Expr::col((now, organization::Column::Path)), range)),
        );
    }
    query
}

/// How many memberships are open then in each organization's subtree as it
/// stood then (see `memberships_then`), in one statement.
pub async fn membership_counts_then<C: ConnectionTrait>(
    conn: &C,
    organization_ids: &[i64],
    subtree: &SubtreeThen,
    kind: Option<MembershipKind>,
) -> Result<HashMap<i64, u64>, AppError> {
    if organization_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = memberships_then(organization_ids, subtree, kind);
    query
        .expr_as(
            Expr::col((Alias::new("ov"), version::Column::OrganizationId)),
            Alias::new("organization_id"),
        )
        .expr_as(
            Expr::col((Alias::new("ms"), membership::Column::Id)).count(),
            Alias::new("members"),
        )
        .group_by_col((Alias::new("ov"), version::Column::OrganizationId));
    let mut counts = HashMap::new();
    for row in conn.query_all(&query).await? {
        let id: i64 = row.try_get("", "organization_id")?;
        let members: i64 = row.try_get("", "members")?;
        counts.insert(id, u64::try_from(members).unwrap_or(0));
    }
    Ok(counts)
}

/// The same page of those memberships for each organization, in two statements.
pub async fn membership_pages_then<C: ConnectionTrait>(
    conn: &C,
    organization_ids: &[i64],
    subtree: &SubtreeThen,
    kind: Option<MembershipKind>,
    page: Page,
) -> Result<HashMap<i64, PageOf<membership::Model>>, AppError> {
    use sea_orm::Iterable;
    let mut totals = membership_counts_then(conn, organization_ids, subtree, kind).await?;
    let listed: Vec<i64> = totals.keys().copied().collect();
    let mut rows = memberships_then(&listed, subtree, kind);
    for column in membership::Column::iter() {
        rows.column((Alias::new("ms"), column));
    }
    for id in organization_ids {
        totals.entry(*id).or_insert(0);
    }
    Ok(crate::page::fetch_pages(
        conn,
        rows,
        Expr::col((Alias::new("ov"), version::Column::OrganizationId)),
        Expr::col((Alias::new("ms"), membership::Column::Id)),
        page,
        &totals,
    )
    .await?)
}

/// Ids of the members the caller may see among those with an OFFICIAL
/// membership open at the subtree's instant in a cell of the subtree as it
/// stood then, as a subquery (`members(within:, asOf:)`).
pub fn members_placed_then(subtree: &SubtreeThen) -> sea_orm::sea_query::SelectStatement {
    let (ms, cell) = (Alias::new("ms"), Alias::new("cv"));
    let at = subtree.at();
    let mut placed = Query::select();
    placed
        .column((ms.clone(), membership::Column::MemberId))
        .from_as(membership::Entity, ms.clone())
        .join_as(
            JoinType::InnerJoin,
            version::Entity,
            cell.clone(),
            valid_at_in(cell.clone(), at).add(
                Expr::col((cell.clone(), version::Column::OrganizationId))
                    .equals((ms.clone(), membership::Column::OrganizationId)),
            ),
        )
        .cond_where(
            open_at_in(ms.clone(), at)
                .add(Expr::col((ms, membership::Column::Kind)).eq(official())),
        );
    if let Some(range) = subtree.range_then() {
        placed.and_where(path_in(Expr::col((cell, version::Column::Path)), range).into());
    }
    if let Some(range) = subtree.range_now() {
        placed.and_where(
            Expr::col((Alias::new("ms"), membership::Column::MemberId))
                .in_subquery(latest_official_in(range)),
        );
    }
    placed
}

fn official() -> sea_orm::sea_query::Value {
    use sea_orm::ActiveEnum;
    MembershipKind::Official.to_value().into()
}

/// Members whose latest OFFICIAL membership (open or not) is in a cell
/// whose current path lies in `range`: the members `Principal::member` lets
/// a caller with that scope see.
fn latest_official_in(range: &(String, String)) -> sea_orm::sea_query::SelectStatement {
    let (ms, later, cell) = (Alias::new("lm"), Alias::new("later"), Alias::new("lc"));
    let col = |table: &Alias, column: membership::Column| Expr::col((table.clone(), column));
    let newer = Query::select()
        .expr(Expr::val(1))
        .from_as(membership::Entity, later.clone())
        .and_where(
            col(&later, membership::Column::MemberId)
                .equals((ms.clone(), membership::Column::MemberId)),
        )
        .and_where(col(&later, membership::Column::Kind).eq(official()))
        .cond_where(
            Condition::any()
                .add(
                    col(&later, membership::Column::StartedAt)
                        .gt(col(&ms, membership::Column::StartedAt)),
                )
                .add(
                    Condition::all()
                        .add(
                            col(&later, membership::Column::StartedAt)
                                .eq(col(&ms, membership::Column::StartedAt)),
                        )
                        .add(
                            col(&later, membership::Column::Id)
                                .gt(col(&ms, membership::Column::Id)),
                        ),
                ),
        )
        .to_owned();
    Query::select()
        .column((ms.clone(), membership::Column::MemberId))
        .from_as(membership::Entity, ms.clone())
        .join_as(
            JoinType::InnerJoin,
            organization::Entity,
            cell.clone(),
            Expr::col((cell.clone(), organization::Column::Id))
                .equals((ms.clone(), membership::Column::OrganizationId)),
        )
        .and_where(col(&ms, membership::Column::Kind).eq(official()))
        .cond_where(path_in(
            Expr::col((cell, organization::Column::Path)),
            range,
        ))
        .and_where(Expr::exists(newer).not())
        .to_owned()
}
