//! Dissolving an organization: its input and outcome, and the rules the cell
//! and committee dissolutions share. A cell becomes DISSOLVED with its
//! decision reference and every open membership in it moves, in one unit of
//! work, or nothing changes (`cell`); a committee can be dissolved once
//! everything under it is (`committee`). The unit of work is in `dissolve`.

use chrono::{DateTime, Utc};
use entity::enums::OrganizationStatus;
use entity::{organization, transfer_event};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QuerySelect, Set};

use crate::domain::{DecisionRef, OrganizationCode};
use crate::error::{AppError, Fault};
use crate::members::lookup::MemberRef;
use crate::organizations::history::{self, Changed};

/// Most explicit destinations in one dissolution (a cell rarely has more
/// than a few hundred members).
pub const MAX_DESTINATIONS: usize = 5_000;

/// Where members without an explicit destination go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// Every official member must be given a destination.
    Explicit,
    /// Members without a destination go to their residence cell.
    ByResidence,
    /// Members without a destination go to this cell (a merge).
    Into(String),
}

/// One explicit destination.
#[derive(Debug, Clone)]
pub struct Destination {
    /// `None` when the caller named no member (or both ways).
    pub member: Option<MemberRef>,
    pub to_code: String,
}

/// Input of `dissolveOrganization`.
#[derive(Debug, Clone)]
pub struct Dissolve {
    pub organization_code: String,
    pub decision_ref: String,
    pub effective_at: Option<DateTime<Utc>>,
    pub destinations: Vec<Destination>,
    pub routing: Routing,
}

/// What a dissolution did.
#[derive(Debug, Clone)]
pub struct Dissolution {
    pub organization: organization::Model,
    /// One event per membership moved or ended, by member id.
    pub transfers: Vec<transfer_event::Model>,
}

pub(super) fn validate(input: &Dissolve, now: DateTime<Utc>) -> Result<(), AppError> {
    OrganizationCode::parse("organizationCode", &input.organization_code)?;
    DecisionRef::parse("decisionRef", &input.decision_ref)?;
    crate::clock::not_in_future("effectiveAt", input.effective_at, now)?;
    if input.destinations.len() > MAX_DESTINATIONS {
        return Err(AppError::LimitExceeded(format!(
            "a dissolution takes at most {MAX_DESTINATIONS} destinations; this one has {}",
            input.destinations.len()
        )));
    }
    for destination in &input.destinations {
        MemberRef::check(destination.member.as_ref(), "transfers")?;
        OrganizationCode::parse("toOrganizationCode", &destination.to_code)?;
    }
    Ok(())
}

pub(super) fn fault(
    member_id: Option<i64>,
    organization_code: Option<&str>,
    problem: impl Into<String>,
) -> Fault {
    Fault {
        member_id,
        organization_code: organization_code.map(str::to_owned),
        problem: problem.into(),
    }
}

pub(super) fn already_dissolved(org: &organization::Model) -> AppError {
    AppError::Conflict(format!(
        "organizationCode: {} is already dissolved (decision {})",
        org.code,
        org.dissolution_decision.as_deref().unwrap_or("unrecorded")
    ))
}

/// Locks the organization for update and reads it again.
pub(super) async fn lock_for_dissolution<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("organization"))
}

pub(super) async fn mark_dissolved<C: ConnectionTrait>(
    conn: &C,
    org: organization::Model,
    decision_ref: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<organization::Model, AppError> {
    let mut dissolved: organization::ActiveModel = org.into();
    dissolved.status = Set(OrganizationStatus::Dissolved);
    dissolved.dissolved_at = Set(Some(at));
    dissolved.dissolution_decision = Set(Some(decision_ref.to_owned()));
    dissolved.updated_at = Set(now);
    let dissolved = dissolved.update(conn).await?;
    history::record(conn, Changed::Ids(&[dissolved.id]), at).await?;
    Ok(dissolved)
}
