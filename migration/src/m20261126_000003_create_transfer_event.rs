//! Transfer events (the change feed) and the counter that numbers them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::Organization;
use crate::m20261126_000002_create_member::Member;
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const MEMBERSHIP_KINDS: &[&str] = &["OFFICIAL", "TEMPORARY"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Counter::Table)
                    .col(string_len(Counter::Name, 32).primary_key())
                    .col(big_integer(Counter::LastValue))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Counter::Table)
                    .columns([Counter::Name, Counter::LastValue])
                    .values_panic(["transfer_event".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TransferEvent::Table)
                    .col(big_pk_auto(TransferEvent::Id))
                    .col(
                        big_integer_uniq(TransferEvent::Sequence)
                            .check(Expr::col(TransferEvent::Sequence).gt(0)),
                    )
                    .col(string_len(TransferEvent::Submitter, 255))
                    .col(string_len(TransferEvent::ExternalId, 255))
                    .col(string_len(TransferEvent::RequestHash, 64))
                    .col(big_integer(TransferEvent::MemberId))
                    .col(big_integer_null(TransferEvent::FromOrganizationId))
                    .col(big_integer(TransferEvent::ToOrganizationId))
                    .col(
                        string_len(TransferEvent::Kind, 16)
                            .check(one_of(TransferEvent::Kind, MEMBERSHIP_KINDS)),
                    )
                    .col(string_len(TransferEvent::Reason, 32))
                    .col(string_len_null(TransferEvent::DecisionRef, 255))
                    .col(timestamp_with_time_zone(TransferEvent::EffectiveAt))
                    .col(timestamp_with_time_zone(TransferEvent::RecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_transfer_event_member")
                            .from(TransferEvent::Table, TransferEvent::MemberId)
                            .to(Member::Table, Member::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_transfer_event_from_organization")
                            .from(TransferEvent::Table, TransferEvent::FromOrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_transfer_event_to_organization")
                            .from(TransferEvent::Table, TransferEvent::ToOrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Idempotency: one event per key and submitter.
        manager
            .create_index(
                Index::create()
                    .name("ux_transfer_event_submitter_external_id")
                    .table(TransferEvent::Table)
                    .col(TransferEvent::Submitter)
                    .col(TransferEvent::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_transfer_event_member", TransferEvent::MemberId),
            (
                "ix_transfer_event_from_organization",
                TransferEvent::FromOrganizationId,
            ),
            (
                "ix_transfer_event_to_organization",
                TransferEvent::ToOrganizationId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TransferEvent::Table)
                        .col(column)
                        .col(TransferEvent::Sequence)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TransferEvent::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Counter::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum TransferEvent {
    Table,
    Id,
    Sequence,
    Submitter,
    ExternalId,
    RequestHash,
    MemberId,
    FromOrganizationId,
    ToOrganizationId,
    Kind,
    Reason,
    DecisionRef,
    EffectiveAt,
    RecordedAt,
    MemberFullName,
    MemberStatus,
}

#[derive(DeriveIden)]
pub enum Counter {
    Table,
    Name,
    LastValue,
}
