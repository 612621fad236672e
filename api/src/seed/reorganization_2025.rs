//! The demo's 2025 chapter: on 1 July 2025 the district level ended. At one
//! instant (Hướng dẫn 31-HD/BTCTW), the new Phú Thọ provincial committee
//! takes in the Sông Lô district, the district's 17 grassroots committees
//! merge into five new communes directly under the province (their cells
//! and members going along), and the district committee, left with nothing
//! under it, is dissolved. Questions about Sông Lô before that instant keep
//! their answers; a token for the province sees all of it.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::enums::OrganizationKind;

use super::failure::{SeedError, step};
use crate::auth::Ctx;
use crate::organizations::create::{self as organizations, CreateOrganization};
use crate::reorganization::dissolution::{Dissolve, Routing};
use crate::reorganization::merge::Merge;

pub const PROVINCE_CODE: &str = "PT";
const DECISION: &str = "1676/NQ-UBTVQH15";

/// (code, name, the old committees' short codes) of the new communes.
pub const NEW_COMMUNES: [(&str, &str, &[&str]); 5] = [
    ("PT.SONGLO", "Đảng bộ xã Sông Lô", &["TS", "NT", "NS", "TY"]),
    ("PT.HAILUU", "Đảng bộ xã Hải Lựu", &["HL", "ND", "DN", "PK"]),
    ("PT.YENLANG", "Đảng bộ xã Yên Lãng", &["QY", "LC", "TL"]),
    ("PT.BACHLUU", "Đảng bộ xã Bạch Lưu", &["BL", "CP", "DT"]),
    ("PT.DUCBAC", "Đảng bộ xã Đức Bác", &["DB", "YT", "DQ"]),
];

/// 00:00 on 1 July 2025 in Vietnam (UTC+7).
pub fn reorganized_at() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2025, 7, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .and_then(|midnight| {
            midnight
                .and_local_timezone(FixedOffset::east_opt(7 * 3600)?)
                .single()
        })
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Runs the 2025 reorganization on the seeded `district` (its communes'
/// codes are `district.XX`). `progress` hears one line per new commune.
pub async fn reorganize(
    db: &sea_orm::DatabaseConnection,
    ctx: &Ctx,
    district: &str,
    mut progress: impl FnMut(&str),
) -> Result<(), SeedError> {
    let at = reorganized_at();
    organizations::create(
        db,
        ctx,
        CreateOrganization {
            code: PROVINCE_CODE.to_owned(),
            name: "Đảng bộ tỉnh Phú Thọ".to_owned(),
            kind: OrganizationKind::ProvincialCommittee,
            cell_type: None,
            parent_code: None,
            established_at: Some(at),
        },
    )
    .await
    .map_err(step("cannot create the province"))?;
    crate::unit_of_work::run(db, ctx, &JoinProvince { district, at })
        .await
        .map_err(step("cannot place the district under the province"))?;
    for (code, name, old) in NEW_COMMUNES {
        let merge = Merge {
            source_codes: old
                .iter()
                .map(|short| format!("{district}.{short}"))
                .collect(),
            code: code.to_owned(),
            name: name.to_owned(),
            parent_code: PROVINCE_CODE.to_owned(),
            cell_type: None,
            decision_ref: DECISION.to_owned(),
            effective_at: Some(at),
        };
        crate::unit_of_work::run(db, ctx, &merge)
            .await
            .map_err(step(format!("cannot merge into {code}")))?;
        progress(&format!(
            "2025-07-01: {} merged into {code} {name}",
            merge.source_codes.join(", ")
        ));
    }
    crate::reorganization::dissolve::dissolve(
        db,
        ctx,
        Dissolve {
            organization_code: district.to_owned(),
            decision_ref: DECISION.to_owned(),
            effective_at: Some(at),
            destinations: Vec::new(),
            routing: Routing::Explicit,
        },
    )
    .await
    .map_err(step("cannot end the district"))?;
    Ok(())
}

/// The district placed under the province at the reorganization's instant.
struct JoinProvince<'a> {
    district: &'a str,
    at: DateTime<Utc>,
}

impl crate::unit_of_work::Mutation for JoinProvince<'_> {
    type Output = ();
    const ACTION: &'static str = "moveOrganization";

    fn target(&self) -> String {
        format!("{}->{PROVINCE_CODE}", self.district)
    }

    async fn apply(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        _ctx: &Ctx,
    ) -> Result<crate::unit_of_work::Done<()>, crate::error::AppError> {
        use crate::organizations::service::find_any_by_code;
        let district = find_any_by_code(txn, self.district).await?;
        let province = find_any_by_code(txn, PROVINCE_CODE).await?;
        let now = crate::clock::now();
        let moved = crate::organizations::rename_and_move::reparent(
            txn, &district, &province, self.at, now,
        )
        .await?;
        Ok(crate::unit_of_work::Done::new((), moved.path))
    }
}
