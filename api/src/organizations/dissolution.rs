//! Dissolving an organization: a cell becomes DISSOLVED with its decision
//! reference and every open membership in it moves, in one transaction, or
//! nothing changes. A committee can be dissolved once everything under it is.

use chrono::{DateTime, Utc};
use entity::enums::{
    MemberStatus, MembershipKind, OrganizationKind, OrganizationStatus, TransferReason,
};
use entity::{member, membership, organization, transfer_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::service::{self as organizations, Lookup};
use crate::audit::service::audited;
use crate::auth::{Ctx, Permission};
use crate::error::{AppError, Fault};
use crate::members::service as members;
use crate::transfers::service::{self as transfers, MemberRef};

/// Most explicit destinations in one dissolution (a cell rarely has more
/// than a few hundred members).
pub const MAX_DESTINATIONS: usize = 5_000;

/// Where members without an explicit destination go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Every official member must be given a destination.
    Explicit,
    /// Members without a destination go to their residence cell.
    ByResidence,
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

fn validate(input: &Dissolve, now: DateTime<Utc>) -> Result<(), AppError> {
    organizations::validate_code("organizationCode", &input.organization_code)?;
    transfers::validate_decision_ref("decisionRef", &input.decision_ref)?;
    crate::clock::not_in_future("effectiveAt", input.effective_at, now)?;
    if input.destinations.len() > MAX_DESTINATIONS {
        return Err(AppError::LimitExceeded(format!(
            "a dissolution takes at most {MAX_DESTINATIONS} destinations; this one has {}",
            input.destinations.len()
        )));
    }
    for destination in &input.destinations {
        MemberRef::check(destination.member.as_ref(), "transfers")?;
        organizations::validate_code("toOrganizationCode", &destination.to_code)?;
    }
    Ok(())
}

fn fault(
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

/// `dissolveOrganization`.
pub async fn dissolve(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: Dissolve,
) -> Result<Dissolution, AppError> {
    let target = format!("{}:{}", input.organization_code, input.decision_ref);
    let caller = ctx.clone();
    audited(db, ctx, "dissolveOrganization", &target, move |txn| {
        let caller = caller.clone();
        let input = input.clone();
        Box::pin(async move {
            let ctx = &caller;
            ctx.principal.require(Permission::Organize)?;
            let now = crate::clock::now();
            validate(&input, now)?;
            let org = organizations::find(txn, ctx, Lookup::Code(input.organization_code.clone()))
                .await?
                .ok_or(AppError::NotFound("organization"))?;
            let dissolution = if org.kind == OrganizationKind::Cell {
                dissolve_cell(txn, ctx, org, input, now).await?
            } else {
                dissolve_committee(txn, org, input, now).await?
            };
            let path = dissolution.organization.path.clone();
            Ok((dissolution, path))
        })
    })
    .await
}

fn already_dissolved(org: &organization::Model) -> AppError {
    AppError::Conflict(format!(
        "organizationCode: {} is already dissolved (decision {})",
        org.code,
        org.dissolution_decision.as_deref().unwrap_or("unrecorded")
    ))
}

/// Locks the organization for update and reads it again.
async fn lock_for_dissolution<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("organization"))
}

async fn mark_dissolved<C: ConnectionTrait>(
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
    Ok(dissolved.update(conn).await?)
}

/// A committee: only once every organization under it is dissolved; no one moves.
async fn dissolve_committee<C: ConnectionTrait>(
    conn: &C,
    org: organization::Model,
    input: Dissolve,
    now: DateTime<Utc>,
) -> Result<Dissolution, AppError> {
    if !input.destinations.is_empty() {
        return Err(AppError::invalid(
            "transfers",
            "a committee has no members of its own to move",
        ));
    }
    let org = lock_for_dissolution(conn, org.id).await?;
    if org.status == OrganizationStatus::Dissolved {
        return Err(already_dissolved(&org));
    }
    let active_children: Vec<Fault> =
        organizations::children_of(conn, &[org.id], Some(OrganizationStatus::Active))
            .await?
            .remove(&org.id)
            .unwrap_or_default()
            .into_iter()
            .map(|child| fault(None, Some(&child.code), "still ACTIVE: dissolve it first"))
            .collect();
    if !active_children.is_empty() {
        return Err(AppError::Faults {
            field: "organizationCode",
            message: format!(
                "{} organizations under {} are still active; nothing changed",
                active_children.len(),
                org.code
            ),
            faults: active_children,
        });
    }
    let at = input.effective_at.unwrap_or(now);
    let organization = mark_dissolved(conn, org, &input.decision_ref, at, now).await?;
    Ok(Dissolution {
        organization,
        transfers: Vec::new(),
    })
}

