//! Placing and releasing holds, each in one unit of work with its audit row,
//! and the check every move of a member makes.

use entity::enums::HoldReason;
use entity::{member, member_hold};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::BTreeSet;

use crate::auth::policy::{Visible, hold_of};
use crate::auth::{Ctx, Permission};
use crate::domain::DecisionRef;
use crate::error::AppError;
use crate::members::lookup::{self as members, MemberLookup, MemberRef};
use crate::memberships::read::latest_official_path;
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `placeHold`.
#[derive(Debug, Clone)]
pub struct PlaceHold {
    pub member: Option<MemberRef>,
    pub reason: HoldReason,
    pub decision_ref: String,
}

/// Input of `releaseHold`.
#[derive(Debug, Clone)]
pub struct ReleaseHold {
    pub hold_id: i64,
    pub decision_ref: Option<String>,
}

/// The member a hold names, in the caller's scope, locked to commit so no
/// move of theirs runs beside the hold's change.
async fn locked_member(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    member: Option<&MemberRef>,
) -> Result<member::Model, AppError> {
    let lookup = match member.cloned() {
        Some(MemberRef::Id(id)) => MemberLookup::Id(id),
        Some(MemberRef::NationalId(national_id)) => MemberLookup::NationalId(national_id),
        None => return Err(AppError::NotFound("member")),
    };
    let found = members::find(txn, ctx, lookup)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    member::Entity::find_by_id(found.model.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("member"))
}

/// `placeHold`.
pub async fn place(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: PlaceHold,
) -> Result<Visible<member_hold::Model>, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for PlaceHold {
    type Output = Visible<member_hold::Model>;
    const ACTION: &'static str = "placeHold";

    fn target(&self) -> String {
        match &self.member {
            Some(MemberRef::Id(id)) => format!("member:{id}"),
            Some(MemberRef::NationalId(_)) => "member:by-national-id".to_owned(),
            None => "member:?".to_owned(),
        }
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<Visible<member_hold::Model>>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        MemberRef::check(self.member.as_ref(), "memberId")?;
        DecisionRef::parse("decisionRef", &self.decision_ref)?;
        let member = locked_member(txn, ctx, self.member.as_ref()).await?;
        if crate::domain::has_left_the_party(member.status) {
            return Err(AppError::Conflict(format!(
                "the member is {}",
                member.status.to_value()
            )));
        }
        let already = member_hold::Entity::find()
            .filter(member_hold::Column::MemberId.eq(member.id))
            .filter(member_hold::Column::Reason.eq(self.reason))
            .filter(member_hold::Column::ReleasedAt.is_null())
            .one(txn)
            .await?;
        if let Some(open) = already {
            return Err(AppError::conflict_on(
                "reason",
                format!(
                    "the member is already under {} hold {}",
                    open.reason.to_value(),
                    open.id
                ),
            ));
        }
        let hold = member_hold::ActiveModel {
            member_id: Set(member.id),
            reason: Set(self.reason),
            decision_ref: Set(self.decision_ref.clone()),
            placed_at: Set(crate::clock::now()),
            placed_by: Set(ctx.principal.subject.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let path = latest_official_path(txn, member.id).await?;
        Ok(Done::new(seal(txn, ctx, member, hold).await?, path))
    }
}

/// `releaseHold`.
pub async fn release(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: ReleaseHold,
) -> Result<Visible<member_hold::Model>, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for ReleaseHold {
    type Output = Visible<member_hold::Model>;
    const ACTION: &'static str = "releaseHold";

    fn target(&self) -> String {
        format!("hold:{}", self.hold_id)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<Visible<member_hold::Model>>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        if let Some(decision) = &self.decision_ref {
            DecisionRef::parse("decisionRef", decision)?;
        }
        let hold = member_hold::Entity::find_by_id(self.hold_id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("hold"))?;
        // A hold on a member the caller cannot see does not exist for them.
        let member = locked_member(txn, ctx, Some(&MemberRef::Id(hold.member_id)))
            .await
            .map_err(|_| AppError::NotFound("hold"))?;
        let released = member_hold::Entity::update_many()
            .col_expr(
                member_hold::Column::ReleasedAt,
                sea_orm::sea_query::Expr::value(crate::clock::now()),
            )
            .col_expr(
                member_hold::Column::ReleasedBy,
                sea_orm::sea_query::Expr::value(ctx.principal.subject.clone()),
            )
            .col_expr(
                member_hold::Column::ReleaseDecisionRef,
                sea_orm::sea_query::Expr::value(self.decision_ref.clone()),
            )
            .filter(member_hold::Column::Id.eq(hold.id))
            .filter(member_hold::Column::ReleasedAt.is_null())
            .exec(txn)
            .await?;
        if released.rows_affected != 1 {
            return Err(AppError::conflict_on(
                "holdId",
                "the hold is already released",
            ));
        }
        let hold = member_hold::Entity::find_by_id(hold.id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("hold"))?;
        let path = latest_official_path(txn, member.id).await?;
        Ok(Done::new(seal(txn, ctx, member, hold).await?, path))
    }
}

/// A hold on a member the caller found, as the policy lets them see it.
async fn seal<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    member: member::Model,
    hold: member_hold::Model,
) -> Result<Visible<member_hold::Model>, AppError> {
    let member = members::visible(conn, ctx, member)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    hold_of(&member, hold).ok_or(AppError::NotFound("hold"))
}

/// A member's holds (open ones only, or all), oldest first; none for a
/// member the caller cannot see.
pub async fn holds_seen<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    member_id: i64,
    include_released: bool,
) -> Result<Vec<Visible<member_hold::Model>>, AppError> {
    let Some(member) = member::Entity::find_by_id(member_id).one(conn).await? else {
        return Ok(Vec::new());
    };
    let Some(member) = members::visible(conn, ctx, member).await? else {
        return Ok(Vec::new());
    };
    let holds = if include_released {
        holds_of(conn, member_id).await?
    } else {
        open_holds(conn, member_id).await?
    };
    Ok(holds
        .into_iter()
        .filter_map(|hold| hold_of(&member, hold))
        .collect())
}

