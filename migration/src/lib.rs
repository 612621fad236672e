//! cellreg's schema, one change per migration, each with a working `down`.
//!
//! The registry's invariants are held here as well as in the domain code, so a
//! bug in one is caught by the other: unique codes and identity numbers, the
//! partial unique index allowing one open OFFICIAL membership per member,
//! unique idempotency keys per submitter, foreign keys everywhere, and
//! triggers that keep memberships out of dissolved organizations and keep the
//! audit log append-only.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_organization;
mod m20261126_000002_create_member;
mod m20261126_000003_create_transfer_event;
mod m20261126_000004_create_membership;
mod m20261126_000005_create_plan;
mod m20261126_000006_create_audit_log;
mod m20261126_000007_guard_memberships;
mod m20261202_000008_event_member_snapshot;
mod m20261202_000009_letters_and_holds;
mod m20261202_000010_organization_history;
mod m20261202_000011_official_count_index;
mod sql;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_organization::Migration),
            Box::new(m20261126_000002_create_member::Migration),
            Box::new(m20261126_000003_create_transfer_event::Migration),
            Box::new(m20261126_000004_create_membership::Migration),
            Box::new(m20261126_000005_create_plan::Migration),
            Box::new(m20261126_000006_create_audit_log::Migration),
            Box::new(m20261126_000007_guard_memberships::Migration),
            Box::new(m20261202_000008_event_member_snapshot::Migration),
            Box::new(m20261202_000009_letters_and_holds::Migration),
            Box::new(m20261202_000010_organization_history::Migration),
            Box::new(m20261202_000011_official_count_index::Migration),
        ]
    }
}

/// Where the database stands relative to the migrations this build knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// Known migrations, in order, with whether each is applied.
    pub known: Vec<(String, bool)>,
    /// Applied migrations this build does not know: the database was
    /// migrated by a newer cellreg.
    pub unknown_applied: Vec<String>,
}

impl SchemaState {
    pub fn pending(&self) -> usize {
        self.known.iter().filter(|(_, applied)| !applied).count()
    }
}

/// Reads the migration table (creating it if absent) and compares it with the
/// migrations compiled into this build.
pub async fn schema_state<C: ConnectionTrait>(db: &C) -> Result<SchemaState, DbErr> {
    use sea_orm_migration::sea_orm::{EntityTrait, QueryOrder};
    use sea_orm_migration::seaql_migrations;

    Migrator::install(db).await?;
    let applied: Vec<String> = seaql_migrations::Entity::find()
        .order_by_asc(seaql_migrations::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.version)
        .collect();
    let known: Vec<(String, bool)> = Migrator::migrations()
        .iter()
        .map(|m| (m.name().to_owned(), applied.iter().any(|a| a == m.name())))
        .collect();
    let unknown_applied = applied
        .into_iter()
        .filter(|a| !known.iter().any(|(name, _)| name == a))
        .collect();
    Ok(SchemaState {
        known,
        unknown_applied,
    })
}
