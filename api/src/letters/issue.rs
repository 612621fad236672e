//! Issuing a letter: the sending side (scope over the member's cell) names
//! the receiving organization, anywhere in the registry. An OFFICIAL letter
//! ends the membership at issue: the member is in transit. Idempotent per
//! submitter and `externalId`, like transfers.

use chrono::NaiveDate;
use entity::enums::{
    EventPhase, LetterStatus, MembershipKind, OrganizationKind, OrganizationStatus,
    TemporaryPurpose, TransferReason,
};
use entity::{letter, member, membership, organization};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::rules;
use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission};
use crate::config::LetterRules;
use crate::domain::{DecisionRef, ExternalId, OrganizationCode, has_left_the_party};
use crate::error::AppError;
use crate::members::lookup::{self as members, MemberLookup, MemberRef};
use crate::memberships::record::{self, NewEvent};
use crate::unit_of_work::{self, Done, Mutation};

/// A letter as the API layers hand it over.
#[derive(Debug, Clone)]
pub struct IssueLetter {
    pub external_id: String,
    pub member: Option<MemberRef>,
    pub kind: MembershipKind,
    pub to_code: String,
    pub number: String,
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    pub dues_paid_through: Option<String>,
    /// Default: today.
    pub issued_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub purpose: Option<TemporaryPurpose>,
    pub rules: LetterRules,
}

/// What became of an issue.
#[derive(Debug, Clone)]
pub enum Issued {
    Issued(Visible<letter::Model>),
    /// The same key and content were issued before: nothing changed.
    Duplicate(Visible<letter::Model>),
}

impl Issued {
    pub fn letter(self) -> Visible<letter::Model> {
        match self {
            Self::Issued(letter) | Self::Duplicate(letter) => letter,
        }
    }
}

fn request_hash(input: &IssueLetter) -> String {
    let member = match &input.member {
        Some(MemberRef::Id(id)) => serde_json::json!({ "id": id }),
        Some(MemberRef::NationalId(national_id)) => {
            serde_json::json!({ "nationalId": national_id })
        }
        None => serde_json::Value::Null,
    };
    record::request_hash(&serde_json::json!([
        "issueLetter",
        member,
        input.kind,
        input.to_code,
        input.number,
        input.reason,
        input.decision_ref,
        input.dues_paid_through,
        input.issued_on,
        input.ends_on,
        input.purpose,
    ]))
}

fn validate(input: &IssueLetter, today: NaiveDate) -> Result<NaiveDate, AppError> {
    ExternalId::parse("externalId", &input.external_id)?;
    MemberRef::check(input.member.as_ref(), "memberId")?;
    OrganizationCode::parse("toOrganizationCode", &input.to_code)?;
    rules::check_number(&input.number)?;
    rules::check_reason(input.reason)?;
    if let Some(decision) = &input.decision_ref {
        DecisionRef::parse("decisionRef", decision)?;
    }
    if let Some(month) = &input.dues_paid_through {
        rules::check_dues_month(month)?;
    }
    let issued_on = input.issued_on.unwrap_or(today);
    if issued_on > today {
        return Err(AppError::invalid("issuedOn", "must not be in the future"));
    }
    crate::memberships::temporary::check_temporary(
        input.kind,
        issued_on,
        input.ends_on,
        input.purpose,
        &input.rules,
    )?;
    Ok(issued_on)
}

async fn earlier<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    external_id: &str,
) -> Result<Option<letter::Model>, AppError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::Submitter.eq(&ctx.principal.subject))
        .filter(letter::Column::ExternalId.eq(external_id))
        .one(conn)
        .await?)
}

async fn replay<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    earlier: letter::Model,
    hash: &str,
) -> Result<Issued, AppError> {
    if earlier.request_hash != hash {
        return Err(AppError::conflict_on(
            "externalId",
            "already used for a different letter",
        ));
    }
    let sealed = super::read::seal(conn, ctx, earlier)
        .await?
        .ok_or(AppError::NotFound("letter"))?;
    Ok(Issued::Duplicate(sealed))
}

/// `issueLetter`, in one unit of work with its DEPARTED event and audit row.
pub async fn issue(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: IssueLetter,
) -> Result<Issued, AppError> {
    match unit_of_work::run(db, ctx, &input).await {
        // Two issues of one key raced past the check: the loser reads the winner's letter.
        Err(err @ (AppError::Conflict(_) | AppError::ConflictOn { .. })) => {
            match earlier(db, ctx, &input.external_id).await? {
                Some(found) if found.request_hash == request_hash(&input) => {
                    replay(db, ctx, found, &request_hash(&input)).await
                }
                _ => Err(err),
            }
        }
        other => other,
    }
}

/// The grassroots committee over a cell (the cell's nearest committee when
/// there is none): the one whose letters are numbered together.
async fn issuing_committee<C: ConnectionTrait>(
    conn: &C,
    cell: &organization::Model,
) -> Result<organization::Model, AppError> {
    let ancestors = organization::Entity::find()
        .filter(organization::Column::Id.is_in(crate::tree::path_ids(&cell.path)))
        .all(conn)
        .await?;
    let nearest = |kind: Option<OrganizationKind>| {
        ancestors
            .iter()
            .filter(|org| org.id != cell.id)
            .filter(|org| kind.is_none_or(|kind| org.kind == kind))
            .max_by_key(|org| org.depth)
            .cloned()
    };
    Ok(nearest(Some(OrganizationKind::GrassrootsCommittee))
        .or_else(|| nearest(None))
        .unwrap_or_else(|| cell.clone()))
}

