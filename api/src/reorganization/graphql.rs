//! GraphQL for reorganization: `dissolveOrganization`, `mergeOrganizations`,
//! `splitOrganization`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};

use super::dissolution::{Destination, Dissolve, Routing};
use super::dissolve::dissolve;
use super::merge::Merge;
use super::split::{Split, SplitPart};
use crate::auth::policy::written_by_caller;
use crate::graphql::scalars::Instant;
use crate::graphql::{caller, db, parse_id};
use crate::members::lookup::MemberRef;
use crate::organizations::graphql::Organization;
use crate::transfers::graphql::TransferEvent;

#[derive(Default)]
pub struct ReorganizationMutation;

#[Object]
impl ReorganizationMutation {
    /// Atomic: either the organization is dissolved and every active member moved, or nothing changes.
    async fn dissolve_organization(
        &self,
        ctx: &Context<'_>,
        input: DissolveInput,
    ) -> async_graphql::Result<DissolutionResult> {
        let input = Dissolve {
            organization_code: input.organization_code,
            decision_ref: input.decision_ref,
            effective_at: input
                .effective_at
                .map(|at| crate::clock::truncate(at.into())),
            destinations: input
                .transfers
                .unwrap_or_default()
                .into_iter()
                .map(|d| Destination {
                    member: MemberRef::one_of(
                        d.member_id.as_ref().map(|id| parse_id(id).unwrap_or(0)),
                        d.member_national_id,
                    ),
                    to_code: d.to_organization_code,
                })
                .collect(),
            routing: match input.routing.unwrap_or(DissolutionRouting::Explicit) {
                DissolutionRouting::Explicit => Routing::Explicit,
                DissolutionRouting::ByResidence => Routing::ByResidence,
            },
        };
        let caller = caller(ctx)?;
        let done = dissolve(db(ctx)?, caller, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        let moved: Vec<i64> = done.transfers.iter().map(|e| e.member_id).collect();
        let held = crate::holds::service::held_among(db(ctx)?, &moved)
            .await
            .map_err(|e| e.extend())?;
        Ok(DissolutionResult {
            moved_under_hold: held.into_iter().map(|id| ID(id.to_string())).collect(),
            organization: Organization::seen_by(&caller.principal, done.organization),
            transfers: done
                .transfers
                .into_iter()
                .map(|event| TransferEvent::new(written_by_caller(event)))
                .collect(),
        })
    }

    /// Ends several committees (or cells) and founds one new organization at
    /// the same instant, under one decision: every ACTIVE child of the
    /// sources moves under it, every official member of merged cells into
    /// it, and the sources end as MERGED with it as their successor. Atomic:
    /// refused whole with every fault listed, nothing changed.
    async fn merge_organizations(
        &self,
        ctx: &Context<'_>,
        input: MergeOrganizationsInput,
    ) -> async_graphql::Result<MergeResult> {
        let input = Merge {
            source_codes: input.source_codes,
            code: input.code,
            name: input.name,
            parent_code: input.parent_code,
            cell_type: input.cell_type.map(Into::into),
            decision_ref: input.decision_ref,
            effective_at: input
                .effective_at
                .map(|at| crate::clock::truncate(at.into())),
        };
        let caller = caller(ctx)?;
        let done = crate::unit_of_work::run(db(ctx)?, caller, &input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(MergeResult {
            organization: Organization::seen_by(&caller.principal, done.organization),
            sources: done
                .sources
                .into_iter()
                .map(|org| Organization::seen_by(&caller.principal, org))
                .collect(),
            transfers: done
                .transfers
                .into_iter()
                .map(|event| TransferEvent::new(written_by_caller(event)))
                .collect(),
        })
    }

    /// Ends one committee (or cell) and founds several new ones at the same
    /// instant, under one decision: each ACTIVE child (or official member)
    /// goes to the part it is assigned to; the source ends as SPLIT with the
    /// parts as its successors. Atomic: refused whole, nothing changed.
    async fn split_organization(
        &self,
        ctx: &Context<'_>,
        input: SplitOrganizationInput,
    ) -> async_graphql::Result<SplitResult> {
        let input = Split {
            code: input.code,
            decision_ref: input.decision_ref,
            effective_at: input
                .effective_at
                .map(|at| crate::clock::truncate(at.into())),
            parts: input
                .parts
                .into_iter()
                .map(|part| SplitPart {
                    code: part.code,
                    name: part.name,
                    parent_code: part.parent_code,
                    cell_type: part.cell_type.map(Into::into),
                    child_codes: part.child_codes.unwrap_or_default(),
                    // An id that cannot be one names no member: a fault.
                    member_ids: part
                        .member_ids
                        .unwrap_or_default()
                        .iter()
                        .map(|id| parse_id(id).unwrap_or(0))
                        .collect(),
                })
                .collect(),
        };
        let caller = caller(ctx)?;
        let done = crate::unit_of_work::run(db(ctx)?, caller, &input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(SplitResult {
            organization: Organization::seen_by(&caller.principal, done.organization),
            parts: done
                .parts
                .into_iter()
                .map(|org| Organization::seen_by(&caller.principal, org))
                .collect(),
            transfers: done
                .transfers
                .into_iter()
                .map(|event| TransferEvent::new(written_by_caller(event)))
                .collect(),
        })
    }
}

#[derive(InputObject)]
pub struct MergeOrganizationsInput {
    /// The committees (or cells) that end, all of one kind.
    source_codes: Vec<String>,
    /// The new organization's code, name and parent.
    code: String,
    name: String,
    parent_code: String,
    /// For merged cells of different types; else the sources' type.
    cell_type: Option<crate::organizations::graphql::CellType>,
    decision_ref: String,
    /// When the sources end and the new one is established (default now).
    effective_at: Option<Instant>,
}

#[derive(async_graphql::SimpleObject)]
pub struct MergeResult {
    /// The new organization, established at effectiveAt.
    organization: Organization,
    /// The sources, now MERGED.
    sources: Vec<Organization>,
    /// One DISSOLUTION event per membership moved or ended, by member.
    transfers: Vec<TransferEvent>,
}

#[derive(InputObject)]
pub struct SplitPartInput {
    /// The new organization's code and name.
    code: String,
    name: String,
    /// Default: the source's parent.
    parent_code: Option<String>,
    /// For cells; default: the source's type.
    cell_type: Option<crate::organizations::graphql::CellType>,
    /// A committee's ACTIVE children that go to this part.
    child_codes: Option<Vec<String>>,
    /// A cell's official members that go to this part.
    member_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct SplitOrganizationInput {
    /// The committee (or cell) that ends.
    code: String,
    decision_ref: String,
    /// When it ends and the parts are established (default now).
    effective_at: Option<Instant>,
    /// The new organizations; every ACTIVE child (or official member) of
    /// the source goes to exactly one of them.
    parts: Vec<SplitPartInput>,
}

#[derive(async_graphql::SimpleObject)]
pub struct SplitResult {
    /// The source, now SPLIT.
    organization: Organization,
    /// The new organizations, established at effectiveAt.
    parts: Vec<Organization>,
    /// One DISSOLUTION event per membership moved or ended, by member.
    transfers: Vec<TransferEvent>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DissolutionRouting {
    /// Every active member must be given a destination in transfers.
    Explicit,
    /// Members without a destination in transfers go to their residence cell.
    ByResidence,
}

#[derive(InputObject)]
pub struct MemberDestination {
    member_id: Option<ID>,
    member_national_id: Option<String>,
    to_organization_code: String,
}

#[derive(InputObject)]
pub struct DissolveInput {
    organization_code: String,
    decision_ref: String,
    effective_at: Option<Instant>,
    /// Destinations of the cell's official members. Temporary activity in
    /// the cell simply ends.
    transfers: Option<Vec<MemberDestination>>,
    #[graphql(default_with = "Some(DissolutionRouting::Explicit)")]
    routing: Option<DissolutionRouting>,
}

#[derive(async_graphql::SimpleObject)]
pub struct DissolutionResult {
    organization: Organization,
    /// One DISSOLUTION event per membership moved or ended, by member.
    transfers: Vec<TransferEvent>,
    /// Members moved although under a hold: the organization's decision,
    /// not the member's, so a hold does not stop a dissolution. Their holds stay open.
    moved_under_hold: Vec<ID>,
}
