//! REST for integration scripts: issue, receive and cancel letters, and
//! list the open, in-transit and overdue ones of a committee.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{LetterStatus, MembershipKind, TemporaryPurpose, TransferReason};
use entity::letter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

use super::issue::{self, IssueLetter, Issued};
use super::read::{self, LetterFilter};
use super::rules;
use super::steps::{self, CancelLetter, ReceiveLetter};
use crate::auth::Ctx;
use crate::auth::policy::Visible;
use crate::error::AppError;
use crate::members::lookup::{self as members, MemberIdentity, MemberRef};
use crate::page::Page;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::methods::resource("/letters", "GET, HEAD, POST")
            .route(web::post().to(issue_letter))
            .route(crate::methods::get().to(list_letters)),
    )
    .service(
        crate::methods::resource("/letters/{id}/receipt", "POST")
            .route(web::post().to(receive_letter)),
    )
    .service(
        crate::methods::resource("/letters/{id}/cancellation", "POST")
            .route(web::post().to(cancel_letter)),
    );
}

/// A letter to issue, as in GraphQL's `IssueLetterInput`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueLetterBody {
    /// Idempotency key, unique per submitter: 1 to 128 of A-Z a-z 0-9 . _ : -
    pub external_id: String,
    pub member_id: Option<i64>,
    pub member_national_id: Option<String>,
    /// OFFICIAL (default) or TEMPORARY.
    #[schema(value_type = Option<crate::rest::closed_sets::MembershipKind>, example = "OFFICIAL")]
    pub kind: Option<MembershipKind>,
    /// The receiving committee or cell, anywhere in the registry.
    pub to_organization_code: String,
    /// Unique within the issuing grassroots committee.
    pub number: String,
    /// RELOCATION, REASSIGNMENT or OTHER.
    #[schema(value_type = crate::rest::closed_sets::TransferReason, example = "RELOCATION")]
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    /// YYYY-MM.
    pub dues_paid_through: Option<String>,
    /// Default: today.
    pub issued_on: Option<NaiveDate>,
    /// TEMPORARY letters: the day the activity ends.
    pub ends_on: Option<NaiveDate>,
    /// TEMPORARY letters: WORK, RESIDENCE or STUDY.
    #[schema(value_type = Option<crate::rest::closed_sets::TemporaryPurpose>, example = "WORK")]
    pub purpose: Option<TemporaryPurpose>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptBody {
    /// The ACTIVE CELL of the destination's subtree the member joins.
    pub cell_code: String,
    /// Default: today.
    pub received_on: Option<NaiveDate>,
    /// Required after the letter's presentBy.
    pub late_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancellationBody {
    /// Where the member returns if the cell left has been dissolved since.
    pub return_cell_code: Option<String>,
    /// Default: today.
    pub cancelled_on: Option<NaiveDate>,
}

/// A letter as either side sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LetterView {
    pub id: i64,
    pub number: String,
    #[schema(value_type = crate::rest::closed_sets::MembershipKind)]
    pub kind: MembershipKind,
    #[schema(value_type = crate::rest::closed_sets::LetterStatus)]
    pub status: LetterStatus,
    pub member_id: i64,
    /// Masked for roles without personal-data access.
    pub member_national_id: String,
    pub issuing_committee_code: String,
    pub from_organization_code: String,
    pub to_organization_code: String,
    #[schema(required = true)]
    pub received_cell_code: Option<String>,
    #[schema(value_type = crate::rest::closed_sets::TransferReason)]
    pub reason: TransferReason,
    #[schema(required = true)]
    pub decision_ref: Option<String>,
    #[schema(required = true)]
    pub dues_paid_through: Option<String>,
    pub issued_on: NaiveDate,
    pub present_by: NaiveDate,
    /// Days an OPEN letter is past presentBy today.
    pub days_overdue: i64,
    #[schema(required = true)]
    pub ends_on: Option<NaiveDate>,
    #[schema(value_type = Option<crate::rest::closed_sets::TemporaryPurpose>, required = true)]
    pub purpose: Option<TemporaryPurpose>,
    #[schema(required = true)]
    pub late_reason: Option<String>,
    #[schema(required = true)]
    pub closed_at: Option<DateTime<Utc>>,
    pub external_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LetterPage {
    pub letters: Vec<LetterView>,
    /// Pass as `after` to read on.
    pub next_after: Option<i64>,
    pub has_more: bool,
}

/// Letters with the codes and identities they name, in two statements.
async fn views(
    state: &AppState,
    ctx: &Ctx,
    letters: Vec<Visible<letter::Model>>,
) -> Result<Vec<LetterView>, AppError> {
    let org_ids: Vec<i64> = letters
        .iter()
        .flat_map(|l| {
            [
                Some(l.issuing_committee_id),
                Some(l.from_cell_id),
                Some(l.to_organization_id),
                l.received_cell_id,
            ]
        })
        .flatten()
        .collect();
    let codes: HashMap<i64, String> = crate::organizations::service::by_ids(&state.db, &org_ids)
        .await?
        .into_iter()
        .map(|org| (org.id, org.code))
        .collect();
    let member_ids: Vec<i64> = letters.iter().map(|l| l.member_id).collect();
    let people: HashMap<i64, MemberIdentity> = members::by_ids(&state.db, &member_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, MemberIdentity::new(&m, ctx)))
        .collect();
    let code = |id: i64| codes.get(&id).cloned().unwrap_or_default();
    let today = crate::clock::now().date_naive();
    Ok(letters
        .into_iter()
        .map(Visible::into_inner)
        .map(|l| LetterView {
            id: l.id,
            number: l.number,
            kind: l.kind,
            status: l.status,
            member_id: l.member_id,
            member_national_id: people
                .get(&l.member_id)
                .map(|p| p.national_id.clone())
                .unwrap_or_default(),
            issuing_committee_code: code(l.issuing_committee_id),
            from_organization_code: code(l.from_cell_id),
            to_organization_code: code(l.to_organization_id),
            received_cell_code: l.received_cell_id.map(code),
            reason: l.reason,
            decision_ref: l.decision_ref,
            dues_paid_through: l.dues_paid_through,
            issued_on: l.issued_on,
            present_by: l.present_by,
            days_overdue: if l.status == LetterStatus::Open {
                rules::days_overdue(l.present_by, today)
            } else {
                0
            },
            ends_on: l.ends_on,
            purpose: l.purpose,
            late_reason: l.late_reason,
            closed_at: l.closed_at,
            external_id: l.external_id,
        })
        .collect())
}