/// The open memberships of a cell, with every member concerned locked, so
/// none of them can move while the dissolution runs. Members who joined
/// between the read and the locks are locked in another round.
async fn lock_open_memberships<C: ConnectionTrait>(
    conn: &C,
    cell_id: i64,
) -> Result<(organization::Model, Vec<membership::Model>), AppError> {
    let mut locked: BTreeSet<i64> = BTreeSet::new();
    let mut cell_locked = None;
    loop {
        let open = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(cell_id))
            .filter(membership::Column::EndedAt.is_null())
            .order_by_asc(membership::Column::MemberId)
            .order_by_asc(membership::Column::Id)
            .all(conn)
            .await?;
        let missing: Vec<i64> = open
            .iter()
            .map(|m| m.member_id)
            .filter(|id| !locked.contains(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            if let Some(cell) = cell_locked {
                return Ok((cell, open));
            }
        } else {
            // Members first, in id order, as a transfer locks its member
            // before the cells: the same order everywhere, no deadlock.
            member::Entity::find()
                .filter(member::Column::Id.is_in(missing.iter().copied()))
                .order_by_asc(member::Column::Id)
                .lock_exclusive()
                .all(conn)
                .await?;
            locked.extend(missing);
        }
        if cell_locked.is_none() {
            // From here no membership can open in the cell: a transfer or
            // registration into it waits on this lock, then finds it dissolved.
            cell_locked = Some(lock_for_dissolution(conn, cell_id).await?);
        }
    }
}

