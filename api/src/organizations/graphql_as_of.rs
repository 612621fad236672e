//! The `Organization` fields that read the tree as it stood at an instant:
//! each goes through the request's loaders (one statement per kind of read
//! and level of the query) and seals every organization found by its
//! current record, so the scope follows the current tree.

use async_graphql::Context;
use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, OrganizationStatus};
use entity::{membership, organization, organization_version as version};

use super::graphql::{Organization, Then};
use crate::auth::policy::{SubtreeThen, Visible};
use crate::graphql::loaders::{
    ChildrenAt, MemberCountThen, MembersPageThen, OrganizationId, VersionAt, loader_error,
};
use crate::graphql::{caller, loaders};
use crate::page::{Page, PageOf};

/// The organization's version valid at `at`: the one it is seen at, if
/// that is the instant, else through the loader.
async fn version_at(
    ctx: &Context<'_>,
    organization_id: i64,
    seen: Option<&Then>,
    at: DateTime<Utc>,
) -> async_graphql::Result<Option<version::Model>> {
    if let Some(then) = seen.filter(|then| then.at == at) {
        return Ok(Some(then.version.clone()));
    }
    loaders(ctx)?
        .load_one(VersionAt {
            organization_id,
            at,
        })
        .await
        .map_err(loader_error)
}

/// Organizations by id as they stood at `at`, those the caller sees now
/// and that stood then.
async fn load_then(
    ctx: &Context<'_>,
    ids: &[i64],
    at: DateTime<Utc>,
) -> async_graphql::Result<Vec<(Visible<organization::Model>, version::Model)>> {
    let principal = &caller(ctx)?.principal;
    let loaders = loaders(ctx)?;
    let (now, then) = tokio::join!(
        loaders.load_many(ids.iter().copied().map(OrganizationId)),
        loaders.load_many(ids.iter().map(|&organization_id| VersionAt {
            organization_id,
            at,
        })),
    );
    let (mut now, mut then) = (now.map_err(loader_error)?, then.map_err(loader_error)?);
    Ok(ids
        .iter()
        .filter_map(|&id| {
            let version = then.remove(&VersionAt {
                organization_id: id,
                at,
            })?;
            let org = principal.organization(now.remove(&OrganizationId(id))?)?;
            Some((org, version))
        })
        .collect())
}

/// `parent(asOf:)`: the parent the organization had at `at`.
pub(super) async fn parent_then(
    ctx: &Context<'_>,
    organization_id: i64,
    seen: Option<&Then>,
    at: DateTime<Utc>,
) -> async_graphql::Result<Option<Organization>> {
    let Some(parent_id) = version_at(ctx, organization_id, seen, at)
        .await?
        .and_then(|version| version.parent_id)
    else {
        return Ok(None);
    };
    Ok(load_then(ctx, &[parent_id], at)
        .await?
        .pop()
        .map(|then| Organization::in_scope_then(then, at)))
}

/// `ancestors(asOf:)`: root first, as the path stood at `at`.
pub(super) async fn ancestors_then(
    ctx: &Context<'_>,
    organization_id: i64,
    seen: Option<&Then>,
    at: DateTime<Utc>,
) -> async_graphql::Result<Vec<Organization>> {
    let Some(version) = version_at(ctx, organization_id, seen, at).await? else {
        return Ok(Vec::new());
    };
    let mut ids = crate::tree::path_ids(&version.path);
    ids.pop();
    let mut found = load_then(ctx, &ids, at).await?;
    found.sort_by_key(|(_, then)| then.depth);
    Ok(found
        .into_iter()
        .map(|then| Organization::in_scope_then(then, at))
        .collect())
}

/// `children(asOf:)`: the children at `at` the caller sees now, id order.
pub(super) async fn children_then(
    ctx: &Context<'_>,
    parent_id: i64,
    status: Option<OrganizationStatus>,
    at: DateTime<Utc>,
) -> async_graphql::Result<Vec<(Visible<organization::Model>, version::Model)>> {
    let principal = &caller(ctx)?.principal;
    let found = loaders(ctx)?
        .load_one(ChildrenAt {
            parent_id,
            at,
            status,
        })
        .await
        .map_err(loader_error)?
        .unwrap_or_default();
    Ok(found
        .into_iter()
        .filter_map(|(then, now)| Some((principal.organization(now)?, then)))
        .collect())
}

/// `members(includeDescendants: true, asOf:)`: one page of the memberships
/// open at `at` in the subtree as it stood then.
pub(super) async fn members_then(
    ctx: &Context<'_>,
    organization_id: i64,
    kind: Option<MembershipKind>,
    at: DateTime<Utc>,
    page: Page,
) -> async_graphql::Result<PageOf<Visible<membership::Model>>> {
    let subtree = SubtreeThen::of_scope(&caller(ctx)?.principal, at);
    let found = loaders(ctx)?
        .load_one(MembersPageThen {
            organization_id,
            subtree: subtree.clone(),
            kind,
            page,
        })
        .await
        .map_err(loader_error)?
        .unwrap_or_else(PageOf::empty);
    Ok(found.map(|m| subtree.found_membership(m)))
}

/// `memberCount(includeDescendants: true, asOf:)`.
pub(super) async fn member_count_then(
    ctx: &Context<'_>,
    organization_id: i64,
    at: DateTime<Utc>,
) -> async_graphql::Result<i32> {
    let subtree = SubtreeThen::of_scope(&caller(ctx)?.principal, at);
    let count = loaders(ctx)?
        .load_one(MemberCountThen {
            organization_id,
            subtree,
        })
        .await
        .map_err(loader_error)?
        .unwrap_or(0);
    Ok(i32::try_from(count).unwrap_or(i32::MAX))
}
