//! `updateMember`: corrections to a member's record and status changes.
//! PROBATIONARY becomes OFFICIAL with `officialOn`; REMOVED and DECEASED are
//! final and close every open membership, each with an event in the feed.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{MemberStatus, TransferReason};
use entity::{member, membership};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::lookup::{self as service, MemberLookup, MemberRef};
use super::registration::residence_cell;
use crate::auth::{Ctx, Permission};
use crate::domain::{
    DecisionRef, Name, OrganizationCode, PartyCardNumber, has_left_the_party, years_between,
};
use crate::error::AppError;
use crate::memberships::read as memberships;
use crate::memberships::record::{self, MemberRecord, NewEvent};
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `updateMember`: the member, and only the fields to change.
#[derive(Debug, Clone, Default)]
pub struct UpdateMember {
    /// `None` when the caller named no member (or both ways).
    pub member: Option<MemberRef>,
    pub full_name: Option<String>,
    pub party_card_number: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub residence_cell_code: Option<String>,
    pub status: Option<MemberStatus>,
    pub official_on: Option<NaiveDate>,
    /// When a REMOVED or DECEASED status takes effect (default: now).
    pub effective_at: Option<DateTime<Utc>>,
    /// The decision behind a REMOVED or DECEASED status.
    pub decision_ref: Option<String>,
}

impl UpdateMember {
    fn changes_something(&self) -> bool {
        self.full_name.is_some()
            || self.party_card_number.is_some()
            || self.birth_date.is_some()
            || self.residence_cell_code.is_some()
            || self.status.is_some()
            || self.official_on.is_some()
    }
}

/// The rules between the record as it is and the change asked for.
fn check_change(
    current: &member::Model,
    input: &UpdateMember,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let status = input.status.unwrap_or(current.status);
    if status != current.status {
        if has_left_the_party(current.status) {
            return Err(AppError::Conflict(format!(
                "status: {} is final",
                current.status.to_value()
            )));
        }
        if current.status == MemberStatus::Official && status == MemberStatus::Probationary {
            return Err(AppError::invalid(
                "status",
                "an OFFICIAL member cannot become PROBATIONARY again",
            ));
        }
        if status == MemberStatus::Official && input.official_on.is_none() {
            return Err(AppError::invalid(
                "officialOn",
                "is required to make a member OFFICIAL",
            ));
        }
    }
    if input.official_on.is_some() && status != MemberStatus::Official {
        return Err(AppError::invalid(
            "officialOn",
            "is only recorded for an OFFICIAL member",
        ));
    }
    if let Some(official) = input.official_on {
        if current
            .admitted_on
            .is_some_and(|admitted| official < admitted)
        {
            return Err(AppError::invalid(
                "officialOn",
                "must not precede admittedOn",
            ));
        }
        if official > today {
            return Err(AppError::invalid("officialOn", "must not be in the future"));
        }
    }
    let leaving = status != current.status && has_left_the_party(status);
    if !leaving && (input.effective_at.is_some() || input.decision_ref.is_some()) {
        return Err(AppError::invalid(
            "effectiveAt",
            "effectiveAt and decisionRef go with a change to REMOVED or DECEASED",
        ));
    }
    crate::clock::not_in_future("effectiveAt", input.effective_at, now)?;
    if let Some(birth) = input.birth_date {
        if birth >= today {
            return Err(AppError::invalid("birthDate", "must be in the past"));
        }
        let admitted = current.admitted_on.unwrap_or(today);
        if years_between(birth, admitted) < 18 {
            return Err(AppError::invalid(
                "birthDate",
                "must be at least 18 years before admission",
            ));
        }
    }
    Ok(())
}

/// Checks what needs no database.
fn validate(input: &mut UpdateMember) -> Result<(), AppError> {
    MemberRef::check(input.member.as_ref(), "memberId")?;
    if !input.changes_something() {
        return Err(AppError::BadInput(
            "nothing to change: give at least one field".to_owned(),
        ));
    }
    if let Some(name) = &input.full_name {
        input.full_name = Some(Name::parse("fullName", name)?.into_inner());
    }
    if let Some(card) = &input.party_card_number {
        PartyCardNumber::parse("partyCardNumber", card)?;
    }
    if let Some(code) = &input.residence_cell_code {
        OrganizationCode::parse("residenceCellCode", code)?;
    }
    if let Some(decision) = &input.decision_ref {
        DecisionRef::parse("decisionRef", decision)?;
    }
    Ok(())
}