impl Mutation for IssueLetter {
    type Output = Issued;
    const ACTION: &'static str = "issueLetter";

    fn target(&self) -> String {
        format!("{}:{}", self.to_code, self.external_id)
    }

    async fn apply(&self, txn: &DatabaseTransaction, ctx: &Ctx) -> Result<Done<Issued>, AppError> {
        ctx.principal.require(Permission::SubmitTransfers)?;
        let now = crate::clock::now();
        let issued_on = validate(self, now.date_naive())?;
        let hash = request_hash(self);
        let lookup = match self.member.clone() {
            Some(MemberRef::Id(id)) => MemberLookup::Id(id),
            Some(MemberRef::NationalId(national_id)) => MemberLookup::NationalId(national_id),
            None => return Err(AppError::NotFound("member")),
        };
        let found = members::find(txn, ctx, lookup)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        // One move of a member at a time: letters, transfers and dissolutions lock the member first.
        let member = member::Entity::find_by_id(found.model.id)
            .lock_exclusive()
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("member"))?;

        if let Some(found) = earlier(txn, ctx, &self.external_id).await? {
            let from = found.from_cell_id;
            let outcome = replay(txn, ctx, found, &hash).await?;
            let path = organization::Entity::find_by_id(from)
                .one(txn)
                .await?
                .map(|cell| cell.path)
                .unwrap_or_default();
            return Ok(Done::new(outcome, path));
        }
        if has_left_the_party(member.status) {
            return Err(AppError::Conflict(format!(
                "the member is {}",
                member.status.to_value()
            )));
        }
        crate::holds::service::refuse_if_held(txn, member.id).await?;
        if let Some(open) = letter::Entity::find()
            .filter(letter::Column::MemberId.eq(member.id))
            .filter(letter::Column::Status.eq(LetterStatus::Open))
            .one(txn)
            .await?
        {
            return Err(AppError::conflict_on(
                "letter",
                format!(
                    "the member already holds open letter {} (number {})",
                    open.id, open.number
                ),
            ));
        }
        let official = membership::Entity::find()
            .filter(membership::Column::MemberId.eq(member.id))
            .filter(membership::Column::Kind.eq(MembershipKind::Official))
            .filter(membership::Column::EndedAt.is_null())
            .one(txn)
            .await?
            .ok_or_else(|| {
                AppError::Conflict("the member has no open official membership".to_owned())
            })?;
        let from_cell = organization::Entity::find_by_id(official.organization_id)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        // The receiving side may be anywhere in the registry: its code is all the sender knows.
        let destination = organization::Entity::find()
            .filter(organization::Column::Code.eq(&self.to_code))
            .one(txn)
            .await?
            .filter(|org| org.status == OrganizationStatus::Active)
            .ok_or(AppError::NotFound("destination organization"))?;
        if crate::tree::path_ids(&from_cell.path).contains(&destination.id) {
            return Err(AppError::conflict_on(
                "toOrganizationCode",
                "the member is already within the destination: use a transfer",
            ));
        }
        let committee = issuing_committee(txn, &from_cell).await?;
        let taken = letter::Entity::find()
            .filter(letter::Column::IssuingCommitteeId.eq(committee.id))
            .filter(letter::Column::Number.eq(&self.number))
            .one(txn)
            .await?;
        if taken.is_some() {
            return Err(AppError::conflict_on(
                "number",
                format!(
                    "{} has already issued a letter numbered {}",
                    committee.code, self.number
                ),
            ));
        }
        let effective_at = std::cmp::max(
            rules::instant_of_day(issued_on, now),
            std::cmp::min(official.started_at, now),
        );
        if effective_at < official.started_at || issued_on < official.started_at.date_naive() {
            return Err(AppError::invalid(
                "issuedOn",
                "must not precede the start of the current membership",
            ));
        }

        let step = NewEvent {
            submitter: ctx.principal.subject.clone(),
            // Made by the registry: '/' never appears in a caller's externalId.
            external_id: format!("letter/{}/{}/issued", committee.id, self.number),
            request_hash: hash.clone(),
            from: Some(from_cell.id),
            to: destination.id,
            kind: self.kind,
            reason: self.reason,
            decision_ref: self.decision_ref.clone(),
            effective_at,
            recorded_at: now,
        };
        let event =
            record::record_step(txn, step, (&member).into(), EventPhase::Departed, None).await?;
        if self.kind == MembershipKind::Official {
            record::close_membership(txn, &official, &event).await?;
        }
        let issued = letter::ActiveModel {
            member_id: Set(member.id),
            kind: Set(self.kind),
            number: Set(self.number.clone()),
            issuing_committee_id: Set(committee.id),
            from_cell_id: Set(from_cell.id),
            to_organization_id: Set(destination.id),
            reason: Set(self.reason),
            decision_ref: Set(self.decision_ref.clone()),
            dues_paid_through: Set(self.dues_paid_through.clone()),
            issued_on: Set(issued_on),
            present_by: Set(rules::present_by(issued_on, &self.rules)),
            ends_on: Set(self.ends_on),
            purpose: Set(self.purpose),
            status: Set(LetterStatus::Open),
            submitter: Set(ctx.principal.subject.clone()),
            external_id: Set(self.external_id.clone()),
            request_hash: Set(hash),
            issued_event_id: Set(event.id),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        super::steps::link_event(txn, event.id, issued.id).await?;
        let sealed = ctx
            .principal
            .letter(issued, &from_cell, &destination)
            .ok_or(AppError::NotFound("letter"))?;
        Ok(Done::new(Issued::Issued(sealed), from_cell.path))
    }
}
