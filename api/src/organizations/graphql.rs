//! GraphQL for organizations: the `Organization` type, its enums, the
//! `organization` lookup, the `organizations` list and `createOrganization`.
//! Thin: each resolver calls the service or a loader and applies the scope.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::organization;

use super::create::{CreateOrganization, create};
use super::rename_and_move::{move_to, rename};
use super::service::{self, Lookup, OrganizationFilter};
use crate::auth::policy::{Sealed, Subtree, Visible};
use crate::error::AppError;
use crate::graphql::loaders::{Children, OrganizationId, loader_error};
use crate::graphql::pagination::{connection, connection_type, page_arg};
use crate::graphql::scalars::Instant;
use crate::graphql::{caller, db, loaders, parse_id};
use crate::members::graphql::{Membership, MembershipConnection};
use crate::memberships::read::{Along, MembershipFilter};
use crate::page::PageOf;

const LIST: &str = "organization";

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::OrganizationKind")]
pub enum OrganizationKind {
    ProvincialCommittee,
    DistrictCommittee,
    /// Commune, town or agency party committee (Đảng bộ cơ sở).
    GrassrootsCommittee,
    /// Party cell (chi bộ): the only kind that members are active in.
    Cell,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::CellType")]
pub enum CellType {
    /// Village or residential-group cell (chi bộ nơi cư trú).
    Residential,
    /// Commune agency cell (chi bộ cơ quan).
    Agency,
    /// Commune military cell (chi bộ quân sự).
    Military,
    Police,
    School,
    Enterprise,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::OrganizationStatus")]
pub enum OrganizationStatus {
    Active,
    Dissolved,
    /// Ended by `mergeOrganizations`: `successor` took over.
    Merged,
    /// Ended by `splitOrganization`: `successors` took over.
    Split,
}

/// A committee or a cell of the party tree, as the caller may see it: in
/// full inside the caller's scope; reached only as the far end of a visible
/// transfer (outside the scope), who it is and nothing under, above or
/// inside it. Built only through the access policy.
pub struct Organization(Sight, Option<Then>);

/// The organization as it stood at an instant: the instant asked, and the
/// version valid then (name, status and place in the tree then).
pub(super) struct Then {
    pub(super) at: DateTime<Utc>,
    pub(super) version: entity::organization_version::Model,
}

enum Sight {
    Full(Visible<organization::Model>),
    Identity(Identity),
}

/// What anyone who sees an event may know of its other end.
struct Identity {
    id: i64,
    code: String,
    name: String,
    kind: entity::enums::OrganizationKind,
    cell_type: Option<entity::enums::CellType>,
    status: entity::enums::OrganizationStatus,
}

impl Organization {
    /// An organization the policy let the caller see.
    pub fn in_scope(org: Visible<organization::Model>) -> Self {
        Self(Sight::Full(org), None)
    }

    /// An organization the policy let the caller see, as it stood at `at`
    /// (`version` is the one valid then): its fields answer about then,
    /// and nested reads default to then.
    pub fn in_scope_then((org, version): super::as_of::Then, at: DateTime<Utc>) -> Self {
        debug_assert_eq!(org.id, version.organization_id);
        Self(Sight::Full(org), Some(Then { at, version }))
    }

    /// The instant nested reads are about: the one asked, else the one this
    /// organization is seen at; `None` for now.
    fn instant(&self, as_of: Option<Instant>) -> Option<DateTime<Utc>> {
        as_of
            .map(|at| crate::clock::truncate(at.into()))
            .or(self.1.as_ref().map(|then| then.at))
    }

    /// An organization as this caller may see it: in full inside the scope,
    /// its identity only outside it.
    pub fn seen_by(principal: &crate::auth::Principal, model: organization::Model) -> Self {
        match principal.seal_organization(model) {
            Sealed::Seen(visible) => Self(Sight::Full(visible), None),
            Sealed::Unseen(outside) => Self(
                Sight::Identity(Identity {
                    status: outside.shown_status(),
                    id: outside.id,
                    code: outside.code,
                    name: outside.name,
                    kind: outside.kind,
                    cell_type: outside.cell_type,
                }),
                None,
            ),
        }
    }