async fn one_view(
    state: &AppState,
    ctx: &Ctx,
    letter: Visible<letter::Model>,
) -> Result<LetterView, AppError> {
    views(state, ctx, vec![letter])
        .await?
        .pop()
        .ok_or(AppError::NotFound("letter"))
}

/// Issues an introduction letter; safe to retry with the same externalId.
#[utoipa::path(post, path = "/api/v1/letters", tag = "letters", request_body = IssueLetterBody,
    responses(
        (status = 201, description = "Issued", body = LetterView),
        (status = 200, description = "Issued before with the same externalId and content: nothing changed", body = LetterView),
        (status = 400, description = "Bad input, with the field", body = crate::error::Problem),
        (status = 403, description = "The role may not move members (READER, AUDITOR)", body = crate::error::Problem),
        (status = 404, description = "Member not in the caller's scope, or no such destination", body = crate::error::Problem),
        (status = 409, description = "A hold, an open letter, a used number or externalId (the field names which)", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn issue_letter(
    state: web::Data<AppState>,
    caller: Ctx,
    body: crate::rest::extract::Json<IssueLetterBody>,
) -> Result<HttpResponse, AppError> {
    state.rate_limits.mutation(&caller.principal.subject)?;
    let body = body.0;
    let request = IssueLetter {
        external_id: body.external_id,
        member: MemberRef::one_of(body.member_id, body.member_national_id),
        kind: body.kind.unwrap_or(MembershipKind::Official),
        to_code: body.to_organization_code,
        number: body.number,
        reason: body.reason,
        decision_ref: body.decision_ref,
        dues_paid_through: body.dues_paid_through,
        issued_on: body.issued_on,
        ends_on: body.ends_on,
        purpose: body.purpose,
        rules: state.config.letters,
    };
    let (status, letter) = match issue::issue(&state.db, &caller, request).await? {
        Issued::Issued(letter) => (actix_web::http::StatusCode::CREATED, letter),
        Issued::Duplicate(letter) => (actix_web::http::StatusCode::OK, letter),
    };
    Ok(HttpResponse::build(status).json(one_view(&state, &caller, letter).await?))
}

/// The receiving side places the member in one of its ACTIVE CELLs.
#[utoipa::path(post, path = "/api/v1/letters/{id}/receipt", tag = "letters", request_body = ReceiptBody,
    params(("id" = i64, Path, description = "The letter")),
    responses(
        (status = 200, description = "Received", body = LetterView),
        (status = 400, description = "Bad input (lateReason missing after the deadline), with the field", body = crate::error::Problem),
        (status = 403, description = "The role may not move members (READER, AUDITOR)", body = crate::error::Problem),
        (status = 404, description = "No such letter on the caller's receiving side, or cell not in scope", body = crate::error::Problem),
        (status = 409, description = "Already received or cancelled, a cell outside the destination, or a hold on the member (the field names which)", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn receive_letter(
    state: web::Data<AppState>,
    caller: Ctx,
    id: web::Path<i64>,
    body: crate::rest::extract::Json<ReceiptBody>,
) -> Result<HttpResponse, AppError> {
    state.rate_limits.mutation(&caller.principal.subject)?;
    let body = body.0;
    let request = ReceiveLetter {
        letter_id: id.into_inner(),
        cell_code: body.cell_code,
        received_on: body.received_on,
        late_reason: body.late_reason,
    };
    let letter = steps::receive(&state.db, &caller, request).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, &caller, letter).await?))
}

/// The sending side withdraws a letter not yet received; the member returns.
#[utoipa::path(post, path = "/api/v1/letters/{id}/cancellation", tag = "letters", request_body = CancellationBody,
    params(("id" = i64, Path, description = "The letter")),
    responses(
        (status = 200, description = "Cancelled", body = LetterView),
        (status = 403, description = "The role may not move members (READER, AUDITOR)", body = crate::error::Problem),
        (status = 404, description = "No such letter on the caller's sending side", body = crate::error::Problem),
        (status = 409, description = "Already received or cancelled, or the cell left has ended (name returnCellCode)", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn cancel_letter(
    state: web::Data<AppState>,
    caller: Ctx,
    id: web::Path<i64>,
    body: crate::rest::extract::Json<CancellationBody>,
) -> Result<HttpResponse, AppError> {
    state.rate_limits.mutation(&caller.principal.subject)?;
    let body = body.0;
    let request = CancelLetter {
        letter_id: id.into_inner(),
        return_cell_code: body.return_cell_code,
        cancelled_on: body.cancelled_on,
    };
    let letter = steps::cancel(&state.db, &caller, request).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, &caller, letter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LetterParams {
    /// A committee or cell code: letters leaving or reaching its subtree (default: the caller's scope).
    pub within: Option<String>,
    /// OPEN, RECEIVED or CANCELLED.
    #[param(value_type = Option<crate::rest::closed_sets::LetterStatus>)]
    pub status: Option<LetterStatus>,
    /// Only OPEN OFFICIAL letters (members in transit).
    pub in_transit: Option<bool>,
    /// Only OPEN letters past their presentBy.
    pub overdue: Option<bool>,
    /// Letters after this id.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i32>,
}

/// Letters leaving or reaching a subtree, by id.
#[utoipa::path(get, path = "/api/v1/letters", tag = "letters", params(LetterParams),
    responses(
        (status = 200, description = "A page of letters", body = LetterPage),
        (status = 400, description = "Bad parameter", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn list_letters(
    state: web::Data<AppState>,
    caller: Ctx,
    params: crate::rest::extract::Query<LetterParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.0;
    let first = crate::page::page_size(params.limit)
        .map_err(|_| AppError::invalid("limit", "must be between 1 and 500"))?;
    let filter = LetterFilter {
        within: params.within,
        status: params.status,
        in_transit: params.in_transit.unwrap_or(false),
        overdue: params.overdue.unwrap_or(false),
        member_id: None,
    };
    let page = Page {
        first,
        after: params.after,
    };
    let today = crate::clock::now().date_naive();
    let found = read::list(&state.db, &caller, &filter, today, page).await?;
    let has_more = found.has_next;
    let letters = views(&state, &caller, found.items).await?;
    Ok(HttpResponse::Ok().json(LetterPage {
        next_after: letters.last().map(|l| l.id),
        letters,
        has_more,
    }))
}
