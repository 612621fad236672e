//! What merges and splits share: ending a source (its children moved and
//! its members routed first) with MERGED or SPLIT, the succession rows that
//! lead from it to the organizations that took over, and one audit row per
//! organization touched.

use chrono::{DateTime, Utc};
use entity::enums::{OrganizationKind, OrganizationStatus};
use entity::{organization, organization_succession, transfer_event};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::cell::dissolve_cell;
use super::committee::dissolve_committee;
use super::dissolution::{Dissolve, Routing, fault};
use crate::audit::service::{Entry, Outcome, append};
use crate::auth::Ctx;
use crate::error::{AppError, Fault};
use crate::organizations::history::{self, Changed};

/// How a source ends.
pub(super) struct Ending<'a> {
    pub action: &'static str,
    pub ended_as: OrganizationStatus,
    pub decision_ref: &'a str,
    pub effective_at: DateTime<Utc>,
    /// The organizations that take over.
    pub successors: &'a [i64],
    /// Whether the source needs an audit row of its own (it has none when
    /// the mutation's own row is about it).
    pub audit_source: bool,
}

/// Ends a source whose active children were moved already: a committee
/// as an empty committee is dissolved, a cell with its members routed as
/// `routing` says. Then it is marked MERGED or SPLIT, its history records
/// it, and it leads to its successors. Answers the events of the members moved.
pub(super) async fn end_source<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    source: organization::Model,
    routing: Routing,
    destinations: Vec<super::dissolution::Destination>,
    ending: &Ending<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<transfer_event::Model>, AppError> {
    let dissolve = Dissolve {
        organization_code: source.code.clone(),
        decision_ref: ending.decision_ref.to_owned(),
        effective_at: Some(ending.effective_at),
        destinations,
        routing,
    };
    let done = if source.kind == OrganizationKind::Cell {
        dissolve_cell(conn, ctx, source, &dissolve, now).await?
    } else {
        dissolve_committee(conn, source, &dissolve, now).await?
    };
    let mut ended: organization::ActiveModel = done.organization.clone().into();
    ended.ended_as = Set(Some(ending.ended_as));
    let ended = ended.update(conn).await?;
    history::record(conn, Changed::Ids(&[ended.id]), ending.effective_at).await?;
    for successor in ending.successors {
        organization_succession::ActiveModel {
            predecessor_id: Set(ended.id),
            successor_id: Set(*successor),
            effective_at: Set(ending.effective_at),
            decision_ref: Set(ending.decision_ref.to_owned()),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    if ending.audit_source {
        audit_touched(conn, ctx, ending.action, &ended).await?;
    }
    Ok(done.transfers)
}

/// One ALLOWED audit row for an organization a merge or split touched
/// (the unit of work writes the row of the mutation itself).
pub(super) async fn audit_touched<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    action: &str,
    org: &organization::Model,
) -> Result<(), AppError> {
    let mut entry = Entry::for_caller(ctx, action, &org.code, Outcome::Allowed, None);
    entry.scope_path = Some(org.path.clone());
    append(conn, entry).await
}

/// A refusal listing every fault; nothing changed.
pub(super) fn refused(field: &'static str, what: &str, faults: Vec<Fault>) -> AppError {
    AppError::Faults {
        field,
        message: format!(
            "{what} refused: {} problem(s); nothing changed",
            faults.len()
        ),
        faults,
    }
}

/// The fault of a source that cannot end now, if any.
pub(super) fn not_active(source: &organization::Model) -> Option<Fault> {
    (source.status != OrganizationStatus::Active).then(|| {
        fault(
            None,
            Some(&source.code),
            format!(
                "already ended ({:?}, decision {})",
                source.shown_status(),
                source
                    .dissolution_decision
                    .as_deref()
                    .unwrap_or("unrecorded")
            ),
        )
    })
}

/// For each of several organizations, those it ended into (`successors`)
/// or those that ended into it (`predecessors`), in id order.
pub async fn succession_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    predecessors: bool,
) -> Result<std::collections::HashMap<i64, Vec<i64>>, AppError> {
    use sea_orm::QueryOrder;
    let (by, other) = if predecessors {
        (
            organization_succession::Column::SuccessorId,
            organization_succession::Column::PredecessorId,
        )
    } else {
        (
            organization_succession::Column::PredecessorId,
            organization_succession::Column::SuccessorId,
        )
    };
    let mut found: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for row in organization_succession::Entity::find()
        .filter(by.is_in(ids.iter().copied()))
        .order_by_asc(other)
        .all(conn)
        .await?
    {
        let (key, value) = if predecessors {
            (row.successor_id, row.predecessor_id)
        } else {
            (row.predecessor_id, row.successor_id)
        };
        found.entry(key).or_default().push(value);
    }
    Ok(found)
}
