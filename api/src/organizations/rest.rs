//! REST: a page of a cell's active members.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service::{self, Lookup};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::members::list as members;
use crate::page::Page;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::methods::resource("/organizations/{code}/members", "GET, HEAD")
            .route(crate::methods::get().to(active_members)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersParams {
    /// The `nextAfter` of the previous page.
    pub after: Option<i64>,
    /// 1 to 500, default 50.
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
    pub next_after: Option<i64>,
}

/// Members with an open OFFICIAL membership in the organization, by membership id.
#[utoipa::path(get, path = "/api/v1/organizations/{code}/members", tag = "organizations",
    params(("code" = String, Path, description = "Organization code"), MembersParams),
    responses(
        (status = 200, description = "A page of active members", body = ActiveMembersPage),
        (status = 400, description = "Bad after or limit", body = crate::error::Problem),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem),
        (status = 404, description = "No such organization in scope", body = crate::error::Problem),
    ),
    security(("bearer" = [])))]
pub async fn active_members(
    state: web::Data<AppState>,
    caller: Ctx,
    code: web::Path<String>,
    params: web::Query<MembersParams>,
) -> Result<HttpResponse, AppError> {
    let first = crate::graphql::pagination::page_size(params.limit)
        .map_err(|_| AppError::invalid("limit", "must be between 1 and 500"))?;
    let organization = service::find(&state.db, &caller, Lookup::Code(code.into_inner()))
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let page = members::active_members_of(
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
