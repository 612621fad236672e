//! GraphQL for transfer events: the `TransferEvent` type and the ordered
//! change feed `transferEvents`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, Object};
use chrono::{DateTime, Utc};
use entity::transfer_event;

use super::service;
use crate::error::AppError;
use crate::graphql::loaders::{MemberId, OrganizationId, loader_error};
use crate::graphql::pagination::{TransferEventConnection, connection, page_arg};
use crate::graphql::{caller, db, loaders};
use crate::members::graphql::{Member, MembershipKind};
use crate::members::service::MemberView;
use crate::organizations::graphql::Organization;

/// Cursors of event lists encode the feed sequence.
pub const EVENT_LIST: &str = "event";

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::TransferReason")]
pub enum TransferReason {
    /// A member's first event: admission into a cell.
    Admission,
    Relocation,
    Reassignment,
    /// The source organization was dissolved.
    Dissolution,
    /// Return from temporary activity.
    Return,
    Other,
}

/// One applied change of a member's cell, in the ordered change feed.
pub struct TransferEvent(pub transfer_event::Model);

impl TransferEvent {
    async fn endpoint(
        &self,
        ctx: &Context<'_>,
        id: i64,
    ) -> async_graphql::Result<Option<Organization>> {
        let caller = caller(ctx)?;
        let found = loaders(ctx)?
            .load_one(OrganizationId(id))
            .await
            .map_err(loader_error)?;
        Ok(found.map(|org| Organization::endpoint(org, caller)))
    }
}

#[Object]
impl TransferEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The submitter's idempotency key.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    /// Position in the registry's ordered change feed; strictly increasing.
    async fn sequence(&self) -> async_graphql::Result<i32> {
        i32::try_from(self.0.sequence)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("sequence beyond Int")).extend())
    }

    /// The member moved (masked as the caller's role requires).
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        let caller = caller(ctx)?;
        let found = loaders(ctx)?
            .load_one(MemberId(self.0.member_id))
            .await
            .map_err(loader_error)?;
        found
            .map(|m| Member(MemberView::new(m, caller)))
            .ok_or_else(|| AppError::NotFound("member").extend())
    }

    /// Null for a first admission.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        match self.0.from_organization_id {
            Some(id) => self.endpoint(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        self.endpoint(ctx, self.0.to_organization_id)
            .await?
            .ok_or_else(|| AppError::NotFound("organization").extend())
    }

    async fn kind(&self) -> MembershipKind {
        self.0.kind.into()
    }

    async fn reason(&self) -> TransferReason {
        self.0.reason.into()
    }

    async fn decision_ref(&self) -> Option<&str> {
        self.0.decision_ref.as_deref()
    }

    async fn effective_at(&self) -> DateTime<Utc> {
        self.0.effective_at
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }

    /// The submitting token's subject.
    async fn submitted_by(&self) -> &str {
        &self.0.submitter
    }
}

#[derive(Default)]
pub struct TransferQuery;

#[Object]
impl TransferQuery {
    /// The ordered change feed: every applied event the caller may see, by sequence.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn transfer_events(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        after: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<TransferEventConnection> {
        let page = page_arg(EVENT_LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let found = service::feed(db(ctx)?, caller(ctx)?, within.as_deref(), page)
            .await
            .map_err(|e| e.extend())?;
        Ok(connection(
            EVENT_LIST,
            found,
            page.after,
            |e| e.sequence,
            TransferEvent,
        ))
    }
}
