//! The steps after issue, each one unit of work with its feed event and
//! audit row: the receiving side receives a letter by placing the member in
//! one of its ACTIVE CELLs (ARRIVED), or the sending side cancels it before
//! receipt and the member returns (RETURNED). Both lock the member and end
//! the letter conditionally, so of a receipt and a cancellation racing for
//! one letter exactly one wins.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{EventPhase, LetterStatus, MembershipKind};
use entity::{letter, member, membership, organization, transfer_event};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};

use super::rules;
use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission};
use crate::domain::OrganizationCode;
use crate::error::AppError;
use crate::memberships::record::{self, NewEvent};
use crate::organizations::service::{self as organizations, Lookup};
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `receiveLetter`.
#[derive(Debug, Clone)]
pub struct ReceiveLetter {
    pub letter_id: i64,
    /// The ACTIVE CELL of the destination's subtree the member joins.
    pub cell_code: String,
    /// The day the member presented the letter (default: today).
    pub received_on: Option<NaiveDate>,
    /// Required when the letter is presented after its deadline.
    pub late_reason: Option<String>,
}

/// Input of `cancelLetter`.
#[derive(Debug, Clone)]
pub struct CancelLetter {
    pub letter_id: i64,
    /// Where an OFFICIAL letter's member returns when the cell they left
    /// has been dissolved since; default: the cell left.
    pub return_cell_code: Option<String>,
    /// The day of the cancellation (default: today).
    pub cancelled_on: Option<NaiveDate>,
}

