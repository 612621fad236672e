//! GraphQL for transfer events: the `TransferEvent` type and the ordered
//! change feed `transferEvents`.

use async_graphql::futures_util;
use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object, SimpleObject};
use entity::transfer_event;

use super::feed;
use super::service::{self, ItemOutcome, ItemResult, TransferRequest};
use crate::auth::policy::{Visible, written_by_caller};
use crate::error::AppError;
use crate::graphql::pagination::{connection, connection_type, page_arg};
use crate::graphql::scalars::Instant;
use crate::graphql::{caller, db};
use crate::members::graphql::{EventRecord, Member, MembershipKind, load_member_of_event};
use crate::members::lookup::MemberRef;
use crate::organizations::graphql::{Organization, load_endpoint};

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
    /// The member was removed (status REMOVED): the membership at `from`
    /// closes and none opens; `to` repeats `from`.
    Removal,
    /// The member died (status DECEASED): the membership at `from` closes
    /// and none opens; `to` repeats `from`.
    Death,
}

/// Which step of a move an event records.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::EventPhase")]
pub enum TransferPhase {
    /// A move done in one step: a transfer, an admission, a dissolution, a removal.
    Completed,
    /// An introduction letter was issued: the member left `from` for `to`
    /// (the receiving committee) and, for an OFFICIAL letter, is in transit.
    Departed,
    /// The letter was received: the member joined `to`.
    Arrived,
    /// The letter was cancelled: the member returned to `to`.
    Returned,
}

/// One applied change of a member's cell, in the ordered change feed.
pub struct TransferEvent(Visible<transfer_event::Model>);

connection_type!(TransferEventConnection, TransferEventEdge, TransferEvent);

impl TransferEvent {
    /// An event the policy let the caller see.
    pub fn new(event: Visible<transfer_event::Model>) -> Self {
        Self(event)
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

    /// The member moved (masked as the caller's role requires); if they have
    /// since left the caller's subtree, as this event recorded them.
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        load_member_of_event(ctx, self.0.member_id, EventRecord::Loaded(&self.0)).await
    }

    /// Null for a first admission.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        match self.0.from_organization_id {
            Some(id) => load_endpoint(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        load_endpoint(ctx, self.0.to_organization_id)
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

    async fn effective_at(&self) -> Instant {
        Instant(self.0.effective_at)
    }

    async fn recorded_at(&self) -> Instant {
        Instant(self.0.recorded_at)
    }

    /// The submitting token's subject.
    async fn submitted_by(&self) -> &str {
        &self.0.submitter
    }

    /// COMPLETED for a move in one step; a letter's steps are DEPARTED,
    /// then ARRIVED or RETURNED.
    async fn phase(&self) -> TransferPhase {
        self.0.phase.into()
    }

    /// The introduction letter this event is a step of.
    async fn letter_id(&self) -> Option<ID> {
        self.0.letter_id.map(|id| ID(id.to_string()))
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
        #[graphql(
            desc = "The events after this feed sequence (the last `sequence` a reader saw, e.g. from a dropped subscription), instead of a cursor: the same page `after` gives with that event's cursor. Not together with `after`."
        )]
        after_sequence: Option<i32>,
    ) -> async_graphql::Result<TransferEventConnection> {
        let mut page = page_arg(EVENT_LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        if let Some(sequence) = after_sequence {
            page.after = Some(start_after(sequence, after.is_some()).map_err(|e| e.extend())?);
        }
        let look = ctx.look_ahead();
        let node = look.field("edges").field("node");
        let ends = node.field("member").exists()
            || node.field("from").exists()
            || node.field("to").exists();
        let found = if ends && !look.field("totalCount").exists() {
            // Each event's member and organizations in the page's own statement.
            let rows = feed::feed_rows(db(ctx)?, caller(ctx)?, within.as_deref(), page)
                .await
                .map_err(|e| e.extend())?;
            prime_ends(ctx, &rows.items).await?;
            rows.map(|row| row.event)
        } else {
            let counted = look.field("totalCount").exists();
            feed::feed(db(ctx)?, caller(ctx)?, within.as_deref(), page, counted)
                .await
                .map_err(|e| e.extend())?
        };
        Ok(connection(
            EVENT_LIST,
            found,
            page.after,
            |e| e.sequence,
            TransferEvent,
        ))
    }
}