/// `updateMember`, in one transaction with its events and audit row.
pub async fn update(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: UpdateMember,
) -> Result<member::Model, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for UpdateMember {
    type Output = member::Model;
    const ACTION: &'static str = "updateMember";

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
    ) -> Result<Done<member::Model>, AppError> {
        let mut input = self.clone();
        ctx.principal.require(Permission::Organize)?;
        validate(&mut input)?;
        let lookup = match input.member.clone() {
            Some(MemberRef::Id(id)) => MemberLookup::Id(id),
            Some(MemberRef::NationalId(national_id)) => MemberLookup::NationalId(national_id),
            None => return Err(AppError::NotFound("member")),
        };
        let found = service::find(txn, ctx, lookup)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        // One change of a member at a time, as for transfers.
        let current = member::Entity::find_by_id(found.model.id)
            .lock_exclusive()
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let now = crate::clock::now();
        check_change(&current, &input, now.date_naive(), now)?;

        if let Some(card) = &input.party_card_number {
            let taken = member::Entity::find()
                .filter(member::Column::PartyCardNumber.eq(card))
                .filter(member::Column::Id.ne(current.id))
                .one(txn)
                .await?;
            if taken.is_some() {
                return Err(AppError::Conflict(
                    "partyCardNumber: already registered".to_owned(),
                ));
            }
        }
        let residence = residence_cell(txn, ctx, input.residence_cell_code.as_deref()).await?;

        let status = input.status.unwrap_or(current.status);
        let leaving = status != current.status && has_left_the_party(status);
        let path = memberships::latest_official_path(txn, current.id).await?;
        if leaving {
            close_all(txn, ctx, &current, status, &input, now).await?;
        }
        let mut changed: member::ActiveModel = current.into();
        if let Some(name) = input.full_name {
            changed.full_name = Set(name);
        }
        if let Some(card) = input.party_card_number {
            changed.party_card_number = Set(Some(card));
        }
        if let Some(birth) = input.birth_date {
            changed.birth_date = Set(Some(birth));
        }
        if let Some(cell) = residence {
            changed.residence_cell_id = Set(Some(cell.id));
        }
        if let Some(official_on) = input.official_on {
            changed.official_on = Set(Some(official_on));
        }
        changed.status = Set(status);
        changed.updated_at = Set(now);
        Ok(Done::new(changed.update(txn).await?, path))
    }
}

/// Closes every open membership of a member who leaves the party, each
/// with a REMOVAL or DEATH event whose `from` and `to` are the cell left.
async fn close_all<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    current: &member::Model,
    status: MemberStatus,
    input: &UpdateMember,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let reason = if status == MemberStatus::Deceased {
        TransferReason::Death
    } else {
        TransferReason::Removal
    };
    let open = membership::Entity::find()
        .filter(membership::Column::MemberId.eq(current.id))
        .filter(membership::Column::EndedAt.is_null())
        .order_by_asc(membership::Column::Id)
        .all(conn)
        .await?;
    let effective_at =
        record::effective_instant(input.effective_at, open.iter().map(|m| m.started_at));
    if open.iter().any(|m| effective_at < m.started_at) {
        return Err(AppError::invalid(
            "effectiveAt",
            "must not precede the start of the current membership",
        ));
    }
    for closing in open {
        let canonical =
            serde_json::json!(["updateMember", current.id, status.to_value(), closing.id,]);
        let leaving = NewEvent {
            submitter: ctx.principal.subject.clone(),
            // Made by the registry: '/' never appears in a caller's externalId.
            external_id: format!("status/{}", closing.id),
            request_hash: record::request_hash(&canonical),
            from: Some(closing.organization_id),
            to: closing.organization_id,
            kind: closing.kind,
            reason,
            decision_ref: input.decision_ref.clone(),
            effective_at,
            recorded_at: now,
        };
        // The member as this update leaves them.
        let member = MemberRecord {
            id: current.id,
            full_name: input
                .full_name
                .clone()
                .unwrap_or_else(|| current.full_name.clone()),
            status,
        };
        let recorded = record::record_event(conn, leaving, member).await?;
        record::close_membership(conn, &closing, &recorded).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(status: MemberStatus) -> member::Model {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        member::Model {
            id: 1,
            national_id: "001090000001".into(),
            party_card_number: None,
            full_name: "Nguyễn Văn A".into(),
            birth_date: None,
            admitted_on: NaiveDate::from_ymd_opt(2020, 5, 19),
            official_on: None,
            status,
            residence_cell_id: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn change(status: MemberStatus) -> UpdateMember {
        UpdateMember {
            status: Some(status),
            ..Default::default()
        }
    }

    #[test]
    fn status_changes_follow_the_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let now = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let probationary = member(MemberStatus::Probationary);
        let official = member(MemberStatus::Official);

        assert!(check_change(&probationary, &change(MemberStatus::Official), today, now).is_err());
        let mut promote = change(MemberStatus::Official);
        promote.official_on = NaiveDate::from_ymd_opt(2021, 5, 19);
        assert!(check_change(&probationary, &promote, today, now).is_ok());
        promote.official_on = NaiveDate::from_ymd_opt(2019, 1, 1);
        assert!(check_change(&probationary, &promote, today, now).is_err());

        assert!(check_change(&official, &change(MemberStatus::Probationary), today, now).is_err());
        assert!(check_change(&official, &change(MemberStatus::Removed), today, now).is_ok());
        for final_status in [MemberStatus::Removed, MemberStatus::Deceased] {
            let gone = member(final_status);
            assert!(check_change(&gone, &change(MemberStatus::Official), today, now).is_err());
        }
        let mut stray = change(MemberStatus::Probationary);
        stray.decision_ref = Some("QĐ-1".into());
        assert!(check_change(&probationary, &stray, today, now).is_err());
    }
}
