//! REST for integration scripts: batches of transfer events in, the change feed out.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use entity::enums::{EventPhase, MembershipKind, TransferReason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::feed;
use super::service::{self, ItemOutcome, ItemResult, TransferRequest};
use crate::auth::Ctx;
use crate::error::{AppError, ErrorCode};
use crate::members::lookup::MemberRef;
use crate::page::Page;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::methods::resource("/transfer-events", "POST").route(web::post().to(submit_events)),
    )
    .service(
        crate::methods::resource("/events", "GET, HEAD").route(crate::methods::get().to(feed)),
    );
}

/// One transfer, as in GraphQL's `TransferInput`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "externalId": "ts-2026-0001",
    "memberNationalId": "026052000001",
    "toOrganizationCode": "SL.TS.T02",
    "reason": "RELOCATION"
}))]
pub struct TransferEventInput {
    /// Idempotency key, unique per submitter: 1 to 128 of A-Z a-z 0-9 . _ : -
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    pub external_id: String,
    /// The member's id (GraphQL's `Member.id`, the same number); give this or `memberNationalId`.
    #[schema(minimum = 1)]
    pub member_id: Option<i64>,
    /// The member's 12-digit citizen ID; give this or `memberId`.
    pub member_national_id: Option<String>,
    /// If given, must be where the member is now.
    pub from_organization_code: Option<String>,
    /// An ACTIVE CELL in the caller's scope.
    pub to_organization_code: String,
    /// Default OFFICIAL.
    #[schema(value_type = Option<crate::rest::closed_sets::MembershipKind>)]
    pub kind: Option<MembershipKind>,
    #[schema(value_type = crate::rest::closed_sets::TransferReason)]
    pub reason: TransferReason,
    /// The decision's reference: 1 to 255 characters, not blank.
    pub decision_ref: Option<String>,
    /// RFC 3339 with a time zone (`Z` or an offset), at most 5 minutes ahead; default now.
    #[serde(default, deserialize_with = "crate::clock::deserialize_instant")]
    pub effective_at: Option<DateTime<Utc>>,
    /// A TEMPORARY transfer's last day (`YYYY-MM-DD`): at most 1 year after
    /// `effectiveAt` for WORK or RESIDENCE, 2 for STUDY (configurable).
    #[schema(example = "2027-06-30")]
    pub ends_on: Option<chrono::NaiveDate>,
    /// What a TEMPORARY transfer is for; it decides how long it may last.
    #[schema(value_type = Option<crate::rest::closed_sets::TemporaryPurpose>, example = "WORK")]
    pub purpose: Option<entity::enums::TemporaryPurpose>,
}

