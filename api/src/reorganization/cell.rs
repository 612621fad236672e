//! Dissolving a cell, step by step, inside the dissolution's unit of work:
//! collect (lock the cell and its members, read who is there), route (where
//! each official member goes), check (every fault at once, or nothing
//! changes), move (one DISSOLUTION event per membership) and close (the cell
//! becomes DISSOLVED).

use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, OrganizationStatus, TransferReason};
use entity::{member, membership, organization, transfer_event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::dissolution::{
    Dissolution, Dissolve, Routing, already_dissolved, fault, lock_for_dissolution, mark_dissolved,
};
use crate::auth::Ctx;
use crate::auth::policy::Visible;
use crate::domain::has_left_the_party;
use crate::error::{AppError, Fault};
use crate::members::lookup::{self as members, MemberRef};
use crate::memberships::record::{self, MemberRecord, NewEvent};
use crate::organizations::service::{self as organizations, Lookup};

/// A cell: every official member moves to their destination, every
/// temporary activity in the cell ends, and the cell becomes DISSOLVED.
pub(super) async fn dissolve_cell<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    org: organization::Model,
    input: &Dissolve,
    now: DateTime<Utc>,
) -> Result<Dissolution, AppError> {
    let present = collect(conn, org.id).await?;
    let mut faults = Vec::new();
    let targets = route(&present, input, &mut faults);
    let moves = resolve_destinations(conn, ctx, &present.cell, targets, &mut faults).await?;
    let effective_at = check(&present, input, &mut faults)?;
    let events = move_members(conn, ctx, &present, &moves, input, effective_at, now).await?;
    let organization =
        mark_dissolved(conn, present.cell, &input.decision_ref, effective_at, now).await?;
    Ok(Dissolution {
        organization,
        transfers: events,
    })
}

/// Who is in the cell, under the locks that keep it so.
struct Present {
    cell: organization::Model,
    /// Open memberships, official and temporary, by member.
    open: Vec<membership::Model>,
    people: HashMap<i64, member::Model>,
}

impl Present {
    fn officials(&self) -> impl Iterator<Item = &membership::Model> {
        self.open
            .iter()
            .filter(|m| m.kind == MembershipKind::Official)
    }
}

