//! GraphQL for reorganization: `dissolveOrganization`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};

use super::dissolution::{Destination, Dissolve, Routing};
use super::dissolve::dissolve;
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
