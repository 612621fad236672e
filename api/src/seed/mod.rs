//! `cellreg seed demo`: the Sông Lô district as it stood when Đề án 04 was
//! issued, the letters it sent to a second district in 2025 (`letters`),
//! then its 2025 reorganization (`reorganization_2025`). 17 grassroots
//! committees (the town of Tam Sơn and 16 communes),
//! 256 cells (each commune with one AGENCY and one MILITARY cell, the rest
//! RESIDENTIAL), members living in residential cells, and plan DA04 issued
//! 2017-08-01 targeting AGENCY and MILITARY cells.
//!
//! Everything goes through the domain services, so the demo holds the same
//! events and audit rows real work would. The same seed number always gives
//! the same registry; a second run finds the demo complete and does nothing;
//! an interrupted run picks up where it stopped.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::enums::{CellType, MemberStatus, OrganizationKind};
use entity::{organization, plan};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::auth::{Ctx, Principal, Role};
use crate::members::registration::{self as members, RegisterMember};
use crate::organizations::create::{self as organizations, CreateOrganization};
use crate::plans::service::{self as plans, CreatePlan};

mod failure;
mod letters;
mod reorganization_2025;

pub use failure::SeedError;
use failure::step;

pub use crate::config::DEFAULT_SEED;

pub const DISTRICT_CODE: &str = "SL";
pub const PLAN_CODE: &str = "DA04";
const CELLS: usize = 256;

/// (code, name, is a town) of the 17 grassroots committees.
const COMMUNES: [(&str, &str, bool); 17] = [
    ("TS", "Tam Sơn", true),
    ("BL", "Bạch Lưu", false),
    ("CP", "Cao Phong", false),
    ("DN", "Đôn Nhân", false),
    ("DQ", "Đồng Quế", false),
    ("DT", "Đồng Thịnh", false),
    ("DB", "Đức Bác", false),
    ("HL", "Hải Lựu", false),
    ("LC", "Lãng Công", false),
    ("ND", "Nhân Đạo", false),
    ("NS", "Nhạo Sơn", false),
    ("NT", "Như Thụy", false),
    ("PK", "Phương Khoan", false),
    ("QY", "Quang Yên", false),
    ("TL", "Tân Lập", false),
    ("TY", "Tứ Yên", false),
    ("YT", "Yên Thạch", false),
];

const FAMILY_NAMES: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý",
];
const MIDDLE_NAMES: [&str; 8] = ["Văn", "Thị", "Đức", "Minh", "Thanh", "Hữu", "Quang", "Ngọc"];
const GIVEN_NAMES: [&str; 24] = [
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Lan",
    "Long", "Mai", "Nam", "Phong", "Phương", "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Việt", "Yến",
];

/// What a seed run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeded {
    /// The demo was already complete: nothing was written.
    AlreadyThere,
    Built {
        communes: usize,
        cells: usize,
        members: usize,
    },
}

/// The seed run's caller: an unscoped ADMIN, as the audit log will say.
fn seeder() -> Ctx {
    Ctx {
        principal: Principal {
            subject: "cellreg-seed".to_owned(),
            role: Role::Admin,
            scope: None,
        },
        request_id: format!("seed-{}", uuid::Uuid::new_v4()),
        // No token: the seed run's authority lasts as long as the run.
        expires_at: chrono::DateTime::<chrono::Utc>::MAX_UTC,
    }
}

/// Cells per commune: 256 in all, two of them AGENCY and MILITARY.
fn residential_cells(commune: usize) -> usize {
    let residential = CELLS - 2 * COMMUNES.len();
    let base = residential / COMMUNES.len();
    base + usize::from(commune < residential % COMMUNES.len())
}

