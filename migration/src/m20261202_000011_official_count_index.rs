//! "How many are in this cell" (member counts of a page of organizations,
//! now or at an instant) answered from an index alone: every OFFICIAL
//! membership by organization, with the two instants that say whether it is
//! open at a given time. PostgreSQL counts with an index-only scan instead
//! of visiting each membership's row to read `kind` and `ended_at`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261126_000004_create_membership::Membership;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_membership_official_by_organization";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Membership::Table)
                    .col(Membership::OrganizationId)
                    .col(Membership::StartedAt)
                    .col(Membership::EndedAt)
                    .and_where(Expr::col(Membership::Kind).eq("OFFICIAL"))
                    .to_owned(),
            )
            .await?;
        // The planner's figures for the new index (PostgreSQL; ANALYZE of
        // one table is quick and SQLite's equivalent is not needed here).
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ANALYZE membership")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Membership::Table).to_owned())
            .await
    }
}