/// Hands the members and organizations read with a page of the feed to the
/// request's loaders: `member`, `from` and `to` then read nothing more.
async fn prime_ends(ctx: &Context<'_>, rows: &[feed::FeedRow]) -> async_graphql::Result<()> {
    use crate::graphql::loaders::{MemberId, OrganizationId};
    let loaders = crate::graphql::loaders(ctx)?;
    loaders
        .feed_many(
            rows.iter()
                .map(|row| (MemberId(row.member.id), row.member.clone())),
        )
        .await;
    let mut ends = Vec::with_capacity(rows.len() * 2);
    for row in rows {
        ends.push((OrganizationId(row.to.id), row.to.clone()));
        if let Some(from) = &row.from {
            ends.push((OrganizationId(from.id), from.clone()));
        }
    }
    loaders.feed_many(ends).await;
    Ok(())
}

/// The feed position an `afterSequence` argument names: 0 or more, and not
/// beside a cursor that names one too.
fn start_after(sequence: i32, with_cursor: bool) -> Result<i64, AppError> {
    if with_cursor {
        return Err(AppError::invalid(
            "afterSequence",
            "give either after (a cursor) or afterSequence, not both",
        ));
    }
    if sequence < 0 {
        return Err(AppError::invalid(
            "afterSequence",
            "must be a sequence number, 0 or more",
        ));
    }
    Ok(i64::from(sequence))
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TransferStatus {
    /// Applied now.
    Applied,
    /// Same externalId and same content as an event applied earlier: nothing changed, the earlier event is returned.
    Duplicate,
    /// Not applied; error says why. Nothing changed.
    Rejected,
}

/// Why an item was rejected.
#[derive(SimpleObject)]
pub struct ErrorInfo {
    /// Machine-readable: BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, CONFLICT, ...
    code: String,
    message: String,
    /// The input's field at fault, when one is (`effectiveAt`,
    /// `toOrganizationCode`, …), as `extensions.field` names it for a
    /// request refused whole.
    field: Option<String>,
    /// The item's position in `submitTransfers(inputs:)`, from 0; null for `submitTransfer`.
    index: Option<i32>,
}

/// The answer for one submitted transfer.
#[derive(SimpleObject)]
pub struct TransferResult {
    external_id: String,
    status: TransferStatus,
    event: Option<TransferEvent>,
    error: Option<ErrorInfo>,
}

impl TransferResult {
    /// The answer for one item; `index` is its position in a batch.
    fn new(index: Option<usize>, item: ItemResult) -> Self {
        let (status, event, error) = match item.outcome {
            ItemOutcome::Applied(event) => (TransferStatus::Applied, Some(event), None),
            ItemOutcome::Duplicate(event) => (TransferStatus::Duplicate, Some(event), None),
            ItemOutcome::Rejected(err) => (
                TransferStatus::Rejected,
                None,
                Some(ErrorInfo {
                    code: err.code().as_str().to_owned(),
                    message: err.to_string(),
                    field: err.field().map(str::to_owned),
                    // A batch holds at most MAX_BATCH (500) items.
                    index: index.and_then(|index| i32::try_from(index).ok()),
                }),
            ),
        };
        Self {
            external_id: item.external_id,
            status,
            // Writing it (or its first time) needed both ends in the caller's scope.
            event: event.map(|event| TransferEvent::new(written_by_caller(event))),
            error,
        }
    }
}

#[derive(InputObject)]
pub struct TransferInput {
    /// Idempotency key, unique per submitter: 1 to 128 of A-Z a-z 0-9 . _ : -
    external_id: String,
    member_id: Option<ID>,
    member_national_id: Option<String>,
    /// If given, must be where the member is now (an optimistic check).
    from_organization_code: Option<String>,
    to_organization_code: String,
    #[graphql(default_with = "Some(MembershipKind::Official)")]
    kind: Option<MembershipKind>,
    reason: TransferReason,
    decision_ref: Option<String>,
    /// Default: now.
    effective_at: Option<Instant>,
    /// TEMPORARY transfers: the day the activity ends (at most 1 year for
    /// WORK or RESIDENCE, 2 for STUDY, from effectiveAt); give purpose with it.
    ends_on: Option<crate::graphql::scalars::Date>,
    purpose: Option<crate::members::graphql::TemporaryPurpose>,
}

impl From<TransferInput> for TransferRequest {
    fn from(input: TransferInput) -> Self {
        // An id that cannot be one names nobody: NOT_FOUND, like any unknown id.
        let member_id = input
            .member_id
            .map(|id| crate::graphql::parse_id(&id).unwrap_or(0));
        let member = MemberRef::one_of(member_id, input.member_national_id);
        TransferRequest {
            external_id: input.external_id,
            member,
            from_code: input.from_organization_code,
            to_code: input.to_organization_code,
            kind: input.kind.unwrap_or(MembershipKind::Official).into(),
            reason: input.reason.into(),
            decision_ref: input.decision_ref,
            effective_at: input
                .effective_at
                .map(|at| crate::clock::truncate(at.into())),
            ends_on: input.ends_on.map(|day| day.0),
            purpose: input.purpose.map(Into::into),
            rules: Default::default(),
        }
    }
}

/// A transfer with the configured clocks of temporary activity.
fn request(ctx: &Context<'_>, input: TransferInput) -> TransferRequest {
    let mut request = TransferRequest::from(input);
    request.rules = crate::graphql::letter_rules(ctx);
    request
}

#[derive(Default)]
pub struct TransferMutation;

#[Object]
impl TransferMutation {
    /// Applies one transfer; safe to retry with the same externalId.
    async fn submit_transfer(
        &self,
        ctx: &Context<'_>,
        input: TransferInput,
    ) -> async_graphql::Result<TransferResult> {
        let item = service::submit_item(db(ctx)?, caller(ctx)?, request(ctx, input))
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(TransferResult::new(None, item))
    }

    /// At most 500 inputs; each applied or rejected on its own.
    async fn submit_transfers(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<TransferInput>,
    ) -> async_graphql::Result<Vec<TransferResult>> {
        let requests = inputs
            .into_iter()
            .map(|input| request(ctx, input))
            .collect();
        let items = service::submit_batch(db(ctx)?, caller(ctx)?, requests)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, item)| TransferResult::new(Some(index), item))
            .collect())
    }
}

