//! The tree remembers: `organization_version` keeps each period of every
//! organization's life, `[valid_from, valid_to)`, with its parent,
//! materialized path, depth, name and status then. A subtree as of an
//! instant is one range scan of `(path, valid_from)`. Organizations created
//! before this migration get their history from their current state: in
//! place since they were established (or, without a date, created), and,
//! if dissolved, ended from then on.
//!
//! Merges and splits: `organization.ended_as` says how an ended organization
//! ended (MERGED or SPLIT; null for a plain dissolution: `status` stays
//! DISSOLVED for every ended organization, so the guards of the earlier
//! migrations keep holding), and `organization_succession` leads from each
//! ended organization to those that took over.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::Organization;
use crate::sql::{execute_for_backend, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const STATUSES: &[&str] = &["ACTIVE", "DISSOLVED", "MERGED", "SPLIT"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organization::Table)
                    .add_column(
                        ColumnDef::new(EndedAs::EndedAs)
                            .string_len(32)
                            .null()
                            .check(one_of(EndedAs::EndedAs, &["MERGED", "SPLIT"])),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationSuccession::Table)
                    .col(big_pk_auto(OrganizationSuccession::Id))
                    .col(big_integer(OrganizationSuccession::PredecessorId))
                    .col(big_integer(OrganizationSuccession::SuccessorId))
                    .col(timestamp_with_time_zone(
                        OrganizationSuccession::EffectiveAt,
                    ))
                    .col(string_len(OrganizationSuccession::DecisionRef, 255))
                    .check(Expr::cust("predecessor_id <> successor_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_succession_predecessor")
                            .from(
                                OrganizationSuccession::Table,
                                OrganizationSuccession::PredecessorId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_succession_successor")
                            .from(
                                OrganizationSuccession::Table,
                                OrganizationSuccession::SuccessorId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organization_succession")
                    .table(OrganizationSuccession::Table)
                    .col(OrganizationSuccession::PredecessorId)
                    .col(OrganizationSuccession::SuccessorId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_succession_successor")
                    .table(OrganizationSuccession::Table)
                    .col(OrganizationSuccession::SuccessorId)
                    .to_owned(),
            )
            .await?;
        let mut path = string_len(OrganizationVersion::Path, 1024);
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, as organization.path: a subtree is the range [path, path + 1).
            path.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(OrganizationVersion::Table)
                    .col(big_pk_auto(OrganizationVersion::Id))
                    .col(big_integer(OrganizationVersion::OrganizationId))
                    .col(timestamp_with_time_zone(OrganizationVersion::ValidFrom))
                    .col(timestamp_with_time_zone_null(OrganizationVersion::ValidTo))
                    .col(big_integer_null(OrganizationVersion::ParentId))
                    .col(path)
                    .col(
                        integer(OrganizationVersion::Depth)
                            .check(Expr::col(OrganizationVersion::Depth).gte(0)),
                    )
                    .col(string_len(OrganizationVersion::Name, 255))
                    .col(
                        string_len(OrganizationVersion::Status, 32)
                            .check(one_of(OrganizationVersion::Status, STATUSES)),
                    )
                    // A period is never empty.
                    .check(Expr::cust("valid_to IS NULL OR valid_to > valid_from"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_version_organization")
                            .from(
                                OrganizationVersion::Table,
                                OrganizationVersion::OrganizationId,
                            )
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_version_parent")
                            .from(OrganizationVersion::Table, OrganizationVersion::ParentId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            // "The subtree of X as of T": one range of paths, valid at T.
            (
                "ix_organization_version_path",
                [OrganizationVersion::Path, OrganizationVersion::ValidFrom],
                false,
            ),
            // "X as of T": the latest version starting at or before T.
            (
                "ux_organization_version_start",
                [
                    OrganizationVersion::OrganizationId,
                    OrganizationVersion::ValidFrom,
                ],
                true,
            ),
            // "The children of X as of T".
            (
                "ix_organization_version_parent",
                [
                    OrganizationVersion::ParentId,
                    OrganizationVersion::ValidFrom,
                ],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(OrganizationVersion::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        // One open version per organization; the backfill below gives every
        // organization there is one, ACTIVE or ended.
        let start = "COALESCE(established_at, created_at)";
        let backfill = |greatest: &str| {
            [
                "CREATE UNIQUE INDEX ux_organization_version_open ON organization_version (organization_id) WHERE valid_to IS NULL".to_owned(),
                format!(
                    "INSERT INTO organization_version (organization_id, valid_from, valid_to, parent_id, path, depth, name, status)
                     SELECT id, {start}, CASE WHEN status = 'ACTIVE' THEN NULL ELSE dissolved_at END,
                            parent_id, path, depth, name, 'ACTIVE'
                     FROM organization
                     WHERE status = 'ACTIVE' OR dissolved_at > {start}"
                ),
                format!(
                    "INSERT INTO organization_version (organization_id, valid_from, valid_to, parent_id, path, depth, name, status)
                     SELECT id, {greatest}(dissolved_at, {start}), NULL, parent_id, path, depth, name, status
                     FROM organization
                     WHERE status <> 'ACTIVE'"
                ),
            ]
        };
        let postgres = backfill("GREATEST");
        let sqlite = backfill("MAX");
        execute_for_backend(
            manager,
            &postgres.iter().map(String::as_str).collect::<Vec<_>>(),
            &sqlite.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrganizationVersion::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(OrganizationSuccession::Table)
                    .to_owned(),
            )
            .await?;
        // Merged and split organizations stay ended, as plain dissolutions.
        manager
            .alter_table(
                Table::alter()
                    .table(Organization::Table)
                    .drop_column(EndedAs::EndedAs)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
pub enum OrganizationVersion {
    Table,
    Id,
    OrganizationId,
    ValidFrom,
    ValidTo,
    ParentId,
    Path,
    Depth,
    Name,
    Status,
}

#[derive(DeriveIden)]
enum EndedAs {
    EndedAs,
}

#[derive(DeriveIden)]
pub enum OrganizationSuccession {
    Table,
    Id,
    PredecessorId,
    SuccessorId,
    EffectiveAt,
    DecisionRef,
}
