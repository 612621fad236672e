//! Members and their personal data.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::Organization;
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Member::Table)
                    .col(big_pk_auto(Member::Id))
                    // Text, not char(12): PostgreSQL casts a char column compared with
                    // text and then cannot use the index.
                    .col(
                        string_len_uniq(Member::NationalId, 12)
                            .check(Expr::cust("length(national_id) = 12")),
                    )
                    .col(string_len_null(Member::PartyCardNumber, 32).unique_key())
                    .col(string_len(Member::FullName, 255))
                    .col(date_null(Member::BirthDate))
                    .col(date_null(Member::AdmittedOn))
                    .col(date_null(Member::OfficialOn))
                    .col(string_len(Member::Status, 32).check(one_of(
                        Member::Status,
                        &["PROBATIONARY", "OFFICIAL", "REMOVED", "DECEASED"],
                    )))
                    .col(big_integer_null(Member::ResidenceCellId))
                    .col(timestamp_with_time_zone(Member::CreatedAt))
                    .col(timestamp_with_time_zone(Member::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_residence_cell")
                            .from(Member::Table, Member::ResidenceCellId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_member_residence_cell")
                    .table(Member::Table)
                    .col(Member::ResidenceCellId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Member::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Member {
    Table,
    Id,
    NationalId,
    PartyCardNumber,
    FullName,
    BirthDate,
    AdmittedOn,
    OfficialOn,
    Status,
    ResidenceCellId,
    CreatedAt,
    UpdatedAt,
}
