//! `registerMember`: the admission. Opens the first OFFICIAL membership and
//! records the admission as the member's first transfer event (from = null),
//! in one unit of work. A retry with the same `externalId` and content
//! returns the member registered the first time.

use chrono::{NaiveDate, NaiveTime};
use entity::enums::{CellType, MemberStatus, MembershipKind, TransferReason};
use entity::{member, organization, transfer_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, Set,
};

use crate::auth::{Ctx, Permission};
use crate::domain::{
    ExternalId, Name, NationalId, OrganizationCode, PartyCardNumber, has_left_the_party,
    years_between,
};
use crate::error::AppError;
use crate::memberships::record::{self, NewEvent};
use crate::organizations::service::{self as organizations, Lookup};
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `registerMember`.
#[derive(Debug, Clone)]
pub struct RegisterMember {
    pub national_id: String,
    pub party_card_number: Option<String>,
    pub full_name: String,
    pub birth_date: Option<NaiveDate>,
    pub admitted_on: Option<NaiveDate>,
    pub official_on: Option<NaiveDate>,
    pub status: MemberStatus,
    pub organization_code: String,
    pub residence_cell_code: Option<String>,
    pub external_id: String,
}

/// Checks every field of a registration that needs no database, and fills defaults.
fn validate_registration(input: &mut RegisterMember, today: NaiveDate) -> Result<(), AppError> {
    NationalId::parse("nationalId", &input.national_id)?;
    if let Some(card) = &input.party_card_number {
        PartyCardNumber::parse("partyCardNumber", card)?;
    }
    input.full_name = Name::parse("fullName", &input.full_name)?.into_inner();
    ExternalId::parse("externalId", &input.external_id)?;
    OrganizationCode::parse("organizationCode", &input.organization_code)?;
    if let Some(code) = &input.residence_cell_code {
        OrganizationCode::parse("residenceCellCode", code)?;
    }
    if has_left_the_party(input.status) {
        return Err(AppError::invalid(
            "status",
            "a new member is PROBATIONARY or OFFICIAL",
        ));
    }
    let admitted_on = input.admitted_on.unwrap_or(today);
    if admitted_on > today {
        return Err(AppError::invalid("admittedOn", "must not be in the future"));
    }
    input.admitted_on = Some(admitted_on);
    if let Some(birth) = input.birth_date {
        if birth >= today {
            return Err(AppError::invalid("birthDate", "must be in the past"));
        }
        if years_between(birth, admitted_on) < 18 {
            return Err(AppError::invalid(
                "birthDate",
                "must be at least 18 years before admission",
            ));
        }
    }
    if let Some(official) = input.official_on {
        if official < admitted_on {
            return Err(AppError::invalid(
                "officialOn",
                "must not precede admittedOn",
            ));
        }
        if official > today {
            return Err(AppError::invalid("officialOn", "must not be in the future"));
        }
    }
    Ok(())
}

/// Hash of the normalized registration: a retry with the same key and the
/// same content is recognised, a different content under the same key is not.
fn request_hash(input: &RegisterMember) -> String {
    let canonical = serde_json::json!([
        "registerMember",
        input.national_id,
        input.party_card_number,
        input.full_name,
        input.birth_date,
        input.admitted_on,
        input.official_on,
        input.status,
        input.organization_code,
        input.residence_cell_code,
    ]);
    record::request_hash(&canonical)
}

pub(super) async fn active_cell<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    field: &'static str,
    code: &str,
) -> Result<organization::Model, AppError> {
    let cell = organizations::find_for_new_members(conn, ctx, Lookup::Code(code.to_owned()))
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if !organizations::is_active_cell(&cell) {
        return Err(AppError::invalid(field, "must be an ACTIVE CELL"));
    }
    Ok(cell)
}

/// The residence cell a member is given (`residenceCellCode`), if any: an
/// ACTIVE RESIDENTIAL cell in scope.
pub(super) async fn residence_cell<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    code: Option<&str>,
) -> Result<Option<organization::Model>, AppError> {
    let Some(code) = code else {
        return Ok(None);
    };
    let residence = active_cell(conn, ctx, "residenceCellCode", code).await?;
    if residence.cell_type != Some(CellType::Residential) {
        return Err(AppError::invalid(
            "residenceCellCode",
            "must be a RESIDENTIAL cell",
        ));
    }
    Ok(Some(residence))
}

/// `registerMember`, as one unit of work with its audit row.
pub async fn register(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: RegisterMember,
) -> Result<member::Model, AppError> {
    match unit_of_work::run(db, ctx, &input).await {
        // Identical registrations raced past the check (PostgreSQL runs them
        // side by side; the unique index stopped all but one): each loser
        // answers with the member the winner registered.
        Err(AppError::Conflict(message)) => match registered_earlier(db, ctx, input).await? {
            Some(member) => Ok(member),
            None => Err(AppError::Conflict(message)),
        },
        other => other,
    }
}

impl Mutation for RegisterMember {
    type Output = member::Model;
    const ACTION: &'static str = "registerMember";