/// Step 1: lock the cell's members and the cell, and read who is there.
async fn collect<C: ConnectionTrait>(conn: &C, cell_id: i64) -> Result<Present, AppError> {
    let (cell, open) = lock_open_memberships(conn, cell_id).await?;
    if cell.status == OrganizationStatus::Dissolved {
        return Err(already_dissolved(&cell));
    }
    let member_ids: Vec<i64> = open.iter().map(|m| m.member_id).collect();
    let people = members::by_ids(conn, &member_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(Present { cell, open, people })
}

/// The open memberships of a cell, with every member concerned locked, so
/// none of them can move while the dissolution runs. Members who joined
/// between the read and the locks are locked in another round.
pub(super) async fn lock_open_memberships<C: ConnectionTrait>(
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

/// Where an official member is to go, before the destination is looked up.
enum Target {
    Code(String),
    Id(i64),
}

/// Step 2: each official member's destination: the one given explicitly,
/// else (BY_RESIDENCE) the residence cell. Members named wrongly or twice,
/// and members with nowhere to go, become faults.
fn route<'p>(
    present: &'p Present,
    input: &Dissolve,
    faults: &mut Vec<Fault>,
) -> Vec<(&'p membership::Model, Target)> {
    let explicit = explicit_destinations(present, input, faults);
    let mut targets = Vec::new();
    for official in present.officials() {
        let member_id = official.member_id;
        if let Some(code) = explicit.get(&member_id) {
            targets.push((official, Target::Code(code.clone())));
            continue;
        }
        let residence = present
            .people
            .get(&member_id)
            .and_then(|p| p.residence_cell_id);
        match (&input.routing, residence) {
            (Routing::ByResidence, Some(residence)) => {
                targets.push((official, Target::Id(residence)))
            }
            (Routing::ByResidence, None) => faults.push(fault(
                Some(member_id),
                None,
                "no destination given and no residence cell recorded",
            )),
            (Routing::Into(code), _) => targets.push((official, Target::Code(code.clone()))),
            (Routing::Explicit, _) => {
                faults.push(fault(Some(member_id), None, "no destination given"))
            }
        }
    }
    targets
}

/// The explicit destinations, by member id.
fn explicit_destinations(
    present: &Present,
    input: &Dissolve,
    faults: &mut Vec<Fault>,
) -> BTreeMap<i64, String> {
    let mut explicit = BTreeMap::new();
    for destination in &input.destinations {
        let named = match &destination.member {
            Some(MemberRef::Id(id)) => present
                .officials()
                .find(|m| m.member_id == *id)
                .map(|m| m.member_id),
            Some(MemberRef::NationalId(national_id)) => present
                .officials()
                .find(|m| {
                    present
                        .people
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
    explicit
}

/// Step 3: the destination cells, each looked up once, in scope, locked in
/// id order; those that cannot take members become faults.
async fn resolve_destinations<'p, C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    cell: &organization::Model,
    targets: Vec<(&'p membership::Model, Target)>,
    faults: &mut Vec<Fault>,
) -> Result<Vec<(&'p membership::Model, organization::Model)>, AppError> {
    let mut by_code: HashMap<String, Option<organization::Model>> = HashMap::new();
    let mut by_id: HashMap<i64, Option<organization::Model>> = HashMap::new();
    for (_, target) in &targets {
        match target {
            Target::Code(code) if !by_code.contains_key(code) => {
                let found = organizations::find(conn, ctx, Lookup::Code(code.clone()))
                    .await?
                    .map(Visible::into_inner);
                by_code.insert(code.clone(), found);
            }
            Target::Id(id) if !by_id.contains_key(id) => {
                let found = organizations::find(conn, ctx, Lookup::Id(*id))
                    .await?
                    .map(Visible::into_inner);
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
    let mut moves = Vec::new();
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
    Ok(moves)
}

/// Step 4: the remaining faults (members who left the party, an instant
/// before a membership began); any fault refuses the whole dissolution.
/// Answers the instant the dissolution takes effect.
fn check(
    present: &Present,
    input: &Dissolve,
    faults: &mut Vec<Fault>,
) -> Result<DateTime<Utc>, AppError> {
    for official in present.officials() {
        let person = present.people.get(&official.member_id);
        if person.is_some_and(|p| has_left_the_party(p.status)) {
            faults.push(fault(
                Some(official.member_id),
                None,
                "the member is REMOVED or DECEASED",
            ));
        }
    }
    // "Now" is read after the locks, and never before a membership began.
    let effective_at = record::effective_instant(
        input.effective_at,
        present.open.iter().map(|m| m.started_at),
    );
    for membership in &present.open {
        if effective_at < membership.started_at {
            faults.push(fault(
                Some(membership.member_id),
                None,
                "effectiveAt precedes the start of this member's membership",
            ));
        }
    }
    if faults.is_empty() {
        return Ok(effective_at);
    }
    let mut faults = std::mem::take(faults);
    faults.sort_by_key(|f| f.member_id);
    Err(AppError::Faults {
        field: "transfers",
        message: format!(
            "{} cannot be dissolved as asked: {} problem(s); nothing changed",
            present.cell.code,
            faults.len()
        ),
        faults,
    })
}

fn request_hash(input: &Dissolve, membership_id: i64, to_id: i64) -> String {
    let canonical = serde_json::json!([
        "dissolveOrganization",
        input.organization_code,
        input.decision_ref,
        membership_id,
        to_id,
    ]);
    record::request_hash(&canonical)
}

/// Step 5: one DISSOLUTION event per membership: official members move to
/// their destinations; temporary activity in the cell ends, the member's
/// official cell staying as it is.
async fn move_members<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    present: &Present,
    moves: &[(&membership::Model, organization::Model)],
    input: &Dissolve,
    effective_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<transfer_event::Model>, AppError> {
    let event = |membership: &membership::Model, to: i64, kind: MembershipKind| NewEvent {
        submitter: ctx.principal.subject.clone(),
        // Made by the registry: '/' never appears in a caller's externalId.
        external_id: format!("dissolution/{}", membership.id),
        request_hash: request_hash(input, membership.id, to),
        from: Some(present.cell.id),
        to,
        kind,
        reason: TransferReason::Dissolution,
        decision_ref: Some(input.decision_ref.clone()),
        effective_at,
        recorded_at: now,
    };
    let member = |membership: &membership::Model| -> Result<MemberRecord, AppError> {
        present
            .people
            .get(&membership.member_id)
            .map(MemberRecord::from)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a membership without its member")))
    };
    let mut events = Vec::with_capacity(present.open.len());
    for (official, destination) in moves {
        let recorded = record::record_event(
            conn,
            event(official, destination.id, MembershipKind::Official),
            member(official)?,
        )
        .await?;
        record::close_membership(conn, official, &recorded).await?;
        record::open_membership(conn, &recorded).await?;
        events.push(recorded);
    }
    let temporaries = present
        .open
        .iter()
        .filter(|m| m.kind == MembershipKind::Temporary);
    for temporary in temporaries {
        let official_cell = membership::Entity::find()
            .filter(membership::Column::MemberId.eq(temporary.member_id))
            .filter(membership::Column::Kind.eq(MembershipKind::Official))
            .filter(membership::Column::EndedAt.is_null())
            .one(conn)
            .await?
            .map_or(present.cell.id, |m| m.organization_id);
        let recorded = record::record_event(
            conn,
            event(temporary, official_cell, MembershipKind::Temporary),
            member(temporary)?,
        )
        .await?;
        record::close_membership(conn, temporary, &recorded).await?;
        events.push(recorded);
    }
    events.sort_by_key(|e| (e.member_id, e.sequence));
    Ok(events)
}
