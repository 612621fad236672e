//! Migrations: up, down to zero and up again; start-up applies them, refuses a
//! database newer than the binary, and with --no-migrate refuses one behind.

use api::startup::Application;
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::ConnectionTrait;

use crate::helpers::TestDatabase;

const TABLES: &[&str] = &[
    "organization",
    "member",
    "transfer_event",
    "counter",
    "membership",
    "plan",
    "plan_target_cell_type",
    "audit_log",
    "member_hold",
    "letter",
];

async fn existing_tables(db: &sea_orm::DatabaseConnection) -> Vec<&'static str> {
    let manager = SchemaManager::new(db);
    let mut found = Vec::new();
    for table in TABLES {
        if manager.has_table(*table).await.expect("has_table") {
            found.push(*table);
        }
    }
    found
}

on_both_backends! {
    async fn migrations_go_up_down_to_zero_and_up_again(database: TestDatabase) {
        let db = database.connect().await;
        Migrator::up(&db, None).await.expect("up");
        assert_eq!(existing_tables(&db).await, TABLES);
        assert_eq!(migration::schema_state(&db).await.expect("state").pending(), 0);

        Migrator::down(&db, None).await.expect("down to zero");
        assert!(existing_tables(&db).await.is_empty(), "every table dropped");
        assert_eq!(migration::schema_state(&db).await.expect("state").pending(), Migrator::migrations().len());

        Migrator::up(&db, None).await.expect("up again");
        assert_eq!(existing_tables(&db).await, TABLES);
    }
}

on_both_backends! {
    async fn migrations_step_down_and_up_one_at_a_time(database: TestDatabase) {
        let db = database.connect().await;
        let total = Migrator::migrations().len();
        Migrator::up(&db, None).await.expect("up");
        for applied in (0..total).rev() {
            Migrator::down(&db, Some(1)).await.expect("one step down");
            assert_eq!(migration::schema_state(&db).await.expect("state").pending(), total - applied);
        }
        for pending in (0..total).rev() {
            Migrator::up(&db, Some(1)).await.expect("one step up");
            assert_eq!(migration::schema_state(&db).await.expect("state").pending(), pending);
        }
    }
}

on_both_backends! {
    async fn serve_applies_pending_migrations_on_start(database: TestDatabase) {
        let app = Application::build(database.config()).await.expect("starts");
        let state = migration::schema_state(&app.db()).await.expect("state");
        assert_eq!(state.pending(), 0);
        assert!(state.unknown_applied.is_empty());
    }
}

on_both_backends! {
    async fn serve_refuses_a_database_migrated_by_a_newer_cellreg(database: TestDatabase) {
        let db = database.connect().await;
        Migrator::up(&db, None).await.expect("up");
        db.execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_from_the_future', 0)",
        )
        .await
        .expect("record a future migration");

        let err = Application::build(database.config()).await.err().expect("refused").to_string();
        assert!(err.contains("migrated by a newer cellreg"), "{err}");
        assert!(err.contains("m29990101_000001_from_the_future"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

on_both_backends! {
    async fn no_migrate_refuses_a_database_that_is_behind(database: TestDatabase) {
        let mut config = database.config();
        config.no_migrate = true;
        let err = Application::build(config).await.err().expect("refused").to_string();
        assert!(err.contains(&format!("{} migration(s) behind", Migrator::migrations().len())), "{err}");
        assert!(err.contains("cellreg migrate up"), "{err}");

        let db = database.connect().await;
        assert!(existing_tables(&db).await.is_empty(), "nothing was migrated");
    }
}

on_both_backends! {
    async fn letters_migrate_a_registry_with_data(database: TestDatabase) {
        use entity::enums::{EventPhase, MemberStatus, MembershipKind, OrganizationKind, OrganizationStatus, TransferReason};
        use entity::{member, membership, organization, transfer_event};
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        let db = database.connect().await;
        // Every migration before letters and holds, and a member admitted then.
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261202_000009_letters_and_holds")
            .expect("the letters migration");
        Migrator::up(&db, Some(before as u32)).await.expect("up to before letters");
        let now = chrono::Utc::now();
        // Written as that schema knew it: the insert answers only the id.
        let cell = organization::Entity::insert(organization::ActiveModel {
            code: Set("C1".into()),
            name: Set("Chi bộ 1".into()),
            kind: Set(OrganizationKind::Cell),
            cell_type: Set(Some(entity::enums::CellType::Residential)),
            status: Set(OrganizationStatus::Active),
            path: Set("/1/".into()),
            depth: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&db)
        .await
        .expect("cell")
        .last_insert_id;
        let person = member::ActiveModel {
            national_id: Set("001080000001".into()),
            full_name: Set("Nguyễn Văn An".into()),
            status: Set(MemberStatus::Official),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("member");
        // Written without the columns the migration adds (insert answers only the id).
        let event = transfer_event::Entity::insert(transfer_event::ActiveModel {
            sequence: Set(1),
            submitter: Set("s".into()),
            external_id: Set("a-1".into()),
            request_hash: Set("h".into()),
            member_id: Set(person.id),
            to_organization_id: Set(cell),
            kind: Set(MembershipKind::Official),
            reason: Set(TransferReason::Admission),
            effective_at: Set(now),
            recorded_at: Set(now),
            member_full_name: Set(Some("Nguyễn Văn An".into())),
            member_status: Set(Some(MemberStatus::Official)),
            ..Default::default()
        })
        .exec(&db)
        .await
        .expect("event")
        .last_insert_id;
        membership::Entity::insert(membership::ActiveModel {
            member_id: Set(person.id),
            organization_id: Set(cell),
            kind: Set(MembershipKind::Official),
            started_at: Set(now),
            opened_by_event_id: Set(event),
            ..Default::default()
        })
        .exec(&db)
        .await
        .expect("membership");

        Migrator::up(&db, None).await.expect("up");
        let event = transfer_event::Entity::find_by_id(event).one(&db).await.expect("read").expect("event");
        assert_eq!(event.phase, EventPhase::Completed, "events before letters were completed moves");
        assert_eq!(event.letter_id, None);
        let memberships = membership::Entity::find().all(&db).await.expect("read");
        assert_eq!(memberships.len(), 1);
        assert_eq!(memberships[0].ends_on, None);
        let after = (Migrator::migrations().len() - before) as u32;
        Migrator::down(&db, Some(after)).await.expect("down");
        assert!(transfer_event::Entity::find().all(&db).await.is_err(), "the columns are gone");
    }
}