fn is_demo_code(code: &str) -> bool {
    let under = |root: &str| {
        code == root
            || code
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    under(DISTRICT_CODE)
        || under(letters::SECOND_DISTRICT)
        || under(reorganization_2025::PROVINCE_CODE)
}

/// Refuses a database holding anything but (part of) the demo.
async fn check_empty(db: &DatabaseConnection) -> Result<(), SeedError> {
    let db_error = step("cannot read the database");
    let others = organization::Entity::find()
        .all(db)
        .await
        .map_err(|e| db_error(e.into()))?
        .into_iter()
        .filter(|org| !is_demo_code(&org.code))
        .count();
    if others > 0 {
        return Err(SeedError::NotEmpty(format!("{others} other organizations")));
    }
    let other_plans = plan::Entity::find()
        .filter(plan::Column::Code.ne(PLAN_CODE))
        .count(db)
        .await
        .map_err(|e| step("cannot read the database")(e.into()))?;
    if other_plans > 0 {
        return Err(SeedError::NotEmpty(format!("{other_plans} other plans")));
    }
    Ok(())
}

/// A deterministic person for serial number `n`.
struct Person {
    national_id: String,
    party_card_number: String,
    full_name: String,
    birth_date: NaiveDate,
    admitted_on: NaiveDate,
    official_on: NaiveDate,
}

fn person(rng: &mut ChaCha8Rng, n: usize) -> Person {
    let family = FAMILY_NAMES.choose(rng).copied().unwrap_or("Nguyễn");
    let female = rng.random_bool(0.4);
    let middle = if female {
        "Thị"
    } else {
        MIDDLE_NAMES.choose(rng).copied().unwrap_or("Văn")
    };
    let given = GIVEN_NAMES.choose(rng).copied().unwrap_or("An");
    let admitted_year = rng.random_range(1978..=2015);
    let admitted_on = NaiveDate::from_ymd_opt(
        admitted_year,
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or_default();
    let birth_year = admitted_year - rng.random_range(19..=40);
    let birth_date = NaiveDate::from_ymd_opt(
        birth_year,
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or_default();
    let official_on = admitted_on
        .with_year(admitted_on.year() + 1)
        .unwrap_or(admitted_on);
    // CCCD: province 026 (Vĩnh Phúc), century-and-sex digit, birth year, serial.
    let century_sex = match (birth_year >= 2000, female) {
        (false, false) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (true, true) => 3,
    };
    Person {
        national_id: format!("026{century_sex}{:02}{n:06}", birth_year % 100),
        party_card_number: format!("{:08}", 26_000_000 + n),
        full_name: format!("{family} {middle} {given}"),
        birth_date,
        admitted_on,
        official_on,
    }
}

/// Creates an organization unless one with its code exists.
async fn ensure_organization(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CreateOrganization,
) -> Result<(), SeedError> {
    let code = input.code.clone();
    let exists = organization::Entity::find()
        .filter(organization::Column::Code.eq(&code))
        .count(db)
        .await
        .map_err(|e| step(format!("cannot read {code}"))(e.into()))?
        > 0;
    if !exists {
        organizations::create(db, ctx, input)
            .await
            .map_err(step(format!("cannot create {code}")))?;
    }
    Ok(())
}

fn established() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2010, 1, 1)
        .unwrap_or_default()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// Builds the demo: Sông Lô as DA04 found it, then its 2025 reorganization
/// (`reorganization_2025`). `progress` hears one line per commune, then per merge.
pub async fn demo(
    db: &DatabaseConnection,
    seed: u64,
    force: bool,
    mut progress: impl FnMut(&str),
) -> Result<Seeded, SeedError> {
    let built = demo_2017(db, seed, force, &mut progress).await?;
    if matches!(built, Seeded::Built { .. }) {
        reorganization_2025::reorganize(db, &seeder(), DISTRICT_CODE, progress).await?;
    }
    Ok(built)
}

/// Sông Lô as it stood when DA04 was issued, before 2025.
pub async fn demo_2017(
    db: &DatabaseConnection,
    seed: u64,
    force: bool,
    mut progress: impl FnMut(&str),
) -> Result<Seeded, SeedError> {
    let complete = plan::Entity::find()
        .filter(plan::Column::Code.eq(PLAN_CODE))
        .count(db)
        .await
        .map_err(|e| step("cannot read the database")(e.into()))?
        > 0;
    if complete {
        return Ok(Seeded::AlreadyThere);
    }
    if !force {
        check_empty(db).await?;
    }
    let ctx = seeder();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ensure_organization(
        db,
        &ctx,
        CreateOrganization {
            code: DISTRICT_CODE.to_owned(),
            name: "Đảng bộ huyện Sông Lô".to_owned(),
            kind: OrganizationKind::DistrictCommittee,
            cell_type: None,
            parent_code: None,
            established_at: Some(established()),
        },
    )
    .await?;

    let (mut cells, mut people) = (0, 0);
    for (index, (short, name, town)) in COMMUNES.iter().enumerate() {
        let commune = format!("{DISTRICT_CODE}.{short}");
        let (unit, place) = if *town {
            ("thị trấn", "Tổ dân phố")
        } else {
            ("xã", "Thôn")
        };
        ensure_organization(
            db,
            &ctx,
            CreateOrganization {
                code: commune.clone(),
                name: format!("Đảng bộ {unit} {name}"),
                kind: OrganizationKind::GrassrootsCommittee,
                cell_type: None,
                parent_code: Some(DISTRICT_CODE.to_owned()),
                established_at: Some(established()),
            },
        )
        .await?;
        let residential: Vec<String> = (1..=residential_cells(index))
            .map(|n| format!("{commune}.T{n:02}"))
            .collect();
        let mut commune_cells: Vec<(String, String, CellType)> = residential
            .iter()
            .enumerate()
            .map(|(n, code)| {
                (
                    code.clone(),
                    format!("Chi bộ {} {}", place.to_lowercase(), n + 1),
                    CellType::Residential,
                )
            })
            .collect();
        commune_cells.push((
            format!("{commune}.CQ"),
            format!("Chi bộ Cơ quan {unit} {name}"),
            CellType::Agency,
        ));
        commune_cells.push((
            format!("{commune}.QS"),
            format!("Chi bộ Quân sự {unit} {name}"),
            CellType::Military,
        ));
        let mut commune_people = 0;
        for (code, cell_name, cell_type) in &commune_cells {
            ensure_organization(
                db,
                &ctx,
                CreateOrganization {
                    code: code.clone(),
                    name: cell_name.clone(),
                    kind: OrganizationKind::Cell,
                    cell_type: Some(*cell_type),
                    parent_code: Some(commune.clone()),
                    established_at: Some(established()),
                },
            )
            .await?;
            let size = match cell_type {
                CellType::Agency => rng.random_range(8..=15),
                CellType::Military => rng.random_range(4..=8),
                _ => rng.random_range(5..=12),
            };
            for _ in 0..size {
                people += 1;
                let person = person(&mut rng, people);
                let residence = if *cell_type == CellType::Residential {
                    code.clone()
                } else {
                    residential.choose(&mut rng).cloned().unwrap_or_default()
                };
                members::register(
                    db,
                    &ctx,
                    RegisterMember {
                        national_id: person.national_id,
                        party_card_number: Some(person.party_card_number),
                        full_name: person.full_name,
                        birth_date: Some(person.birth_date),
                        admitted_on: Some(person.admitted_on),
                        official_on: Some(person.official_on),
                        status: MemberStatus::Official,
                        organization_code: code.clone(),
                        residence_cell_code: Some(residence),
                        external_id: format!("demo-{seed}-{people}"),
                    },
                )
                .await
                .map_err(step(format!("cannot register member {people} in {code}")))?;
                commune_people += 1;
            }
        }
        cells += commune_cells.len();
        progress(&format!(
            "{commune} {name}: {} cells, {commune_people} members ({}/{})",
            commune_cells.len(),
            index + 1,
            COMMUNES.len()
        ));
    }

    // Letters of 2025 to a second district; before the plan, whose
    // creation marks the demo complete.
    letters::demo_letters(db, &ctx, crate::config::LetterRules::default())
        .await
        .map_err(step("cannot write the demo's letters"))?;
    plans::create(
        db,
        &ctx,
        CreatePlan {
            code: PLAN_CODE.to_owned(),
            title: "Đề án 04: giải thể chi bộ quân sự, chi bộ cơ quan xã; đảng viên về sinh hoạt tại chi bộ nơi cư trú".to_owned(),
            issued_by_code: DISTRICT_CODE.to_owned(),
            issued_on: NaiveDate::from_ymd_opt(2017, 8, 1).unwrap_or_default(),
            deadline: NaiveDate::from_ymd_opt(2017, 12, 31),
            target_cell_types: vec![CellType::Agency, CellType::Military],
        },
    )
    .await
    .map_err(step("cannot create plan DA04"))?;
    Ok(Seeded::Built {
        communes: COMMUNES.len(),
        cells,
        members: people,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_district_has_256_cells_two_targeted_per_commune() {
        let residential: usize = (0..COMMUNES.len()).map(residential_cells).sum();
        assert_eq!(residential + 2 * COMMUNES.len(), 256);
    }

    #[test]
    fn people_are_valid_and_the_same_for_the_same_seed() {
        let mut first = ChaCha8Rng::seed_from_u64(DEFAULT_SEED);
        let mut second = ChaCha8Rng::seed_from_u64(DEFAULT_SEED);
        for n in 1..200 {
            let a = person(&mut first, n);
            let b = person(&mut second, n);
            assert_eq!(
                (&a.national_id, &a.full_name),
                (&b.national_id, &b.full_name)
            );
            assert!(crate::domain::NationalId::parse("nationalId", &a.national_id).is_ok());
            assert!(
                crate::domain::PartyCardNumber::parse("partyCardNumber", &a.party_card_number)
                    .is_ok()
            );
            assert!(a.admitted_on.year() - a.birth_date.year() >= 19);
            assert!(a.official_on > a.admitted_on);
        }
    }
}
