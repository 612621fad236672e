//! REST: where a member is, by national ID; a page of an organization's
//! active members.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list;
use super::lookup as service;
use crate::auth::Ctx;
use crate::error::AppError;
use crate::organizations::service::{self as organizations, Lookup};
use crate::page::Page;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::methods::resource("/members/{national_id}/membership", "GET, HEAD")
            .route(crate::methods::get().to(membership)),
    )
    .service(
        crate::methods::resource("/organizations/{code}/members", "GET, HEAD")
            .route(crate::methods::get().to(active_members)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembershipParams {
    /// RFC 3339 instant with a time zone (`Z` or an offset); default now.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-01-31T08:00:00Z")]
    #[serde(default, deserialize_with = "crate::clock::deserialize_instant")]
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPlacement {
    pub member_id: i64,
    pub full_name: String,
    /// The cell of the OFFICIAL membership open at `asOf`.
    pub cell: OrganizationRef,
    /// The committee directly above the cell (null above the caller's scope).
    #[schema(required = true)]
    pub committee: Option<OrganizationRef>,
    pub started_at: DateTime<Utc>,
}

/// The member's cell and committee at an instant (needs personal-data access).
#[utoipa::path(get, path = "/api/v1/members/{nationalId}/membership", tag = "members",
    params(("nationalId" = String, Path, description = "12-digit citizen ID", example = "026052000001", pattern = "^[0-9]{12}$"), MembershipParams),
    responses(
        (status = 200, description = "The member's cell and committee", body = MemberPlacement),
        (status = 400, description = "Not a 12-digit national ID, or a bad `asOf` (`field` names it)", body = crate::error::Problem),
        (status = 403, description = "The role has no personal-data access", body = crate::error::Problem),
        (status = 404, description = "No such member in scope, or no membership at asOf", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn membership(
    state: web::Data<AppState>,
    caller: Ctx,
    national_id: web::Path<String>,
    params: crate::rest::extract::Query<MembershipParams>,
) -> Result<HttpResponse, AppError> {
    let as_of = params.as_of.map(crate::clock::truncate);
    let placement = service::placement(&state.db, &caller, &national_id, as_of)
        .await?
        .ok_or(AppError::NotFound("membership"))?;
    Ok(HttpResponse::Ok().json(MemberPlacement {
        member_id: placement.member.model.id,
        full_name: placement.member.model.full_name.clone(),
        cell: OrganizationRef {
            code: placement.cell.code,
            name: placement.cell.name,
        },
        committee: placement.committee.map(|c| OrganizationRef {
            code: c.code,
            name: c.name,
        }),
        started_at: placement.membership.started_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersParams {
    /// The `nextAfter` of the previous page.
    pub after: Option<i64>,
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500, example = 10)]
    pub limit: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMember {
    pub member_id: i64,
    /// Masked for roles without personal-data access.
    pub national_id: String,
    pub full_name: String,
    pub membership_id: i64,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMembersPage {
    pub members: Vec<ActiveMember>,
    pub total: u64,
    #[schema(required = true)]
    pub next_after: Option<i64>,
}

/// Members with an open OFFICIAL membership in the organization, by membership id.
#[utoipa::path(get, path = "/api/v1/organizations/{code}/members", tag = "organizations",
    params(("code" = String, Path, description = "Organization code", example = "SL.BL.T01"), MembersParams),
    responses(
        (status = 200, description = "A page of active members", body = ActiveMembersPage),
        (status = 400, description = "Bad `after` or `limit` (`field` names it), or an unknown query parameter", body = crate::error::Problem),
        (status = 404, description = "No such organization in scope", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn active_members(
    state: web::Data<AppState>,
    caller: Ctx,
    code: web::Path<String>,
    params: crate::rest::extract::Query<MembersParams>,
) -> Result<HttpResponse, AppError> {
    let first = crate::page::page_size(params.limit)
        .map_err(|_| AppError::invalid("limit", "must be between 1 and 500"))?;
    let organization = organizations::find(&state.db, &caller, Lookup::Code(code.into_inner()))
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let page = list::active_members_of(
        &state.db,
        &caller,
        &organization,
        Page {
            first,
            after: params.after,
        },
    )
    .await?;
    let next_after = if page.has_next {
        page.items.last().map(|(m, _)| m.id)
    } else {
        None
    };
    let members = page
        .items
        .into_iter()
        .map(|(membership, member)| ActiveMember {
            member_id: member.model.id,
            national_id: member.national_id(),
            full_name: member.model.full_name.clone(),
            membership_id: membership.id,
            started_at: membership.started_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ActiveMembersPage {
        members,
        total: page.total,
        next_after,
    }))
}
