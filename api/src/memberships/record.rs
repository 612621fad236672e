//! Writing memberships: every change of a member's cell is an event with the
//! next feed sequence, closing the membership it ends and opening the one it
//! starts, in the caller's transaction.

use chrono::{DateTime, Utc};
use entity::enums::{EventPhase, MemberStatus, MembershipKind, TransferReason};
use entity::{member, membership, transfer_event};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The counter feed sequences come from.
const FEED_COUNTER: &str = "transfer_event";

/// One change of a member's cell, as every writer states it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The caller's token subject; with `external_id`, the idempotency key.
    pub submitter: String,
    pub external_id: String,
    /// `request_hash` of the request's canonical content.
    pub request_hash: String,
    /// Null for an admission.
    pub from: Option<i64>,
    pub to: i64,
    pub kind: MembershipKind,
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    pub effective_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// The member an event moves, as the event keeps them: callers who see the
/// event but no longer the member are shown this record.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    pub id: i64,
    pub full_name: String,
    pub status: MemberStatus,
}

impl From<&member::Model> for MemberRecord {
    fn from(member: &member::Model) -> Self {
        Self {
            id: member.id,
            full_name: member.full_name.clone(),
            status: member.status,
        }
    }
}

/// Records an event with the next feed sequence. Sequences are handed out
/// here and in `number_events` only: the counter row's lock, held to
/// commit, makes commit order equal feed order.
pub async fn record_event<C: ConnectionTrait>(
    conn: &C,
    event: NewEvent,
    member: MemberRecord,
) -> Result<transfer_event::Model, AppError> {
    record_step(conn, event, member, EventPhase::Completed, None).await
}

/// Records one step of a move by letter (`record_event` for the rest):
/// its phase and the letter it belongs to.
pub async fn record_step<C: ConnectionTrait>(
    conn: &C,
    event: NewEvent,
    member: MemberRecord,
    phase: EventPhase,
    letter_id: Option<i64>,
) -> Result<transfer_event::Model, AppError> {
    let sequence = crate::database::next_counter(conn, FEED_COUNTER).await?;
    insert_event(conn, event, member, phase, letter_id, sequence).await
}

/// Records an event whose feed sequence `number_events` hands out later in
/// the same transaction, so that a writer of many events (a batch of
/// transfers) holds the feed counter only from then to its commit. Until
/// then the event carries a provisional sequence, above any the feed will
/// reach and drawn at random so that concurrent writers do not wait on each
/// other's; no other transaction ever sees it.
pub async fn record_event_unnumbered<C: ConnectionTrait>(
    conn: &C,
    event: NewEvent,
    member: MemberRecord,
) -> Result<transfer_event::Model, AppError> {
    let drawn = getrandom::u64().map_err(|err| {
        AppError::Internal(anyhow::anyhow!("no random provisional sequence: {err}"))
    })?;
    let provisional = PROVISIONAL_SEQUENCES + i64::try_from(drawn >> 2).unwrap_or(0);
    insert_event(
        conn,
        event,
        member,
        EventPhase::Completed,
        None,
        provisional,
    )
    .await
}

/// Where provisional sequences start: 2^62, beyond any real one (the feed
/// shows sequences as 32-bit integers).
const PROVISIONAL_SEQUENCES: i64 = 1 << 62;

/// Gives events recorded by `record_event_unnumbered` their feed sequences,
/// consecutive in the order given, and returns them in that order. The
/// counter's lock is held from here to commit: commit order stays feed order.
pub async fn number_events<C: ConnectionTrait>(
    conn: &C,
    event_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    use sea_orm::sea_query::CaseStatement;
    let Some(&first_id) = event_ids.first() else {
        return Ok(Vec::new());
    };
    let count = i64::try_from(event_ids.len())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("too many events to number")))?;
    let last = crate::database::advance_counter(conn, FEED_COUNTER, count).await?;
    let sequences: Vec<i64> = (last - count + 1..=last).collect();
    let mut numbering = CaseStatement::new();
    for (id, sequence) in event_ids.iter().zip(&sequences) {
        numbering = numbering.case(transfer_event::Column::Id.eq(*id), *sequence);
    }
    let numbered = transfer_event::Entity::update_many()
        .col_expr(
            transfer_event::Column::Sequence,
            numbering
                .finally(Expr::col(transfer_event::Column::Sequence))
                .into(),
        )
        .filter(transfer_event::Column::Id.is_in(event_ids.iter().copied()))
        .exec(conn)
        .await?;
    if numbered.rows_affected != u64::try_from(event_ids.len()).unwrap_or(u64::MAX) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "numbered {} of {} events from event {first_id}",
            numbered.rows_affected,
            event_ids.len()
        )));
    }
    Ok(sequences)
}