fn request_hash(input: &Dissolve, membership_id: i64, to_id: i64) -> String {
    let canonical = serde_json::json!([
        "dissolveOrganization",
        input.organization_code,
        input.decision_ref,
        membership_id,
        to_id,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// A cell: every official member moves to their destination, every
/// temporary activity in the cell ends, and the cell becomes DISSOLVED.
async fn dissolve_cell<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    org: organization::Model,
    input: Dissolve,
    now: DateTime<Utc>,
) -> Result<Dissolution, AppError> {
    let (cell, open) = lock_open_memberships(conn, org.id).await?;
    if cell.status == OrganizationStatus::Dissolved {
        return Err(already_dissolved(&cell));
    }
    let member_ids: Vec<i64> = open.iter().map(|m| m.member_id).collect();
    let people: HashMap<i64, member::Model> = members::by_ids(conn, &member_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let officials: Vec<&membership::Model> = open
        .iter()
        .filter(|m| m.kind == MembershipKind::Official)
        .collect();
    let mut faults = Vec::new();

    // Explicit destinations, by member id.
    let mut explicit: BTreeMap<i64, String> = BTreeMap::new();
    for destination in &input.destinations {
        let named = match &destination.member {
            Some(MemberRef::Id(id)) => officials
                .iter()
                .find(|m| m.member_id == *id)
                .map(|m| m.member_id),
            Some(MemberRef::NationalId(national_id)) => officials
                .iter()
                .find(|m| {
                    people
                        .get(&m.member_id)
                        .is_some_and(|p| &p.national_id == national_id)
                })
                .map(|m| m.member_id),
            None => None,
        };
        match named {
            None => faults.push(fault(
                match &destination.member {
                    Some(MemberRef::Id(id)) => Some(*id),
                    _ => None,
                },
                Some(&destination.to_code),
                "not an official member of this cell",
            )),
            Some(id) => {
                if explicit.insert(id, destination.to_code.clone()).is_some() {
                    faults.push(fault(Some(id), None, "given more than one destination"));
                }
            }
        }
    }

    // Where each official member goes: the code given, else the residence cell.
    enum Target {
        Code(String),
        Id(i64),
    }
    let mut targets: Vec<(&membership::Model, Target)> = Vec::new();
    for official in &officials {
        let member_id = official.member_id;
        if let Some(code) = explicit.get(&member_id) {
            targets.push((official, Target::Code(code.clone())));
            continue;
        }
        match (
            input.routing,
            people.get(&member_id).and_then(|p| p.residence_cell_id),
        ) {
            (Routing::ByResidence, Some(residence)) => {
                targets.push((official, Target::Id(residence)))
            }
            (Routing::ByResidence, None) => faults.push(fault(
                Some(member_id),
                None,
                "no destination given and no residence cell recorded",
            )),
            (Routing::Explicit, _) => {
                faults.push(fault(Some(member_id), None, "no destination given"))
            }
        }
    }

    // The destination cells, each looked up once, in scope, locked in id order.
    let mut by_code: HashMap<String, Option<organization::Model>> = HashMap::new();
    let mut by_id: HashMap<i64, Option<organization::Model>> = HashMap::new();
    for (_, target) in &targets {
        match target {
            Target::Code(code) if !by_code.contains_key(code) => {
                let found = organizations::find(conn, ctx, Lookup::Code(code.clone())).await?;
                by_code.insert(code.clone(), found);
            }
            Target::Id(id) if !by_id.contains_key(id) => {
                let found = organizations::find(conn, ctx, Lookup::Id(*id)).await?;
                by_id.insert(*id, found);
            }
            _ => {}
        }
    }
    let destination_ids: BTreeSet<i64> = by_code
        .values()
        .chain(by_id.values())
        .flatten()
        .map(|org| org.id)
        .collect();
    let mut locked: HashMap<i64, organization::Model> = HashMap::new();
    for id in destination_ids {
        if let Some(org) = organizations::lock_for_new_members(conn, id).await? {
            locked.insert(id, org);
        }
    }
    let mut moves: Vec<(&membership::Model, organization::Model)> = Vec::new();
    for (official, target) in targets {
        let found = match &target {
            Target::Code(code) => by_code.get(code).cloned().flatten(),
            Target::Id(id) => by_id.get(id).cloned().flatten(),
        }
        .and_then(|org| locked.get(&org.id).cloned());
        let member_id = Some(official.member_id);
        let Some(destination) = found else {
            let code = match &target {
                Target::Code(code) => Some(code.as_str()),
                Target::Id(_) => None,
            };
            faults.push(fault(member_id, code, "destination not found"));
            continue;
        };
        if destination.id == cell.id {
            faults.push(fault(
                member_id,
                Some(&destination.code),
                "the destination is the cell being dissolved",
            ));
        } else if !organizations::is_active_cell(&destination) {
            faults.push(fault(
                member_id,
                Some(&destination.code),
                "the destination is not an ACTIVE CELL",
            ));
        } else {
            moves.push((official, destination));
        }
    }
    for official in &officials {
        if people
            .get(&official.member_id)
            .is_some_and(|p| matches!(p.status, MemberStatus::Removed | MemberStatus::Deceased))
        {
            faults.push(fault(
                Some(official.member_id),
                None,
                "the member is REMOVED or DECEASED",
            ));
        }
    }

    // "Now" is read after the locks, and never before a membership began.
    let effective_at = match input.effective_at {
        Some(at) => at,
        None => open
            .iter()
            .map(|m| m.started_at)
            .fold(crate::clock::now(), std::cmp::max),
    };
    for membership in &open {
        if effective_at < membership.started_at {
            faults.push(fault(
                Some(membership.member_id),
                None,
                "effectiveAt precedes the start of this member's membership",
            ));
        }
    }
    if !faults.is_empty() {
        faults.sort_by_key(|f| f.member_id);
        return Err(AppError::Faults {
            field: "transfers",
            message: format!(
                "{} cannot be dissolved as asked: {} problem(s); nothing changed",
                cell.code,
                faults.len()
            ),
            faults,
        });
    }

    let mut events = Vec::with_capacity(open.len());
    let event = |membership: &membership::Model, to: i64, kind: MembershipKind| {
        transfer_event::ActiveModel {
            submitter: Set(ctx.principal.subject.clone()),
            // Made by the registry: '/' never appears in a caller's externalId.
            external_id: Set(format!("dissolution/{}", membership.id)),
            request_hash: Set(request_hash(&input, membership.id, to)),
            member_id: Set(membership.member_id),
            from_organization_id: Set(Some(cell.id)),
            to_organization_id: Set(to),
            kind: Set(kind),
            reason: Set(TransferReason::Dissolution),
            decision_ref: Set(Some(input.decision_ref.clone())),
            effective_at: Set(effective_at),
            recorded_at: Set(now),
            ..Default::default()
        }
    };
    for (official, destination) in moves {
        let recorded = transfers::record_event(
            conn,
            event(official, destination.id, MembershipKind::Official),
        )
        .await?;
        transfers::close_membership(conn, official, &recorded).await?;
        transfers::open_membership(conn, &recorded).await?;
        events.push(recorded);
    }
    // Temporary activity in the cell ends; the member's official cell stays.
    for temporary in open.iter().filter(|m| m.kind == MembershipKind::Temporary) {
        let official_cell = membership::Entity::find()
            .filter(membership::Column::MemberId.eq(temporary.member_id))
            .filter(membership::Column::Kind.eq(MembershipKind::Official))
            .filter(membership::Column::EndedAt.is_null())
            .one(conn)
            .await?
            .map_or(cell.id, |m| m.organization_id);
        let recorded = transfers::record_event(
            conn,
            event(temporary, official_cell, MembershipKind::Temporary),
        )
        .await?;
        transfers::close_membership(conn, temporary, &recorded).await?;
        events.push(recorded);
    }
    events.sort_by_key(|e| (e.member_id, e.sequence));
    let organization = mark_dissolved(conn, cell, &input.decision_ref, effective_at, now).await?;
    Ok(Dissolution {
        organization,
        transfers: events,
    })
}
