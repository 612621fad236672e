//! REST for integration scripts: batches of transfer events in, the change feed out.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, TransferReason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::feed;
use super::service::{self, ItemOutcome, ItemResult, TransferRequest};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::members::lookup::MemberRef;
use crate::page::Page;
use crate::state::AppState;
use sea_orm::ActiveEnum as _;

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
pub struct TransferEventInput {
    /// Idempotency key, unique per submitter: 1 to 128 of A-Z a-z 0-9 . _ : -
    pub external_id: String,
    /// The member's id; give this or `memberNationalId`.
    pub member_id: Option<i64>,
    pub member_national_id: Option<String>,
    /// If given, must be where the member is now.
    pub from_organization_code: Option<String>,
    pub to_organization_code: String,
    /// OFFICIAL (default) or TEMPORARY.
    #[schema(value_type = Option<String>, example = "OFFICIAL")]
    pub kind: Option<MembershipKind>,
    /// RELOCATION, REASSIGNMENT, DISSOLUTION, RETURN or OTHER.
    #[schema(value_type = String, example = "RELOCATION")]
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    /// RFC 3339; default now.
    #[serde(default, deserialize_with = "crate::clock::deserialize_instant")]
    pub effective_at: Option<DateTime<Utc>>,
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
            ends_on: None,
            purpose: None,
            rules: Default::default(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBatch {
    /// 1 to 500 transfers, each applied or rejected on its own.
    pub events: Vec<TransferEventInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferItemResult {
    pub external_id: String,
    /// APPLIED, DUPLICATE or REJECTED.
    pub status: &'static str,
    pub event_id: Option<i64>,
    pub sequence: Option<i64>,
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferBatchResult {
    /// One per submitted event, in order.
    pub results: Vec<TransferItemResult>,
}

impl From<ItemResult> for TransferItemResult {
    fn from(item: ItemResult) -> Self {
        let (status, event, error) = match item.outcome {
            ItemOutcome::Applied(event) => ("APPLIED", Some(event), None),
            ItemOutcome::Duplicate(event) => ("DUPLICATE", Some(event), None),
            ItemOutcome::Rejected(err) => (
                "REJECTED",
                None,
                Some(ItemError {
                    code: err.code().as_str().to_owned(),
                    message: err.to_string(),
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

/// Submits transfers; each applied or rejected on its own, answered in order.
#[utoipa::path(post, path = "/api/v1/transfer-events", tag = "transfers", request_body = TransferBatch,
    responses(
        (status = 200, description = "Per-item results, in input order", body = TransferBatchResult),
        (status = 400, description = "Malformed body; nothing applied", body = crate::error::Problem),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem),
        (status = 413, description = "More than 500 events, or a body over 1 MiB; nothing applied", body = crate::error::Problem),
        (status = 429, description = "The token's subject is past its mutations per minute; nothing applied, retry after `Retry-After` seconds", body = crate::error::Problem),
        (status = 500, description = "An internal error ended the batch at an item: the items before it were applied, the rest not tried; details only in the log", body = crate::error::Problem),
        (status = 503, description = "The database was unavailable or contended past the retries at an item: the items before it were applied (DUPLICATE on a retry of the batch), the rest not tried; retry after `Retry-After` seconds", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn submit_events(
    state: web::Data<AppState>,
    caller: Ctx,
    batch: web::Json<TransferBatch>,
) -> Result<HttpResponse, AppError> {
    // A batch counts once: it is one request, and at most 500 events.
    state.rate_limits.mutation(&caller.principal.subject)?;
    let batch = batch.into_inner();
    let requests = batch.events.into_iter().map(Into::into).collect();
    let items = service::submit_batch(&state.db, &caller, requests).await?;
    let results = items.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(TransferBatchResult { results }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Events after this sequence number (default 0: from the start).
    pub after: Option<i64>,
    /// 1 to 500, default 50.
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
    pub from_organization_code: Option<String>,
    pub to_organization_code: String,
    pub kind: String,
    pub reason: String,
    pub decision_ref: Option<String>,
    pub effective_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub submitted_by: String,
    /// COMPLETED for a move in one step; an introduction letter's steps are
    /// DEPARTED (issued: an OFFICIAL letter's member is in transit), then
    /// ARRIVED (received) or RETURNED (cancelled).
    #[schema(example = "COMPLETED")]
    pub phase: String,
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
        (status = 400, description = "Bad after or limit", body = crate::error::Problem),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn feed(
    state: web::Data<AppState>,
    caller: Ctx,
    params: web::Query<FeedParams>,
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
            kind: entry.event.kind.to_value(),
            reason: entry.event.reason.to_value(),
            decision_ref: entry.event.decision_ref,
            effective_at: entry.event.effective_at,
            recorded_at: entry.event.recorded_at,
            submitted_by: entry.event.submitter,
            phase: entry.event.phase.to_value(),
            letter_id: entry.event.letter_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(FeedPage {
        events,
        next_after,
        has_more: page.has_next,
    }))
}