/// The open holds of a member, oldest first.
pub async fn open_holds<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<Vec<member_hold::Model>, AppError> {
    Ok(member_hold::Entity::find()
        .filter(member_hold::Column::MemberId.eq(member_id))
        .filter(member_hold::Column::ReleasedAt.is_null())
        .order_by_asc(member_hold::Column::Id)
        .all(conn)
        .await?)
}

/// The open holds of several members, oldest first, in one query.
pub async fn open_holds_of<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
) -> Result<Vec<member_hold::Model>, AppError> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(member_hold::Entity::find()
        .filter(member_hold::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(member_hold::Column::ReleasedAt.is_null())
        .order_by_asc(member_hold::Column::Id)
        .all(conn)
        .await?)
}

/// Every hold of a member, oldest first.
pub async fn holds_of<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<Vec<member_hold::Model>, AppError> {
    Ok(member_hold::Entity::find()
        .filter(member_hold::Column::MemberId.eq(member_id))
        .order_by_asc(member_hold::Column::Id)
        .all(conn)
        .await?)
}

/// Which of these members were under an open hold, in one statement.
pub async fn held_among<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
) -> Result<BTreeSet<i64>, AppError> {
    if member_ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(member_hold::Entity::find()
        .filter(member_hold::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(member_hold::Column::ReleasedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|hold| hold.member_id)
        .collect())
}

/// Refuses to move a member under an open hold: CONFLICT on `hold`, naming
/// it. Called with the member locked, so no hold lands between check and move.
pub async fn refuse_if_held<C: ConnectionTrait>(conn: &C, member_id: i64) -> Result<(), AppError> {
    let holds = open_holds(conn, member_id).await?;
    match holds.first() {
        Some(hold) => Err(refusal(hold)),
        None => Ok(()),
    }
}

/// The refusal of a move of a member under this hold (their oldest open one).
pub fn refusal(hold: &member_hold::Model) -> AppError {
    AppError::conflict_on("hold", held_message(hold))
}

fn held_message(hold: &member_hold::Model) -> String {
    format!(
        "the member is under hold {} ({}, decision {}) since {}; release it first",
        hold.id,
        hold.reason.to_value(),
        hold.decision_ref,
        hold.placed_at.date_naive()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn the_refusal_names_the_hold() {
        let hold = member_hold::Model {
            id: 7,
            member_id: 1,
            reason: HoldReason::Inspection,
            decision_ref: "QĐ-12/UBKT".into(),
            placed_at: Utc::now(),
            placed_by: "s".into(),
            released_at: None,
            released_by: None,
            release_decision_ref: None,
        };
        let message = held_message(&hold);
        assert!(message.contains("hold 7"), "{message}");
        assert!(message.contains("INSPECTION"), "{message}");
        assert!(message.contains("QĐ-12/UBKT"), "{message}");
    }
}
