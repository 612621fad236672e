//! Writing memberships: every change of a member's cell is an event with the
//! next feed sequence, closing the membership it ends and opening the one it
//! starts, in the caller's transaction.

use chrono::{DateTime, Utc};
use entity::{member, membership, transfer_event};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::AppError;

/// The counter feed sequences come from.
const FEED_COUNTER: &str = "transfer_event";

/// Records an event with the next feed sequence. The only place sequences
/// are handed out: the counter row's lock, held to commit, makes commit
/// order equal feed order.
/// The event keeps the member as they are at that moment (name and
/// status): callers who see the event but no longer the member are shown
/// this snapshot. Callers holding the member's row set it themselves
/// (`with_member_snapshot`); otherwise it is read here.
pub async fn record_event<C: ConnectionTrait>(
    conn: &C,
    mut event: transfer_event::ActiveModel,
) -> Result<transfer_event::Model, AppError> {
    if event.member_full_name.is_not_set() || event.member_status.is_not_set() {
        let member_id = match &event.member_id {
            sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
            sea_orm::ActiveValue::NotSet => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "an event without its member"
                )));
            }
        };
        let member = member::Entity::find_by_id(member_id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an event for an unknown member")))?;
        event = with_member_snapshot(event, &member);
    }
    event.sequence = Set(crate::database::next_counter(conn, FEED_COUNTER).await?);
    Ok(event.insert(conn).await?)
}

/// Sets the event's member and the snapshot of them it keeps.
pub fn with_member_snapshot(
    mut event: transfer_event::ActiveModel,
    member: &member::Model,
) -> transfer_event::ActiveModel {
    event.member_id = Set(member.id);
    event.member_full_name = Set(Some(member.full_name.clone()));
    event.member_status = Set(Some(member.status));
    event
}

/// Opens the membership an event starts: at its destination, of its kind, from its instant.
pub async fn open_membership<C: ConnectionTrait>(
    conn: &C,
    event: &transfer_event::Model,
) -> Result<membership::Model, AppError> {
    Ok(membership::ActiveModel {
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