    fn target(&self) -> String {
        format!("{}:{}", self.organization_code, self.external_id)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<member::Model>, AppError> {
        let mut input = self.clone();
        ctx.principal.require(Permission::Organize)?;
        let now = crate::clock::now();
        validate_registration(&mut input, now.date_naive())?;
        let hash = request_hash(&input);

        let earlier = transfer_event::Entity::find()
            .filter(transfer_event::Column::Submitter.eq(&ctx.principal.subject))
            .filter(transfer_event::Column::ExternalId.eq(&input.external_id))
            .one(txn)
            .await?;
        if let Some(earlier) = earlier {
            if earlier.request_hash != hash {
                return Err(AppError::Conflict(
                    "externalId: already used for a different request".to_owned(),
                ));
            }
            let member = member::Entity::find_by_id(earlier.member_id)
                .one(txn)
                .await?
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("admission event without its member"))
                })?;
            let cell_path = organization::Entity::find_by_id(earlier.to_organization_id)
                .one(txn)
                .await?
                .map(|cell| cell.path)
                .unwrap_or_default();
            return Ok(Done::new(member, cell_path));
        }

        let cell = active_cell(txn, ctx, "organizationCode", &input.organization_code).await?;
        let residence = residence_cell(txn, ctx, input.residence_cell_code.as_deref()).await?;
        let mut duplicate = Condition::any().add(member::Column::NationalId.eq(&input.national_id));
        if let Some(card) = &input.party_card_number {
            duplicate = duplicate.add(member::Column::PartyCardNumber.eq(card));
        }
        if let Some(existing) = member::Entity::find().filter(duplicate).one(txn).await? {
            let field = if existing.national_id == input.national_id {
                "nationalId"
            } else {
                "partyCardNumber"
            };
            return Err(AppError::Conflict(format!("{field}: already registered")));
        }

        let created = member::ActiveModel {
            national_id: Set(input.national_id.clone()),
            party_card_number: Set(input.party_card_number.clone()),
            full_name: Set(input.full_name.clone()),
            birth_date: Set(input.birth_date),
            admitted_on: Set(input.admitted_on),
            official_on: Set(input.official_on),
            status: Set(input.status),
            residence_cell_id: Set(residence.map(|r| r.id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;

        // The membership starts on the admission day (00:00 UTC), or now when admitted today.
        let effective_at = input
            .admitted_on
            .map(|day| day.and_time(NaiveTime::MIN).and_utc())
            .filter(|at| *at < now)
            .unwrap_or(now);
        let admission = NewEvent {
            submitter: ctx.principal.subject.clone(),
            external_id: input.external_id.clone(),
            request_hash: hash,
            from: None,
            to: cell.id,
            kind: MembershipKind::Official,
            reason: TransferReason::Admission,
            decision_ref: None,
            effective_at,
            recorded_at: now,
        };
        let event = record::record_event(txn, admission, (&created).into()).await?;
        record::open_membership(txn, &event).await?;
        Ok(Done::new(created, cell.path))
    }
}

/// The member an earlier registration with the same key and the same
/// content created, if there is one.
async fn registered_earlier(
    db: &DatabaseConnection,
    ctx: &Ctx,
    mut input: RegisterMember,
) -> Result<Option<member::Model>, AppError> {
    if validate_registration(&mut input, crate::clock::now().date_naive()).is_err() {
        return Ok(None);
    }
    let earlier = transfer_event::Entity::find()
        .filter(transfer_event::Column::Submitter.eq(&ctx.principal.subject))
        .filter(transfer_event::Column::ExternalId.eq(&input.external_id))
        .one(db)
        .await?;
    match earlier {
        Some(earlier) if earlier.request_hash == request_hash(&input) => {
            Ok(member::Entity::find_by_id(earlier.member_id)
                .one(db)
                .await?)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RegisterMember {
        RegisterMember {
            national_id: "001234567890".into(),
            party_card_number: Some("93.012345".into()),
            full_name: " Nguyễn Văn A ".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 5, 1),
            admitted_on: NaiveDate::from_ymd_opt(2010, 5, 1),
            official_on: NaiveDate::from_ymd_opt(2011, 5, 1),
            status: MemberStatus::Official,
            organization_code: "SL.BL.1".into(),
            residence_cell_code: None,
            external_id: "adm-1".into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn a_valid_registration_is_normalized() {
        let mut ok = input();
        validate_registration(&mut ok, today()).unwrap();
        assert_eq!(ok.full_name, "Nguyễn Văn A");
    }

    #[test]
    fn each_rule_names_its_field() {
        type Patch = fn(&mut RegisterMember);
        let cases: Vec<(&str, Patch)> = vec![
            ("nationalId", |i| i.national_id = "12345678901".into()),
            ("nationalId", |i| {
                i.national_id = "０１２３４５６７８９０１".into()
            }),
            ("partyCardNumber", |i| {
                i.party_card_number = Some("ab".into())
            }),
            ("fullName", |i| i.full_name = "  ".into()),
            ("externalId", |i| i.external_id = "has space".into()),
            ("status", |i| i.status = MemberStatus::Deceased),
            ("admittedOn", |i| {
                i.admitted_on = NaiveDate::from_ymd_opt(2027, 1, 1)
            }),
            ("birthDate", |i| {
                i.birth_date = NaiveDate::from_ymd_opt(1995, 5, 2)
            }),
            ("birthDate", |i| {
                i.birth_date = NaiveDate::from_ymd_opt(2027, 1, 1)
            }),
            ("officialOn", |i| {
                i.official_on = NaiveDate::from_ymd_opt(2009, 1, 1)
            }),
            ("organizationCode", |i| {
                i.organization_code = "bad code".into()
            }),
        ];
        for (field, patch) in cases {
            let mut bad = input();
            patch(&mut bad);
            match validate_registration(&mut bad, today()) {
                Err(AppError::Invalid { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: expected a field error, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_request_hash_ignores_nothing_that_matters() {
        let a = input();
        let mut b = input();
        b.full_name = "Someone Else".into();
        assert_ne!(request_hash(&a), request_hash(&b));
        assert_eq!(request_hash(&a), request_hash(&input()));
    }
}