/// How often a subscription looks for new events. Polling the feed (rather
/// than an in-process channel) serves every process behind a load balancer
/// and cannot miss an event committed by another.
const SUBSCRIPTION_POLL: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Default)]
pub struct TransferSubscription;

#[async_graphql::Subscription]
impl TransferSubscription {
    /// Applied events the caller may see, as they are recorded.
    async fn transfer_events(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        #[graphql(
            desc = "Deliver the events after this feed sequence first (the last one a dropped subscription saw), in order, then new ones. Default: only events recorded from now."
        )]
        after_sequence: Option<i32>,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = TransferEvent> + use<>> {
        let db = db(ctx)?.clone();
        let caller = caller(ctx)?.clone();
        let start = match after_sequence {
            Some(after) => start_after(after, false).map_err(|e| e.extend())?,
            None => crate::memberships::record::last_sequence(&db)
                .await
                .map_err(|e| e.extend())?,
        };
        let state = (db, caller, within, start, std::collections::VecDeque::new());
        Ok(futures_util::stream::unfold(
            state,
            |(db, caller, within, mut after, mut pending)| async move {
                loop {
                    if let Some(event) = pending.pop_front() {
                        return Some((
                            TransferEvent::new(event),
                            (db, caller, within, after, pending),
                        ));
                    }
                    tokio::time::sleep(SUBSCRIPTION_POLL).await;
                    let page = crate::page::Page {
                        first: 500,
                        after: Some(after),
                    };
                    match feed::feed(&db, &caller, within.as_deref(), page, false).await {
                        Ok(page) => {
                            if let Some(last) = page.items.last() {
                                after = last.sequence;
                            }
                            pending.extend(page.items);
                        }
                        // Keep the subscription; the next poll retries from the same place.
                        Err(err) => {
                            tracing::warn!(error = %err, "subscription could not read the feed")
                        }
                    }
                }
            },
        ))
    }
}
