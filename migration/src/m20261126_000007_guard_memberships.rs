//! Triggers that keep memberships where they can exist: an open membership
//! only in an ACTIVE CELL, and no organization dissolved while one is open in it.

use sea_orm_migration::prelude::*;

use crate::sql::execute_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_for_backend(
            manager,
            &[
                r#"CREATE FUNCTION membership_requires_active_cell() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                     IF NEW.ended_at IS NULL AND NOT EXISTS (
                         SELECT 1 FROM organization o
                         WHERE o.id = NEW.organization_id AND o.kind = 'CELL' AND o.status = 'ACTIVE') THEN
                       RAISE EXCEPTION 'an open membership needs an active cell';
                     END IF;
                     RETURN NEW;
                   END $$"#,
                "CREATE TRIGGER membership_requires_active_cell BEFORE INSERT OR UPDATE ON membership
                   FOR EACH ROW EXECUTE FUNCTION membership_requires_active_cell()",
                r#"CREATE FUNCTION organization_dissolves_empty() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                     IF NEW.status = 'DISSOLVED' AND EXISTS (
                         SELECT 1 FROM membership m
                         WHERE m.organization_id = NEW.id AND m.ended_at IS NULL) THEN
                       RAISE EXCEPTION 'an organization with open memberships cannot be dissolved';
                     END IF;
                     RETURN NEW;
                   END $$"#,
                "CREATE TRIGGER organization_dissolves_empty BEFORE UPDATE ON organization
                   FOR EACH ROW EXECUTE FUNCTION organization_dissolves_empty()",
            ],
            &[
                "CREATE TRIGGER membership_requires_active_cell BEFORE INSERT ON membership
                   WHEN NEW.ended_at IS NULL AND NOT EXISTS (
                     SELECT 1 FROM organization o
                     WHERE o.id = NEW.organization_id AND o.kind = 'CELL' AND o.status = 'ACTIVE')
                   BEGIN SELECT RAISE(ABORT, 'an open membership needs an active cell'); END",
                "CREATE TRIGGER membership_reopen_requires_active_cell BEFORE UPDATE ON membership
                   WHEN NEW.ended_at IS NULL AND NOT EXISTS (
                     SELECT 1 FROM organization o
                     WHERE o.id = NEW.organization_id AND o.kind = 'CELL' AND o.status = 'ACTIVE')
                   BEGIN SELECT RAISE(ABORT, 'an open membership needs an active cell'); END",
                "CREATE TRIGGER organization_dissolves_empty BEFORE UPDATE ON organization
                   WHEN NEW.status = 'DISSOLVED' AND EXISTS (
                     SELECT 1 FROM membership m WHERE m.organization_id = NEW.id AND m.ended_at IS NULL)
                   BEGIN SELECT RAISE(ABORT, 'an organization with open memberships cannot be dissolved'); END",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_for_backend(
            manager,
            &[
                "DROP TRIGGER organization_dissolves_empty ON organization",
                "DROP FUNCTION organization_dissolves_empty()",
                "DROP TRIGGER membership_requires_active_cell ON membership",
                "DROP FUNCTION membership_requires_active_cell()",
            ],
            &[
                "DROP TRIGGER organization_dissolves_empty",
                "DROP TRIGGER membership_reopen_requires_active_cell",
                "DROP TRIGGER membership_requires_active_cell",
            ],
        )
        .await
    }
}