async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    event: NewEvent,
    member: MemberRecord,
    phase: EventPhase,
    letter_id: Option<i64>,
    sequence: i64,
) -> Result<transfer_event::Model, AppError> {
    let row = transfer_event::ActiveModel {
        sequence: Set(sequence),
        submitter: Set(event.submitter),
        external_id: Set(event.external_id),
        request_hash: Set(event.request_hash),
        member_id: Set(member.id),
        from_organization_id: Set(event.from),
        to_organization_id: Set(event.to),
        kind: Set(event.kind),
        reason: Set(event.reason),
        decision_ref: Set(event.decision_ref),
        effective_at: Set(event.effective_at),
        recorded_at: Set(event.recorded_at),
        member_full_name: Set(Some(member.full_name)),
        member_status: Set(Some(member.status)),
        phase: Set(phase),
        letter_id: Set(letter_id),
        ..Default::default()
    };
    Ok(row.insert(conn).await?)
}

/// Opens the membership an event starts: at its destination, of its kind, from its instant.
pub async fn open_membership<C: ConnectionTrait>(
    conn: &C,
    event: &transfer_event::Model,
) -> Result<membership::Model, AppError> {
    open_membership_until(conn, event, None).await
}

/// `open_membership` for temporary activity due to end on a day.
pub async fn open_membership_until<C: ConnectionTrait>(
    conn: &C,
    event: &transfer_event::Model,
    ends_on: Option<chrono::NaiveDate>,
) -> Result<membership::Model, AppError> {
    Ok(membership::ActiveModel {
        ends_on: Set(ends_on),
        member_id: Set(event.member_id),
        organization_id: Set(event.to_organization_id),
        kind: Set(event.kind),
        started_at: Set(event.effective_at),
        ended_at: Set(None),
        opened_by_event_id: Set(event.id),
        closed_by_event_id: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Closes the membership an event ends, at the event's instant.
/// Conditional: if another transaction closed it first, the whole
/// transaction fails and nothing is half-applied.
pub async fn close_membership<C: ConnectionTrait>(
    conn: &C,
    closing: &membership::Model,
    event: &transfer_event::Model,
) -> Result<(), AppError> {
    let closed = membership::Entity::update_many()
        .col_expr(membership::Column::EndedAt, Expr::value(event.effective_at))
        .col_expr(membership::Column::ClosedByEventId, Expr::value(event.id))
        .filter(membership::Column::Id.eq(closing.id))
        .filter(membership::Column::EndedAt.is_null())
        .exec(conn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the member was transferred concurrently; retry".to_owned(),
        ));
    }
    Ok(())
}

/// The latest feed sequence handed out (0 before the first event).
pub async fn last_sequence<C: ConnectionTrait>(conn: &C) -> Result<i64, AppError> {
    Ok(entity::counter::Entity::find_by_id(FEED_COUNTER.to_owned())
        .one(conn)
        .await?
        .map_or(0, |counter| counter.last_value))
}

/// When an event takes effect if the caller did not say: now, but never
/// before a membership it closes began (a membership may start in the
/// future by up to the tolerated clock skew).
pub fn effective_instant(
    given: Option<DateTime<Utc>>,
    closing_starts: impl IntoIterator<Item = DateTime<Utc>>,
) -> DateTime<Utc> {
    given.unwrap_or_else(|| {
        closing_starts
            .into_iter()
            .fold(crate::clock::now(), std::cmp::max)
    })
}

/// The request hash an event keeps with its idempotency key: SHA-256 of the
/// request's canonical JSON (its content with defaults filled), so a retry
/// with the same key is told from a different request under that key.
pub fn request_hash(canonical: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}
