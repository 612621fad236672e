//! The demo's letters: in the first half of 2025 Sông Lô sends members by
//! introduction letter to a second district, Tam Dương (TD), whose commune
//! Hợp Hòa (TD.HH) receives them; one letter is still unpresented (overdue),
//! one was cancelled; one member is under a hold (inspection). Every step
//! goes through the letters' and holds' services, like real work.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{
    CellType, HoldReason, LetterStatus, MembershipKind, OrganizationKind, TransferReason,
};
use entity::{member_hold, membership, organization};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::Ctx;
use crate::config::LetterRules;
use crate::error::AppError;
use crate::holds::service::{self as holds, PlaceHold};
use crate::letters::issue::{self, IssueLetter};
use crate::letters::steps::{self, CancelLetter, ReceiveLetter};
use crate::members::lookup::MemberRef;
use crate::organizations::create::{self as organizations, CreateOrganization};

/// The second district's code.
pub const SECOND_DISTRICT: &str = "TD";

/// What happens to one demo letter after its issue.
enum Then {
    Received { on: NaiveDate, cell: &'static str },
    Cancelled { on: NaiveDate },
    Unpresented,
}

/// (cell the member leaves, number, issued on, what happens next)
fn letters() -> [(&'static str, &'static str, NaiveDate, Then); 4] {
    let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap_or_default();
    [
        (
            "SL.BL.T01",
            "01-GGT/DU",
            day(3, 3),
            Then::Received {
                on: day(3, 20),
                cell: "TD.HH.T01",
            },
        ),
        (
            "SL.TS.T01",
            "01-GGT/DU",
            day(4, 1),
            Then::Received {
                on: day(4, 10),
                cell: "TD.HH.T02",
            },
        ),
        ("SL.BL.T02", "02-GGT/DU", day(5, 2), Then::Unpresented),
        (
            "SL.CP.T01",
            "01-GGT/DU",
            day(6, 2),
            Then::Cancelled { on: day(6, 9) },
        ),
    ]
}

fn established() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2010, 1, 1)
        .unwrap_or_default()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// The first official member of a cell now (by id): who the demo moves.
async fn first_member(db: &DatabaseConnection, cell_code: &str) -> Result<Option<i64>, AppError> {
    let Some(cell) = organization::Entity::find()
        .filter(organization::Column::Code.eq(cell_code))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(cell.id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .filter(membership::Column::EndedAt.is_null())
        .order_by_asc(membership::Column::MemberId)
        .one(db)
        .await?
        .map(|m| m.member_id))
}

async fn ensure(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CreateOrganization,
) -> Result<(), AppError> {
    let exists = organization::Entity::find()
        .filter(organization::Column::Code.eq(&input.code))
        .one(db)
        .await?
        .is_some();
    if !exists {
        organizations::create(db, ctx, input).await?;
    }
    Ok(())
}

/// Builds the second district and the letters; a second run changes nothing.
pub async fn demo_letters(
    db: &DatabaseConnection,
    ctx: &Ctx,
    rules: LetterRules,
) -> Result<(), AppError> {
    let organization =
        |code: &str, name: &str, kind, cell_type, parent: Option<&str>| CreateOrganization {
            code: code.to_owned(),
            name: name.to_owned(),
            kind,
            cell_type,
            parent_code: parent.map(str::to_owned),
            established_at: Some(established()),
        };
    ensure(
        db,
        ctx,
        organization(
            SECOND_DISTRICT,
            "Đảng bộ huyện Tam Dương",
            OrganizationKind::DistrictCommittee,
            None,
            None,
        ),
    )
    .await?;
    ensure(
        db,
        ctx,
        organization(
            "TD.HH",
            "Đảng bộ xã Hợp Hòa",
            OrganizationKind::GrassrootsCommittee,
            None,
            Some("TD"),
        ),
    )
    .await?;
    for (n, code) in ["TD.HH.T01", "TD.HH.T02"].into_iter().enumerate() {
        let name = format!("Chi bộ thôn {}", n + 1);
        ensure(
            db,
            ctx,
            organization(
                code,
                &name,
                OrganizationKind::Cell,
                Some(CellType::Residential),
                Some("TD.HH"),
            ),
        )
        .await?;
    }

    for (n, (from_cell, number, issued_on, then)) in letters().into_iter().enumerate() {
        let key = format!("demo-letter-{}", n + 1);
        // The member is picked before the issue; on a second run the letter already exists.
        let existing = entity::letter::Entity::find()
            .filter(entity::letter::Column::Submitter.eq(&ctx.principal.subject))
            .filter(entity::letter::Column::ExternalId.eq(&key))
            .one(db)
            .await?;
        let letter = match existing {
            Some(letter) => letter,
            None => {
                let Some(member) = first_member(db, from_cell).await? else {
                    continue;
                };
                let request = IssueLetter {
                    external_id: key,
                    member: Some(MemberRef::Id(member)),
                    kind: MembershipKind::Official,
                    to_code: "TD.HH".to_owned(),
                    number: number.to_owned(),
                    reason: TransferReason::Relocation,
                    decision_ref: Some(format!("QĐ-{number}")),
                    dues_paid_through: Some(issued_on.format("%Y-%m").to_string()),
                    issued_on: Some(issued_on),
                    ends_on: None,
                    purpose: None,
                    rules,
                };
                issue::issue(db, ctx, request).await?.letter().into_inner()
            }
        };
        if letter.status != LetterStatus::Open {
            continue;
        }
        match then {
            Then::Received { on, cell } => {
                let request = ReceiveLetter {
                    letter_id: letter.id,
                    cell_code: cell.to_owned(),
                    received_on: Some(on),
                    late_reason: None,
                };
                steps::receive(db, ctx, request).await?;
            }
            Then::Cancelled { on } => {
                let request = CancelLetter {
                    letter_id: letter.id,
                    return_cell_code: None,
                    cancelled_on: Some(on),
                };
                steps::cancel(db, ctx, request).await?;
            }
            Then::Unpresented => {}
        }
    }

    // A member of Tam Sơn's agency cell under inspection: no letter nor
    // transfer moves them; DA04's dissolution still will.
    if let Some(member) = first_member(db, "SL.TS.CQ").await? {
        let held = member_hold::Entity::find()
            .filter(member_hold::Column::MemberId.eq(member))
            .one(db)
            .await?;
        if held.is_none() {
            let input = PlaceHold {
                member: Some(MemberRef::Id(member)),
                reason: HoldReason::Inspection,
                decision_ref: "QĐ-17/UBKT".to_owned(),
            };
            holds::place(db, ctx, input).await?;
        }
    }
    Ok(())
}
