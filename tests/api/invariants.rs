//! The database itself refuses what would break the registry's invariants,
//! whatever the code above it does. These tests write through sea-orm
//! directly, bypassing the domain layer on purpose.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{
    CellType, MemberStatus, MembershipKind, OrganizationKind, OrganizationStatus, TransferReason,
};
use entity::{audit_log, member, membership, organization, transfer_event};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::error::ErrorKind;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    RuntimeErr, Set, Statement,
};

use crate::helpers::TestDatabase;

fn now() -> DateTime<Utc> {
    // Microseconds, as PostgreSQL stores them.
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("valid instant")
}

async fn migrated(database: &TestDatabase) -> DatabaseConnection {
    let db = database.connect().await;
    Migrator::up(&db, None).await.expect("migrate");
    db
}

async fn insert_organization(
    db: &DatabaseConnection,
    code: &str,
    kind: OrganizationKind,
    parent: Option<&organization::Model>,
) -> Result<organization::Model, DbErr> {
    let path = format!("{}{code}/", parent.map_or("/", |p| p.path.as_str()));
    organization::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(format!("Organization {code}")),
        kind: Set(kind),
        cell_type: Set((kind == OrganizationKind::Cell).then_some(CellType::Residential)),
        status: Set(OrganizationStatus::Active),
        parent_id: Set(parent.map(|p| p.id)),
        depth: Set(path.matches('/').count() as i32 - 2),
        path: Set(path),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn insert_member(
    db: &DatabaseConnection,
    national_id: &str,
    card: Option<&str>,
) -> Result<member::Model, DbErr> {
    member::ActiveModel {
        national_id: Set(national_id.to_owned()),
        party_card_number: Set(card.map(str::to_owned)),
        full_name: Set("Nguyễn Văn A".to_owned()),
        status: Set(MemberStatus::Official),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn insert_event(
    db: &DatabaseConnection,
    sequence: i64,
    submitter: &str,
    external_id: &str,
    member_id: i64,
    to: i64,
) -> Result<transfer_event::Model, DbErr> {
    transfer_event::ActiveModel {
        sequence: Set(sequence),
        submitter: Set(submitter.to_owned()),
        external_id: Set(external_id.to_owned()),
        request_hash: Set("0".repeat(64)),
        member_id: Set(member_id),
        from_organization_id: Set(None),
        to_organization_id: Set(to),
        kind: Set(MembershipKind::Official),
        reason: Set(TransferReason::Admission),
        decision_ref: Set(None),
        effective_at: Set(now()),
        recorded_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn insert_membership(
    db: &DatabaseConnection,
    member_id: i64,
    organization_id: i64,
    event_id: i64,
    started_at: DateTime<Utc>,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        member_id: Set(member_id),
        organization_id: Set(organization_id),
        kind: Set(MembershipKind::Official),
        started_at: Set(started_at),
        ended_at: Set(None),
        opened_by_event_id: Set(event_id),
        closed_by_event_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A district with one commune and two cells, and one member with an admission event.
struct Seed {
    commune: organization::Model,
    cell_a: organization::Model,
    cell_b: organization::Model,
    member: member::Model,
    admission: transfer_event::Model,
}

async fn seed(db: &DatabaseConnection) -> Seed {
    let district = insert_organization(db, "SL", OrganizationKind::DistrictCommittee, None)
        .await
        .expect("district");
    let commune = insert_organization(
        db,
        "SL.BL",
        OrganizationKind::GrassrootsCommittee,
        Some(&district),
    )
    .await
    .expect("commune");
    let cell_a = insert_organization(db, "SL.BL.A", OrganizationKind::Cell, Some(&commune))
        .await
        .expect("cell a");
    let cell_b = insert_organization(db, "SL.BL.B", OrganizationKind::Cell, Some(&commune))
        .await
        .expect("cell b");
    let member = insert_member(db, "001234567890", Some("PC-1"))
        .await
        .expect("member");
    let admission = insert_event(db, 1, "agency-a", "admission-1", member.id, cell_a.id)
        .await
        .expect("event");
    Seed {
        commune,
        cell_a,
        cell_b,
        member,
        admission,
    }
}

/// Asserts that the database itself refused a write, with the kind of rule
/// expected, and that the rule names `naming`: a column of the constraint, or
/// the trigger's message. SQLite states the rule in its message; PostgreSQL
/// names the constraint or index, whose definition is read back.
async fn assert_refused<T: std::fmt::Debug>(
    db: &DatabaseConnection,
    result: Result<T, DbErr>,
    kind: ErrorKind,
    naming: &str,
) {
    let err = result.expect_err("the database refuses the write");
    let driver = match &err {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            match sqlx.as_ref() {
                sea_orm::sqlx::Error::Database(driver) => driver,
                _ => panic!("refused, but not by a rule of the database: {err}"),
            }
        }
        _ => panic!("refused, but not by the database: {err}"),
    };
    let rule = match (driver.constraint(), driver.table()) {
        (Some(name), Some(table)) => {
            let definition = db
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT coalesce(\
                       (SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                        WHERE conname = $1 AND conrelid = $2::regclass), \
                       pg_get_indexdef(to_regclass(quote_ident($1)))) AS rule",
                    [name.into(), table.into()],
                ))
                .await
                .expect("read the constraint back")
                .expect("a row");
            definition
                .try_get::<String>("", "rule")
                .expect("the constraint's definition")
        }
        _ => driver.message().to_owned(),
    };
    assert_eq!(driver.kind(), kind, "{err} ({rule})");
    assert!(
        rule.contains(naming),
        "refused by another rule than {naming:?}: {err} ({rule})"
    );
}

on_both_backends! {
    async fn a_second_open_official_membership_is_refused(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        let t0 = now();
        insert_membership(&db, seed.member.id, seed.cell_a.id, seed.admission.id, t0).await.expect("first open membership");

        // The partial unique index refuses a second open OFFICIAL membership.
        let second = insert_membership(&db, seed.member.id, seed.cell_b.id, seed.admission.id, t0).await;
        assert_refused(&db, second, ErrorKind::UniqueViolation, "member_id").await;
        assert_eq!(membership::Entity::find().all(&db).await.expect("read").len(), 1);
    }
}

on_both_backends! {
    async fn a_closed_membership_leaves_room_for_a_new_open_one(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        let t0 = now() - Duration::days(1);
        let first = insert_membership(&db, seed.member.id, seed.cell_a.id, seed.admission.id, t0).await.expect("first");
        let transfer = insert_event(&db, 2, "agency-a", "transfer-1", seed.member.id, seed.cell_b.id).await.expect("event");
        let mut closing: membership::ActiveModel = first.into();
        closing.ended_at = Set(Some(now()));
        closing.closed_by_event_id = Set(Some(transfer.id));
        closing.update(&db).await.expect("close the first membership");

        insert_membership(&db, seed.member.id, seed.cell_b.id, transfer.id, now()).await.expect("the index is partial: a new open one is allowed");
    }
}

on_both_backends! {
    async fn an_idempotency_key_is_unique_per_submitter_only(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        let same_submitter = insert_event(&db, 2, "agency-a", "admission-1", seed.member.id, seed.cell_b.id).await;
        assert_refused(&db, same_submitter, ErrorKind::UniqueViolation, "external_id").await;
        insert_event(&db, 2, "agency-b", "admission-1", seed.member.id, seed.cell_b.id).await.expect("another submitter's namespace");
        let same_sequence = insert_event(&db, 2, "agency-c", "other", seed.member.id, seed.cell_b.id).await;
        assert_refused(&db, same_sequence, ErrorKind::UniqueViolation, "sequence").await;
    }
}

on_both_backends! {
    async fn codes_national_ids_and_party_cards_are_unique(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        // Elsewhere in the tree, so that only the code collides, not the path.
        let same_code = insert_organization(&db, &seed.cell_a.code, OrganizationKind::Cell, None).await;
        assert_refused(&db, same_code, ErrorKind::UniqueViolation, "code").await;
        let same_national_id = insert_member(&db, &seed.member.national_id, None).await;
        assert_refused(&db, same_national_id, ErrorKind::UniqueViolation, "national_id").await;
        let same_card = insert_member(&db, "009999999999", Some("PC-1")).await;
        assert_refused(&db, same_card, ErrorKind::UniqueViolation, "party_card_number").await;
        // Members without a party card do not collide with each other.
        insert_member(&db, "001111111111", None).await.expect("no card");
        insert_member(&db, "002222222222", None).await.expect("no card either");
    }
}

on_both_backends! {
    async fn foreign_keys_are_enforced(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        // SQLite does not say which foreign key; PostgreSQL's definition names its column.
        let orphan = insert_membership(&db, 999_999, seed.cell_a.id, seed.admission.id, now()).await;
        assert_refused(&db, orphan, ErrorKind::ForeignKeyViolation, "FOREIGN KEY").await;
        // An organization referenced by events cannot be deleted. SQLite carries out
        // ON DELETE RESTRICT as a trigger would, so its error is a trigger's (1811),
        // not a foreign key's (787), with the same message.
        let referenced = organization::Entity::delete_by_id(seed.cell_a.id).exec(&db).await;
        let restrict = match db.get_database_backend() {
            DbBackend::Sqlite => ErrorKind::Other,
            _ => ErrorKind::ForeignKeyViolation,
        };
        assert_refused(&db, referenced, restrict, "FOREIGN KEY").await;
    }
}

on_both_backends! {
    async fn a_national_id_must_have_twelve_characters(database: TestDatabase) {
        let db = migrated(&database).await;
        let short = insert_member(&db, "12345", None).await;
        assert_refused(&db, short, ErrorKind::CheckViolation, "national_id").await;
        // PostgreSQL refuses a thirteenth character by the column's type before the
        // CHECK; SQLite ignores declared lengths, and the CHECK refuses it.
        let long = insert_member(&db, "1234567890123", None).await;
        match db.get_database_backend() {
            DbBackend::Postgres => assert_refused(&db, long, ErrorKind::Other, "character varying(12)").await,
            _ => assert_refused(&db, long, ErrorKind::CheckViolation, "national_id").await,
        }
    }
}

on_both_backends! {
    async fn only_cells_have_a_cell_type(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        let mut commune: organization::ActiveModel = seed.commune.into();
        commune.cell_type = Set(Some(CellType::Agency));
        assert_refused(&db, commune.update(&db).await, ErrorKind::CheckViolation, "cell_type").await;
    }
}

on_both_backends! {
    async fn dissolved_organizations_hold_no_open_memberships(database: TestDatabase) {
        let db = migrated(&database).await;
        let seed = seed(&db).await;
        insert_membership(&db, seed.member.id, seed.cell_a.id, seed.admission.id, now()).await.expect("open membership");

        let mut dissolving: organization::ActiveModel = seed.cell_a.clone().into();
        dissolving.status = Set(OrganizationStatus::Dissolved);
        dissolving.dissolved_at = Set(Some(now()));
        let refused = dissolving.update(&db).await;
        assert_refused(&db, refused, ErrorKind::Other, "an organization with open memberships cannot be dissolved").await;

        let mut dissolving: organization::ActiveModel = seed.cell_b.clone().into();
        dissolving.status = Set(OrganizationStatus::Dissolved);
        dissolving.dissolved_at = Set(Some(now()));
        dissolving.update(&db).await.expect("an empty cell can be dissolved");

        let other = insert_member(&db, "003333333333", None).await.expect("member");
        let event = insert_event(&db, 2, "agency-a", "admission-2", other.id, seed.cell_b.id).await.expect("event");
        let into_dissolved = insert_membership(&db, other.id, seed.cell_b.id, event.id, now()).await;
        assert_refused(&db, into_dissolved, ErrorKind::Other, "an open membership needs an active cell").await;
        let into_committee = insert_membership(&db, other.id, seed.commune.id, event.id, now()).await;
        assert_refused(&db, into_committee, ErrorKind::Other, "an open membership needs an active cell").await;
    }
}

on_both_backends! {
    async fn audit_rows_cannot_be_changed_or_deleted(database: TestDatabase) {
        let db = migrated(&database).await;
        let row = audit_log::ActiveModel {
            seq: Set(1),
            occurred_at: Set(now()),
            subject: Set(Some("admin".to_owned())),
            role: Set(Some("ADMIN".to_owned())),
            action: Set("createOrganization".to_owned()),
            target: Set(Some("SL".to_owned())),
            outcome: Set("ALLOWED".to_owned()),
            error_code: Set(None),
            request_id: Set(None),
            scope_path: Set(None),
            prev_hash: Set("0".repeat(64)),
            hash: Set("a".repeat(64)),
        }
        .insert(&db)
        .await
        .expect("append");

        let mut tampered: audit_log::ActiveModel = row.clone().into();
        tampered.outcome = Set("DENIED".to_owned());
        let append_only = "audit_log is append-only";
        assert_refused(&db, tampered.update(&db).await, ErrorKind::Other, append_only).await;
        let delete = audit_log::Entity::delete_by_id(row.seq).exec(&db).await;
        assert_refused(&db, delete, ErrorKind::Other, append_only).await;
        let bulk_delete = db.execute_unprepared("DELETE FROM audit_log").await;
        assert_refused(&db, bulk_delete, ErrorKind::Other, append_only).await;
        assert_eq!(audit_log::Entity::find().all(&db).await.expect("read"), vec![row]);
    }
}

/// The registry's invariants over the whole database, checked after
/// concurrent work: open memberships only in active cells; every member in
/// the party has exactly one open OFFICIAL membership and every member who
/// left has none; each closed membership ends when its closing event took
/// effect; the feed numbers its events 1..n.
pub async fn assert_registry_invariants(db: &DatabaseConnection) {
    use entity::enums::{MemberStatus, MembershipKind, OrganizationKind, OrganizationStatus};
    use entity::{member, membership, organization, transfer_event};
    use std::collections::HashMap;

    let organizations: HashMap<i64, organization::Model> = organization::Entity::find()
        .all(db)
        .await
        .expect("organizations")
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let events: HashMap<i64, transfer_event::Model> = transfer_event::Entity::find()
        .all(db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let memberships = membership::Entity::find()
        .all(db)
        .await
        .expect("memberships");
    let mut open_official: HashMap<i64, usize> = HashMap::new();
    for m in &memberships {
        match m.ended_at {
            None => {
                let cell = &organizations[&m.organization_id];
                assert!(
                    cell.kind == OrganizationKind::Cell
                        && cell.status == OrganizationStatus::Active,
                    "open membership {} in {} ({:?})",
                    m.id,
                    cell.code,
                    cell.status
                );
                if m.kind == MembershipKind::Official {
                    *open_official.entry(m.member_id).or_default() += 1;
                }
            }
            Some(ended) => {
                let closing = m.closed_by_event_id.map(|id| &events[&id]);
                assert_eq!(
                    closing.map(|e| e.effective_at),
                    Some(ended),
                    "membership {} ends with its closing event",
                    m.id
                );
            }
        }
    }
    // A member in transit (an open OFFICIAL letter) is in no cell.
    let in_transit: std::collections::HashSet<i64> = entity::letter::Entity::find()
        .all(db)
        .await
        .expect("letters")
        .into_iter()
        .filter(|l| {
            l.status == entity::enums::LetterStatus::Open && l.kind == MembershipKind::Official
        })
        .map(|l| l.member_id)
        .collect();
    for person in member::Entity::find().all(db).await.expect("members") {
        let open = open_official.get(&person.id).copied().unwrap_or(0);
        let expected = usize::from(
            !matches!(
                person.status,
                MemberStatus::Removed | MemberStatus::Deceased
            ) && !in_transit.contains(&person.id),
        );
        assert_eq!(open, expected, "member {} ({:?})", person.id, person.status);
    }
    let mut sequences: Vec<i64> = events.values().map(|e| e.sequence).collect();
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (1..=sequences.len() as i64).collect::<Vec<_>>(),
        "the feed has no gap"
    );
}
