//! GraphQL for holds: `placeHold`, `releaseHold` and `memberHolds`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};
use entity::member_hold;

use super::service::{self, PlaceHold, ReleaseHold};
use crate::auth::policy::Visible;
use crate::graphql::scalars::Instant;
use crate::graphql::{caller, db, parse_id};
use crate::members::graphql::{Member, load_visible_member};
use crate::members::lookup::MemberRef;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::HoldReason")]
pub enum HoldReason {
    /// Under inspection (đang bị kiểm tra).
    Inspection,
    /// A complaint is being settled (đang giải quyết khiếu nại).
    Complaint,
    /// Discipline proceedings.
    Discipline,
}

/// A hold keeping a member where they are: while open, no letter nor
/// transfer moves them (a dissolution still does).
pub struct Hold(Visible<member_hold::Model>);

#[Object]
impl Hold {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        load_visible_member(ctx, self.0.member_id).await
    }

    async fn reason(&self) -> HoldReason {
        self.0.reason.into()
    }

    async fn decision_ref(&self) -> &str {
        &self.0.decision_ref
    }

    async fn placed_at(&self) -> Instant {
        Instant(self.0.placed_at)
    }

    /// The placing token's subject.
    async fn placed_by(&self) -> &str {
        &self.0.placed_by
    }

    /// Null while the hold is open.
    async fn released_at(&self) -> Option<Instant> {
        self.0.released_at.map(Instant)
    }

    async fn released_by(&self) -> Option<&str> {
        self.0.released_by.as_deref()
    }

    async fn release_decision_ref(&self) -> Option<&str> {
        self.0.release_decision_ref.as_deref()
    }
}

#[derive(InputObject)]
pub struct PlaceHoldInput {
    member_id: Option<ID>,
    member_national_id: Option<String>,
    reason: HoldReason,
    /// The decision opening the inspection, complaint or discipline.
    decision_ref: String,
}

#[derive(InputObject)]
pub struct ReleaseHoldInput {
    hold_id: ID,
    /// The decision closing it, if any.
    decision_ref: Option<String>,
}

#[derive(Default)]
pub struct HoldQuery;

#[Object]
impl HoldQuery {
    /// A member's holds, oldest first: open ones, or all with
    /// includeReleased. Empty for a member outside the caller's scope.
    async fn member_holds(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        #[graphql(default = false)] include_released: bool,
    ) -> async_graphql::Result<Vec<Hold>> {
        let Some(member_id) = parse_id(&member_id) else {
            return Ok(Vec::new());
        };
        let holds = service::holds_seen(db(ctx)?, caller(ctx)?, member_id, include_released)
            .await
            .map_err(|e| e.extend())?;
        Ok(holds.into_iter().map(Hold).collect())
    }
}

#[derive(Default)]
pub struct HoldMutation;

#[Object]
impl HoldMutation {
    /// ORGANIZER: keeps a member where they are until released.
    async fn place_hold(
        &self,
        ctx: &Context<'_>,
        input: PlaceHoldInput,
    ) -> async_graphql::Result<Hold> {
        let member_id = input.member_id.map(|id| parse_id(&id).unwrap_or(0));
        let input = PlaceHold {
            member: MemberRef::one_of(member_id, input.member_national_id),
            reason: input.reason.into(),
            decision_ref: input.decision_ref,
        };
        let hold = service::place(db(ctx)?, caller(ctx)?, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Hold(hold))
    }

    /// ORGANIZER: ends a hold.
    async fn release_hold(
        &self,
        ctx: &Context<'_>,
        input: ReleaseHoldInput,
    ) -> async_graphql::Result<Hold> {
        let input = ReleaseHold {
            hold_id: parse_id(&input.hold_id).unwrap_or(0),
            decision_ref: input.decision_ref,
        };
        let hold = service::release(db(ctx)?, caller(ctx)?, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Hold(hold))
    }
}