impl From<TransferEventInput> for TransferRequest {
    fn from(input: TransferEventInput) -> Self {
        let member = MemberRef::one_of(input.member_id, input.member_national_id);
        TransferRequest {
            external_id: input.external_id,
            member,
            from_code: input.from_organization_code,
            to_code: input.to_organization_code,
            kind: input.kind.unwrap_or(MembershipKind::Official),
            reason: input.reason,
            decision_ref: input.decision_ref,
            effective_at: input.effective_at.map(crate::clock::truncate),
            ends_on: input.ends_on,
            purpose: input.purpose,
            rules: Default::default(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBatch {
    /// 1 to 500 transfers, each applied or rejected on its own.
    #[schema(min_items = 1, max_items = 500)]
    pub events: Vec<TransferEventInput>,
}

/// Why an item was rejected.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemError {
    pub code: ErrorCode,
    pub message: String,
    /// The item's field at fault, when one is (`effectiveAt`, `toOrganizationCode`, …).
    #[schema(required = true)]
    pub field: Option<String>,
    /// The item's position in `events`, from 0.
    #[schema(minimum = 0, maximum = 499)]
    pub index: usize,
}

/// What became of one submitted transfer.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemStatus {
    /// Applied now.
    Applied,
    /// Same externalId and content as an event applied earlier: nothing changed, that event is answered.
    Duplicate,
    /// Not applied; `error` says why. Nothing changed.
    Rejected,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferItemResult {
    pub external_id: String,
    pub status: ItemStatus,
    #[schema(required = true)]
    pub event_id: Option<i64>,
    #[schema(required = true)]
    pub sequence: Option<i64>,
    #[schema(required = true)]
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferBatchResult {
    /// One per submitted event, in order.
    pub results: Vec<TransferItemResult>,
}

impl TransferItemResult {
    /// The answer for the item at `index` of the batch.
    fn new(index: usize, item: ItemResult) -> Self {
        let (status, event, error) = match item.outcome {
            ItemOutcome::Applied(event) => (ItemStatus::Applied, Some(event), None),
            ItemOutcome::Duplicate(event) => (ItemStatus::Duplicate, Some(event), None),
            ItemOutcome::Rejected(err) => (
                ItemStatus::Rejected,
                None,
                Some(ItemError {
                    code: err.code(),
                    message: err.to_string(),
                    field: err.field().map(str::to_owned),
                    index,
                }),
            ),
        };
        Self {
            external_id: item.external_id,
            status,
            event_id: event.as_ref().map(|e| e.id),
            sequence: event.as_ref().map(|e| e.sequence),
            error,
        }
    }
}

/// Submits transfers; each applied or rejected on its own, answered in order,
/// all committed together.
#[utoipa::path(post, path = "/api/v1/transfer-events", tag = "transfers", request_body = TransferBatch,
    responses(
        (status = 200, description = "Per-item results, in input order", body = TransferBatchResult),
        (status = 400, description = "Malformed body (`field` names the body path at fault, e.g. `events[0].effectiveAt`), or no events; nothing applied", body = crate::error::Problem),
        (status = 413, description = "More than 500 events (LIMIT_EXCEEDED), or a body over 1 MiB; nothing applied", body = crate::error::Problem),
        (status = 429, description = "The token's subject is past its mutations per minute; nothing applied, retry after `Retry-After` seconds", body = crate::error::Problem),
        (status = 500, description = "An internal error stopped the batch: nothing of it was applied (the batch is one transaction); details only in the log", body = crate::error::Problem),
        (status = 503, description = "The database was unavailable or contended past the retries: nothing of the batch was applied (the batch is one transaction); retry the whole batch after `Retry-After` seconds", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn submit_events(
    state: web::Data<AppState>,
    caller: Ctx,
    batch: crate::rest::extract::Json<TransferBatch>,
) -> Result<HttpResponse, AppError> {
    // A batch counts once: it is one request, and at most 500 events.
    state.rate_limits.mutation(&caller.principal.subject)?;
    let batch = batch.0;
    let requests = batch
        .events
        .into_iter()
        .map(|input| TransferRequest {
            rules: state.config.letters,
            ..input.into()
        })
        .collect();
    let items = service::submit_batch(&state.db, &caller, requests).await?;
    let results = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| TransferItemResult::new(index, item))
        .collect();
    Ok(HttpResponse::Ok().json(TransferBatchResult { results }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Events after this sequence number (default 0: from the start).
    #[param(minimum = 0, example = 2197)]
    pub after: Option<i64>,
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500, example = 100)]
    pub limit: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    pub sequence: i64,
    pub event_id: i64,
    pub external_id: String,
    pub member_id: i64,
    /// Masked for roles without personal-data access.
    pub member_national_id: String,
    /// Null for an admission.
    #[schema(required = true)]
    pub from_organization_code: Option<String>,
    pub to_organization_code: String,
    #[schema(value_type = crate::rest::closed_sets::MembershipKind)]
    pub kind: MembershipKind,
    #[schema(value_type = crate::rest::closed_sets::TransferReason)]
    pub reason: TransferReason,
    #[schema(required = true)]
    pub decision_ref: Option<String>,
    pub effective_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub submitted_by: String,
    /// COMPLETED for a move in one step; an introduction letter's steps are
    /// DEPARTED (issued: an OFFICIAL letter's member is in transit), then
    /// ARRIVED (received) or RETURNED (cancelled).
    #[schema(value_type = crate::rest::closed_sets::EventPhase)]
    pub phase: EventPhase,
    /// The introduction letter this event is a step of.
    pub letter_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    pub events: Vec<FeedEvent>,
    /// Pass as `after` to read on; unchanged when there was nothing new.
    pub next_after: i64,
    pub has_more: bool,
}

/// The change feed: events the caller may see, by sequence, after a sequence.
#[utoipa::path(get, path = "/api/v1/events", tag = "transfers", params(FeedParams),
    responses(
        (status = 200, description = "A page of the feed", body = FeedPage),
        (status = 400, description = "Bad `after` or `limit` (`field` names it), or an unknown query parameter", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn feed(
    state: web::Data<AppState>,
    caller: Ctx,
    params: crate::rest::extract::Query<FeedParams>,
) -> Result<HttpResponse, AppError> {
    let after = params.after.unwrap_or(0);
    if after < 0 {
        return Err(AppError::invalid(
            "after",
            "must be a sequence number, 0 or more",
        ));
    }
    let first = crate::page::page_size(params.limit)
        .map_err(|_| AppError::invalid("limit", "must be between 1 and 500"))?;
    let page = feed::feed_entries(
        &state.db,
        &caller,
        Page {
            first,
            after: Some(after),
        },
    )
    .await?;
    let next_after = page.items.last().map_or(after, |e| e.event.sequence);
    let events = page
        .items
        .into_iter()
        .map(|entry| FeedEvent {
            sequence: entry.event.sequence,
            event_id: entry.event.id,
            external_id: entry.event.external_id,
            member_id: entry.member.id,
            member_national_id: entry.member.national_id,
            from_organization_code: entry.from_code,
            to_organization_code: entry.to_code,
            kind: entry.event.kind,
            reason: entry.event.reason,
            decision_ref: entry.event.decision_ref,
            effective_at: entry.event.effective_at,
            recorded_at: entry.event.recorded_at,
            submitted_by: entry.event.submitter,
            phase: entry.event.phase,
            letter_id: entry.event.letter_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(FeedPage {
        events,
        next_after,
        has_more: page.has_next,
    }))
}