    /// The whole record, inside the caller's scope only.
    fn full(&self) -> Option<&Visible<organization::Model>> {
        match &self.0 {
            Sight::Full(org) => Some(org),
            Sight::Identity(_) => None,
        }
    }

    /// Who it is, whichever way the caller sees it.
    fn identity(&self) -> IdentityRef<'_> {
        match &self.0 {
            Sight::Full(org) => IdentityRef {
                id: org.id,
                code: &org.code,
                name: &org.name,
                kind: org.kind,
                cell_type: org.cell_type,
                status: org.shown_status(),
            },
            Sight::Identity(identity) => IdentityRef {
                id: identity.id,
                code: &identity.code,
                name: &identity.name,
                kind: identity.kind,
                cell_type: identity.cell_type,
                status: identity.status,
            },
        }
    }
}

impl Organization {
    /// Successors or predecessors in id order; identity only outside the scope.
    async fn succession(
        &self,
        ctx: &Context<'_>,
        predecessors: bool,
    ) -> async_graphql::Result<Vec<Organization>> {
        let Some(org) = self.full() else {
            return Ok(Vec::new());
        };
        let ids = loaders(ctx)?
            .load_one(crate::graphql::loaders::Succession {
                organization_id: org.id,
                predecessors,
            })
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        // Outside the caller's scope an organization that took over (or ended
        // into this one) shows who it is and nothing inside it, like the far
        // end of an event: a consumer holding an old code finds the new one.
        let mut found = Vec::new();
        for id in ids {
            if let Some(seen) = load_endpoint(ctx, id).await? {
                found.push(seen);
            }
        }
        Ok(found)
    }
}

/// `Identity`, borrowed from whichever record the caller sees.
struct IdentityRef<'a> {
    id: i64,
    code: &'a str,
    name: &'a str,
    kind: entity::enums::OrganizationKind,
    cell_type: Option<entity::enums::CellType>,
    status: entity::enums::OrganizationStatus,
}

connection_type!(OrganizationConnection, OrganizationEdge, Organization);