/// Points an event at the letter it is a step of.
pub(super) async fn link_event<C: ConnectionTrait>(
    conn: &C,
    event_id: i64,
    letter_id: i64,
) -> Result<(), AppError> {
    transfer_event::Entity::update_many()
        .col_expr(transfer_event::Column::LetterId, Expr::value(letter_id))
        .filter(transfer_event::Column::Id.eq(event_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The letter, its member locked, and its two ends; NOT_FOUND unless the
/// caller sees the end `side` names.
struct Locked {
    letter: letter::Model,
    member: member::Model,
    from_cell: organization::Model,
    destination: organization::Model,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Sending,
    Receiving,
}

async fn lock_letter(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    letter_id: i64,
    side: Side,
) -> Result<Locked, AppError> {
    let found = letter::Entity::find_by_id(letter_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("letter"))?;
    let end = match side {
        Side::Sending => found.from_cell_id,
        Side::Receiving => found.to_organization_id,
    };
    // The other side's letter does not exist for this step.
    organizations::find(txn, ctx, Lookup::Id(end))
        .await?
        .ok_or(AppError::NotFound("letter"))?;
    let member = member::Entity::find_by_id(found.member_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    // Read again under the member's lock: a step that waited sees the one before it.
    let letter = letter::Entity::find_by_id(letter_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("letter"))?;
    if letter.status != LetterStatus::Open {
        return Err(AppError::conflict_on(
            "letterId",
            format!("the letter is already {}", letter.status.to_value()),
        ));
    }
    let ends =
        organizations::by_ids(txn, &[letter.from_cell_id, letter.to_organization_id]).await?;
    let end = |id: i64| {
        ends.iter()
            .find(|org| org.id == id)
            .cloned()
            .ok_or(AppError::NotFound("organization"))
    };
    Ok(Locked {
        from_cell: end(letter.from_cell_id)?,
        destination: end(letter.to_organization_id)?,
        letter,
        member,
    })
}

/// Ends an open letter; refused if another step ended it first.
async fn close_letter<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    letter: &letter::Model,
    status: LetterStatus,
    event: &transfer_event::Model,
    received: Option<(i64, Option<String>)>,
) -> Result<letter::Model, AppError> {
    let (cell, late_reason) = received.unwrap_or((0, None));
    let mut update = letter::Entity::update_many()
        .col_expr(letter::Column::Status, Expr::value(status))
        .col_expr(letter::Column::ClosedEventId, Expr::value(event.id))
        .col_expr(letter::Column::ClosedAt, Expr::value(event.recorded_at))
        .col_expr(
            letter::Column::ClosedBy,
            Expr::value(ctx.principal.subject.clone()),
        );
    if status == LetterStatus::Received {
        update = update
            .col_expr(letter::Column::ReceivedCellId, Expr::value(cell))
            .col_expr(letter::Column::LateReason, Expr::value(late_reason));
    }
    let done = update
        .filter(letter::Column::Id.eq(letter.id))
        .filter(letter::Column::Status.eq(LetterStatus::Open))
        .exec(conn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::conflict_on(
            "letterId",
            "the letter was received or cancelled concurrently",
        ));
    }
    letter::Entity::find_by_id(letter.id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("letter"))
}

fn step(
    ctx: &Ctx,
    letter: &letter::Model,
    suffix: &str,
    to: i64,
    effective_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        submitter: ctx.principal.subject.clone(),
        external_id: format!("letter/{}/{suffix}", letter.id),
        request_hash: record::request_hash(&serde_json::json!([suffix, letter.id, to])),
        from: Some(letter.from_cell_id),
        to,
        kind: letter.kind,
        reason: letter.reason,
        decision_ref: letter.decision_ref.clone(),
        effective_at,
        recorded_at: now,
    }
}

/// `receiveLetter`.
pub async fn receive(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: ReceiveLetter,
) -> Result<Visible<letter::Model>, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for ReceiveLetter {
    type Output = Visible<letter::Model>;
    const ACTION: &'static str = "receiveLetter";

    fn target(&self) -> String {
        format!("letter:{}", self.letter_id)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<Visible<letter::Model>>, AppError> {
        ctx.principal.require(Permission::SubmitTransfers)?;
        OrganizationCode::parse("cellCode", &self.cell_code)?;
        let late_reason = match self.late_reason.as_deref().map(str::trim) {
            Some("") => return Err(AppError::invalid("lateReason", "must not be blank")),
            Some(text) if text.chars().count() > 1000 => {
                return Err(AppError::invalid("lateReason", "at most 1000 characters"));
            }
            other => other.map(str::to_owned),
        };
        let now = crate::clock::now();
        let today = now.date_naive();
        let received_on = self.received_on.unwrap_or(today);
        if received_on > today {
            return Err(AppError::invalid("receivedOn", "must not be in the future"));
        }
        let locked = lock_letter(txn, ctx, self.letter_id, Side::Receiving).await?;
        let letter = &locked.letter;
        if received_on < letter.issued_on {
            return Err(AppError::invalid(
                "receivedOn",
                "must not precede the issue",
            ));
        }
        let overdue = rules::days_overdue(letter.present_by, received_on);
        if overdue > 0 && late_reason.is_none() {
            return Err(AppError::invalid(
                "lateReason",
                format!(
                    "the letter was due by {} ({overdue} day(s) late): give the reason",
                    letter.present_by
                ),
            ));
        }
        // A member under inspection, complaint or discipline is not moved:
        // a hold placed while the letter was on its way stops the receipt too.
        crate::holds::service::refuse_if_held(txn, letter.member_id).await?;
        let cell =
            organizations::find_for_new_members(txn, ctx, Lookup::Code(self.cell_code.clone()))
                .await?
                .ok_or(AppError::NotFound("cell"))?;
        let inside = crate::tree::path_ids(&cell.path).contains(&locked.destination.id);
        if !inside || !organizations::is_active_cell(&cell) {
            return Err(AppError::conflict_on(
                "cellCode",
                format!(
                    "the member joins an ACTIVE CELL of {}",
                    locked.destination.code
                ),
            ));
        }
        let issued = transfer_event::Entity::find_by_id(letter.issued_event_id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("transfer event"))?;
        let effective_at =
            std::cmp::max(rules::instant_of_day(received_on, now), issued.effective_at);
        if letter.kind == MembershipKind::Temporary {
            let open_there = membership::Entity::find()
                .filter(membership::Column::MemberId.eq(letter.member_id))
                .filter(membership::Column::OrganizationId.eq(cell.id))
                .filter(membership::Column::EndedAt.is_null())
                .one(txn)
                .await?;
            if open_there.is_some() {
                return Err(AppError::conflict_on(
                    "cellCode",
                    "the member is already active in this cell",
                ));
            }
        }
        let event = record::record_step(
            txn,
            step(ctx, letter, "received", cell.id, effective_at, now),
            (&locked.member).into(),
            EventPhase::Arrived,
            Some(letter.id),
        )
        .await?;
        record::open_membership_until(txn, &event, letter.ends_on).await?;
        let received = close_letter(
            txn,
            ctx,
            letter,
            LetterStatus::Received,
            &event,
            Some((cell.id, late_reason)),
        )
        .await?;
        let sealed = ctx
            .principal
            .letter(received, &locked.from_cell, &locked.destination)
            .ok_or(AppError::NotFound("letter"))?;
        Ok(Done::new(sealed, cell.path))
    }
}

/// `cancelLetter`.
pub async fn cancel(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CancelLetter,
) -> Result<Visible<letter::Model>, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for CancelLetter {
    type Output = Visible<letter::Model>;
    const ACTION: &'static str = "cancelLetter";

    fn target(&self) -> String {
        format!("letter:{}", self.letter_id)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<Visible<letter::Model>>, AppError> {
        ctx.principal.require(Permission::SubmitTransfers)?;
        if let Some(code) = &self.return_cell_code {
            OrganizationCode::parse("returnCellCode", code)?;
        }
        let now = crate::clock::now();
        let locked = lock_letter(txn, ctx, self.letter_id, Side::Sending).await?;
        let letter = &locked.letter;
        let issued = transfer_event::Entity::find_by_id(letter.issued_event_id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("transfer event"))?;
        let cancelled_on = self.cancelled_on.unwrap_or(now.date_naive());
        if cancelled_on > now.date_naive() {
            return Err(AppError::invalid(
                "cancelledOn",
                "must not be in the future",
            ));
        }
        if cancelled_on < letter.issued_on {
            return Err(AppError::invalid(
                "cancelledOn",
                "must not precede the issue",
            ));
        }
        let effective_at = std::cmp::max(
            rules::instant_of_day(cancelled_on, now),
            issued.effective_at,
        );
        let back_to = match letter.kind {
            // A temporary letter never ended the official membership: the event names it.
            MembershipKind::Temporary => membership::Entity::find()
                .filter(membership::Column::MemberId.eq(letter.member_id))
                .filter(membership::Column::Kind.eq(MembershipKind::Official))
                .filter(membership::Column::EndedAt.is_null())
                .one(txn)
                .await?
                .map_or(letter.from_cell_id, |m| m.organization_id),
            MembershipKind::Official => return_cell(txn, ctx, &locked, self).await?.id,
        };
        let event = record::record_step(
            txn,
            step(ctx, letter, "cancelled", back_to, effective_at, now),
            (&locked.member).into(),
            EventPhase::Returned,
            Some(letter.id),
        )
        .await?;
        if letter.kind == MembershipKind::Official {
            record::open_membership(txn, &event).await?;
        }
        let cancelled =
            close_letter(txn, ctx, letter, LetterStatus::Cancelled, &event, None).await?;
        let sealed = ctx
            .principal
            .letter(cancelled, &locked.from_cell, &locked.destination)
            .ok_or(AppError::NotFound("letter"))?;
        Ok(Done::new(sealed, locked.from_cell.path.clone()))
    }
}

/// Where an OFFICIAL letter's member returns: the cell left, or, when it has
/// been dissolved since, the ACTIVE CELL the caller names in their scope.
async fn return_cell(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    locked: &Locked,
    input: &CancelLetter,
) -> Result<organization::Model, AppError> {
    let lookup = match &input.return_cell_code {
        Some(code) => Lookup::Code(code.clone()),
        None => Lookup::Id(locked.from_cell.id),
    };
    let cell = organizations::find_for_new_members(txn, ctx, lookup)
        .await?
        .ok_or(AppError::NotFound("cell"))?;
    if organizations::is_active_cell(&cell) {
        return Ok(cell);
    }
    let message = if input.return_cell_code.is_some() {
        format!("{} is not an ACTIVE CELL", cell.code)
    } else {
        format!(
            "the cell left, {}, is no longer active: name the ACTIVE CELL the member returns to",
            cell.code
        )
    };
    Err(AppError::conflict_on("returnCellCode", message))
}
