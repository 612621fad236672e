//! Plans and the cell types they target.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::{CELL_TYPES, Organization};
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plan::Table)
                    .col(big_pk_auto(Plan::Id))
                    .col(string_len_uniq(Plan::Code, 64))
                    .col(string_len(Plan::Title, 255))
                    .col(big_integer(Plan::IssuedById))
                    .col(date(Plan::IssuedOn))
                    .col(date_null(Plan::Deadline))
                    .col(timestamp_with_time_zone(Plan::CreatedAt))
                    .check(Expr::cust("deadline IS NULL OR deadline >= issued_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plan_issued_by")
                            .from(Plan::Table, Plan::IssuedById)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanTargetCellType::Table)
                    .col(big_integer(PlanTargetCellType::PlanId))
                    .col(
                        string_len(PlanTargetCellType::CellType, 32)
                            .check(one_of(PlanTargetCellType::CellType, CELL_TYPES)),
                    )
                    .primary_key(
                        Index::create()
                            .col(PlanTargetCellType::PlanId)
                            .col(PlanTargetCellType::CellType),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_plan_target_cell_type_plan")
                            .from(PlanTargetCellType::Table, PlanTargetCellType::PlanId)
                            .to(Plan::Table, Plan::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_plan_issued_by")
                    .table(Plan::Table)
                    .col(Plan::IssuedById)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlanTargetCellType::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Plan::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Plan {
    Table,
    Id,
    Code,
    Title,
    IssuedById,
    IssuedOn,
    Deadline,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlanTargetCellType {
    Table,
    PlanId,
    CellType,
}