/// An organization by id through the request's loader, if the caller may see it.
pub async fn load_visible(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<Organization>> {
    let caller = caller(ctx)?;
    let found = loaders(ctx)?
        .load_one(OrganizationId(id))
        .await
        .map_err(loader_error)?;
    Ok(found
        .and_then(|org| caller.principal.organization(org))
        .map(Organization::in_scope))
}

/// An organization named by a visible membership or event, through the
/// request's loader: shown even outside the caller's scope, but then only
/// who it is (`Organization::seen_by`).
pub async fn load_endpoint(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<Organization>> {
    let caller = caller(ctx)?;
    let found = loaders(ctx)?
        .load_one(OrganizationId(id))
        .await
        .map_err(loader_error)?;
    Ok(found.map(|org| Organization::seen_by(&caller.principal, org)))
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.identity().id.to_string())
    }

    /// Stable code shared with other agencies' systems, e.g. SL.BL.TT.
    async fn code(&self) -> &str {
        self.identity().code
    }

    /// The name now, or as it was at the instant the organization is seen at.
    async fn name(&self) -> &str {
        match &self.1 {
            Some(then) => &then.version.name,
            None => self.identity().name,
        }
    }

    async fn kind(&self) -> OrganizationKind {
        self.identity().kind.into()
    }

    /// Set for cells only.
    async fn cell_type(&self) -> Option<CellType> {
        self.identity().cell_type.map(Into::into)
    }

    /// The status now, or as it was at the instant the organization is seen at.
    async fn status(&self) -> OrganizationStatus {
        match &self.1 {
            Some(then) => then.version.status.into(),
            None => self.identity().status.into(),
        }
    }

    /// Null at the root, and above the caller's scope. With asOf (or on an
    /// organization seen as of an instant): the parent it had then.
    async fn parent(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
    ) -> async_graphql::Result<Option<Organization>> {
        let Some(org) = self.full() else {
            return Ok(None);
        };
        if let Some(at) = self.instant(as_of) {
            return super::graphql_as_of::parent_then(ctx, org.id, self.1.as_ref(), at).await;
        }
        match org.parent_id {
            Some(parent_id) => load_visible(ctx, parent_id).await,
            None => Ok(None),
        }
    }

    /// From the root down to the parent, as far as the caller's scope reaches
    /// (empty for an organization outside it). With asOf (or on an
    /// organization seen as of an instant): its ancestors then.
    async fn ancestors(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
    ) -> async_graphql::Result<Vec<Organization>> {
        let Some(org) = self.full() else {
            return Ok(Vec::new());
        };
        if let Some(at) = self.instant(as_of) {
            return super::graphql_as_of::ancestors_then(ctx, org.id, self.1.as_ref(), at).await;
        }
        let caller = caller(ctx)?;
        let mut ids = service::path_ids(&org.path);
        ids.pop();
        let found = loaders(ctx)?
            .load_many(ids.into_iter().map(OrganizationId))
            .await
            .map_err(loader_error)?;
        let mut ancestors: Vec<Visible<organization::Model>> = found
            .into_values()
            .filter_map(|org| caller.principal.organization(org))
            .collect();
        ancestors.sort_by_key(|org| org.depth);
        Ok(ancestors.into_iter().map(Organization::in_scope).collect())
    }

    /// Direct children in id order; empty outside the caller's scope. With
    /// asOf (or on an organization seen as of an instant): its children
    /// then, with `status` as it was then.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        status: Option<OrganizationStatus>,
        as_of: Option<Instant>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let page = page_arg(LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let Some(org) = self.full() else {
            return Ok(connection(
                LIST,
                PageOf::empty(),
                page.after,
                |o: &Visible<organization::Model>| o.id,
                Organization::in_scope,
            ));
        };
        if let Some(at) = self.instant(as_of) {
            let children =
                super::graphql_as_of::children_then(ctx, org.id, status.map(Into::into), at)
                    .await?;
            return Ok(connection(
                LIST,
                PageOf::slice(children, page, |(o, _)| o.id),
                page.after,
                |(o, _)| o.id,
                |then| Organization::in_scope_then(then, at),
            ));
        }
        let principal = &caller(ctx)?.principal;
        // memberCount of each child, as of now, comes in the same statement.
        let now = crate::graphql::as_of(ctx, None);
        let counted = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("memberCount")
            .exists();
        let key = Children {
            parent_id: org.id,
            status: status.map(Into::into),
            counted_at: counted.then_some(now),
        };
        let loaders = loaders(ctx)?;
        let all = loaders
            .load_one(key)
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let counts = all.iter().filter_map(|(child, count)| {
            let key = crate::graphql::loaders::MemberCount {
                organization_id: child.id,
                as_of: now,
                include_descendants: false,
            };
            count.map(|count| (key, count))
        });
        loaders.feed_many(counts).await;
        let all: Vec<organization::Model> = all.into_iter().map(|(child, _)| child).collect();
        // Children of an organization in scope are in scope; the seal says so.
        let visible = all
            .into_iter()
            .filter_map(|child| principal.organization(child))
            .collect();
        Ok(connection(
            LIST,
            PageOf::slice(visible, page, |o| o.id),
            page.after,
            |o| o.id,
            Organization::in_scope,
        ))
    }

    /// Memberships open at asOf (default: now, or the instant the
    /// organization is seen at); with includeDescendants, in the whole
    /// subtree (with an instant: the subtree as it stood then, as far as the
    /// caller's scope reaches today). Empty for an organization outside the
    /// caller's scope.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
        #[graphql(default_with = "Some(false)")] include_descendants: Option<bool>,
        kind: Option<crate::members::graphql::MembershipKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MembershipConnection> {
        let page = page_arg(
            crate::members::graphql::MEMBERSHIP_LIST,
            first,
            after.as_deref(),
        )
        .map_err(|e| e.extend())?;
        let then = self.instant(as_of);
        if let (Some(org), Some(at), Some(true)) = (self.full(), then, include_descendants) {
            let found =
                super::graphql_as_of::members_then(ctx, org.id, kind.map(Into::into), at, page)
                    .await?;
            return Ok(connection(
                crate::members::graphql::MEMBERSHIP_LIST,
                found,
                page.after,
                |m| m.id,
                Membership::new,
            ));
        }
        let as_of = then.map(Instant).or(as_of);
        let found = if let Some(org) = self.full() {
            // What the query reads of the page decides what the statement brings.
            let look = ctx.look_ahead();
            let along = Along {
                total: look.field("totalCount").exists(),
                members: look.field("edges").field("node").field("member").exists(),
            };
            // Through the loader: a list of organizations pages all their members at once.
            let key = crate::graphql::loaders::MembersPage {
                organization: crate::graphql::loaders::OrganizationId(org.id),
                filter: MembershipFilter {
                    as_of: crate::graphql::as_of(ctx, as_of),
                    include_descendants: include_descendants.unwrap_or(false),
                    kind: kind.map(Into::into),
                },
                page,
                along,
            };
            let loaders = loaders(ctx)?;
            let found = loaders
                .load_one(key)
                .await
                .map_err(crate::graphql::loaders::loader_error)?
                .unwrap_or_else(PageOf::empty);
            prime_members(loaders, org, &found.items).await;
            found.map(|listed| listed.membership)
        } else {
            PageOf::empty()
        };
        // Found by a query restricted to this organization's subtree.
        let subtree = self.full().map(Subtree::under);
        let found = found.filter_map(|m| subtree.as_ref().map(|s| s.found_membership(m)));
        Ok(connection(
            crate::members::graphql::MEMBERSHIP_LIST,
            found,
            page.after,
            |m| m.id,
            Membership::new,
        ))
    }

    /// OFFICIAL memberships open at asOf (default: now, or the instant the
    /// organization is seen at); with includeDescendants, in the whole
    /// subtree (with an instant: the subtree as it stood then, as far as the
    /// caller's scope reaches today). 0 for an organization outside the
    /// caller's scope.
    async fn member_count(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
        #[graphql(default_with = "Some(false)")] include_descendants: Option<bool>,
    ) -> async_graphql::Result<i32> {
        let Some(org) = self.full() else {
            return Ok(0);
        };
        let then = self.instant(as_of);
        if let (Some(at), Some(true)) = (then, include_descendants) {
            return super::graphql_as_of::member_count_then(ctx, org.id, at).await;
        }
        let as_of = then.map(Instant).or(as_of);
        // Through the loader: a page of organizations counts in one statement.
        let key = crate::graphql::loaders::MemberCount {
            organization_id: org.id,
            as_of: crate::graphql::as_of(ctx, as_of),
            include_descendants: include_descendants.unwrap_or(false),
        };
        let count = loaders(ctx)?
            .load_one(key)
            .await
            .map_err(crate::graphql::loaders::loader_error)?
            .unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// The organization this one merged into (MERGED); null otherwise, and
    /// outside the caller's scope.
    async fn successor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        if self
            .full()
            .is_none_or(|org| org.ended_as != Some(entity::enums::OrganizationStatus::Merged))
        {
            return Ok(None);
        }
        Ok(self.succession(ctx, false).await?.into_iter().next())
    }

    /// The organizations that took over when this one ended by a merge or a
    /// split, in id order; outside the caller's scope, who they are only.
    async fn successors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organization>> {
        self.succession(ctx, false).await
    }

    /// The organizations that ended into this one by a merge or a split, in
    /// id order; outside the caller's scope, who they are only.
    async fn predecessors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organization>> {
        self.succession(ctx, true).await
    }

    /// Null outside the caller's scope.
    async fn established_at(&self) -> Option<Instant> {
        self.full().and_then(|org| org.established_at).map(Instant)
    }

    /// Null outside the caller's scope.
    async fn dissolved_at(&self) -> Option<Instant> {
        self.full().and_then(|org| org.dissolved_at).map(Instant)
    }

    /// Null outside the caller's scope.
    async fn dissolution_decision(&self) -> Option<&str> {
        self.full()
            .and_then(|org| org.dissolution_decision.as_deref())
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    code: String,
    name: String,
    kind: OrganizationKind,
    cell_type: Option<CellType>,
    parent_code: Option<String>,
    established_at: Option<Instant>,
}

/// Hands what a page of memberships read along to the request's loaders,
/// so that `member` and the member's visibility read nothing more: the
/// members, the organization itself, and each open OFFICIAL membership as
/// its member's latest (an open one is the latest).
async fn prime_members(
    loaders: &crate::graphql::loaders::Loaders,
    org: &organization::Model,
    listed: &[crate::memberships::read::Listed],
) {
    use crate::graphql::loaders::{LatestOfficial, MemberId};
    if listed.iter().all(|l| l.member.is_none()) {
        return;
    }
    loaders.feed_one(OrganizationId(org.id), org.clone()).await;
    loaders
        .feed_many(
            listed
                .iter()
                .filter_map(|l| l.member.clone().map(|m| (MemberId(m.id), m))),
        )
        .await;
    loaders
        .feed_many(
            listed
                .iter()
                .filter(|l| {
                    l.membership.kind == entity::enums::MembershipKind::Official
                        && l.membership.ended_at.is_none()
                })
                .map(|l| (LatestOfficial(l.membership.member_id), l.membership.clone())),
        )
        .await;
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// One organization by id or code; null if absent or outside the caller's
    /// scope. With asOf: as it stood then (its name, status, parent and
    /// children then, and nested reads default to then), also when it has
    /// ended since; null if it was not yet established then.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
        as_of: Option<Instant>,
    ) -> async_graphql::Result<Option<Organization>> {
        let lookup = match (id, code) {
            (Some(id), None) => match parse_id(&id) {
                Some(id) => Lookup::Id(id),
                None => return Ok(None),
            },
            (None, Some(code)) => Lookup::Code(code),
            _ => {
                return Err(
                    AppError::BadInput("give exactly one of id or code".to_owned()).extend(),
                );
            }
        };
        if let Some(at) = as_of.map(|at| crate::clock::truncate(at.into())) {
            let found = super::as_of::find_at(db(ctx)?, caller(ctx)?, lookup, at)
                .await
                .map_err(|e| e.extend())?;
            return Ok(found.map(|then| Organization::in_scope_then(then, at)));
        }
        let found = service::find(db(ctx)?, caller(ctx)?, lookup)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Organization::in_scope))
    }

    /// Organizations in the caller's scope (or the subtree `within`, itself
    /// included), in id order. With asOf: the organizations that stood then
    /// (in `within`'s subtree as it stood then), as they were then, as far as
    /// the caller's scope reaches today; `status` and `nameContains` match
    /// them as they were then.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        kind: Option<OrganizationKind>,
        cell_type: Option<CellType>,
        status: Option<OrganizationStatus>,
        name_contains: Option<String>,
        as_of: Option<Instant>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let page = page_arg(LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let filter = OrganizationFilter {
            within,
            kind: kind.map(Into::into),
            cell_type: cell_type.map(Into::into),
            status: status.map(Into::into),
            name_contains,
        };
        if let Some(at) = as_of.map(|at| crate::clock::truncate(at.into())) {
            let found = super::as_of::list(db(ctx)?, caller(ctx)?, filter, at, page)
                .await
                .map_err(|e| e.extend())?;
            return Ok(connection(
                LIST,
                found,
                page.after,
                |(o, _)| o.id,
                |then| Organization::in_scope_then(then, at),
            ));
        }
        let found = service::list(db(ctx)?, caller(ctx)?, filter, page)
            .await
            .map_err(|e| e.extend())?;
        Ok(connection(
            LIST,
            found,
            page.after,
            |o| o.id,
            Organization::in_scope,
        ))
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates a committee or a cell under a parent in the caller's scope.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let input = CreateOrganization {
            code: input.code,
            name: input.name,
            kind: input.kind.into(),
            cell_type: input.cell_type.map(Into::into),
            parent_code: input.parent_code,
            established_at: input
                .established_at
                .map(|at| crate::clock::truncate(at.into())),
        };
        let created = create(db(ctx)?, caller(ctx)?, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Organization::seen_by(&caller(ctx)?.principal, created))
    }

    /// Gives an organization a new display name; its code never changes.
    async fn rename_organization(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
    ) -> async_graphql::Result<Organization> {
        let renamed = rename(db(ctx)?, caller(ctx)?, code, name)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Organization::seen_by(&caller(ctx)?.principal, renamed))
    }

    /// Re-parents an organization with its whole subtree (e.g. a commune
    /// committee into the district it merged into). Scopes and subtree
    /// queries follow at once.
    async fn move_organization(
        &self,
        ctx: &Context<'_>,
        code: String,
        new_parent_code: String,
    ) -> async_graphql::Result<Organization> {
        let moved = move_to(db(ctx)?, caller(ctx)?, code, new_parent_code)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Organization::seen_by(&caller(ctx)?.principal, moved))
    }
}
