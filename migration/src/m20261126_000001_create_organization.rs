//! Organizations: the party tree, with a materialized path for subtree queries.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const KINDS: &[&str] = &[
    "PROVINCIAL_COMMITTEE",
    "DISTRICT_COMMITTEE",
    "GRASSROOTS_COMMITTEE",
    "CELL",
];
pub const CELL_TYPES: &[&str] = &[
    "RESIDENTIAL",
    "AGENCY",
    "MILITARY",
    "POLICE",
    "SCHOOL",
    "ENTERPRISE",
    "OTHER",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut path = string_len(Organization::Path, 1024);
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, so a subtree is the range [path, path + 1) whatever the locale.
            path.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(big_pk_auto(Organization::Id))
                    .col(string_len_uniq(Organization::Code, 64))
                    .col(string_len(Organization::Name, 255))
                    .col(
                        string_len(Organization::Kind, 32).check(one_of(Organization::Kind, KINDS)),
                    )
                    .col(
                        string_len_null(Organization::CellType, 32)
                            .check(one_of(Organization::CellType, CELL_TYPES)),
                    )
                    .col(
                        string_len(Organization::Status, 32)
                            .check(one_of(Organization::Status, &["ACTIVE", "DISSOLVED"])),
                    )
                    .col(big_integer_null(Organization::ParentId))
                    .col(path)
                    .col(integer(Organization::Depth).check(Expr::col(Organization::Depth).gte(0)))
                    .col(timestamp_with_time_zone_null(Organization::EstablishedAt))
                    .col(timestamp_with_time_zone_null(Organization::DissolvedAt))
                    .col(string_len_null(Organization::DissolutionDecision, 255))
                    .col(timestamp_with_time_zone(Organization::CreatedAt))
                    .col(timestamp_with_time_zone(Organization::UpdatedAt))
                    // Cells, and only cells, have a cell type.
                    .check(Expr::cust("(kind = 'CELL') = (cell_type IS NOT NULL)"))
                    // A dissolved organization says when it was dissolved.
                    .check(Expr::cust(
                        "(status = 'DISSOLVED') = (dissolved_at IS NOT NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_parent")
                            .from(Organization::Table, Organization::ParentId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organization_path")
                    .table(Organization::Table)
                    .col(Organization::Path)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_parent")
                    .table(Organization::Table)
                    .col(Organization::ParentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Organization::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Organization {
    Table,
    Id,
    Code,
    Name,
    Kind,
    CellType,
    Status,
    ParentId,
    Path,
    Depth,
    EstablishedAt,
    DissolvedAt,
    DissolutionDecision,
    CreatedAt,
    UpdatedAt,
}
