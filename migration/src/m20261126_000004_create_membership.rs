//! Memberships: who was active in which cell, and when.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::Organization;
use crate::m20261126_000002_create_member::Member;
use crate::m20261126_000003_create_transfer_event::{MEMBERSHIP_KINDS, TransferEvent};
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Membership::Table)
                    .col(big_pk_auto(Membership::Id))
                    .col(big_integer(Membership::MemberId))
                    .col(big_integer(Membership::OrganizationId))
                    .col(
                        string_len(Membership::Kind, 16)
                            .check(one_of(Membership::Kind, MEMBERSHIP_KINDS)),
                    )
                    .col(timestamp_with_time_zone(Membership::StartedAt))
                    .col(timestamp_with_time_zone_null(Membership::EndedAt))
                    .col(big_integer(Membership::OpenedByEventId))
                    .col(big_integer_null(Membership::ClosedByEventId))
                    .check(Expr::cust("ended_at IS NULL OR ended_at >= started_at"))
                    .check(Expr::cust(
                        "(ended_at IS NULL) = (closed_by_event_id IS NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_member")
                            .from(Membership::Table, Membership::MemberId)
                            .to(Member::Table, Member::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_organization")
                            .from(Membership::Table, Membership::OrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_opened_by_event")
                            .from(Membership::Table, Membership::OpenedByEventId)
                            .to(TransferEvent::Table, TransferEvent::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_closed_by_event")
                            .from(Membership::Table, Membership::ClosedByEventId)
                            .to(TransferEvent::Table, TransferEvent::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The registry's central invariant: a member is officially active in
        // exactly one cell at a time.
        manager
            .create_index(
                Index::create()
                    .name("ux_membership_open_official")
                    .table(Membership::Table)
                    .col(Membership::MemberId)
                    .unique()
                    .and_where(Expr::col(Membership::Kind).eq("OFFICIAL"))
                    .and_where(Expr::col(Membership::EndedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // At most one open temporary membership per member and cell.
        manager
            .create_index(
                Index::create()
                    .name("ux_membership_open_temporary")
                    .table(Membership::Table)
                    .col(Membership::MemberId)
                    .col(Membership::OrganizationId)
                    .unique()
                    .and_where(Expr::col(Membership::Kind).eq("TEMPORARY"))
                    .and_where(Expr::col(Membership::EndedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // "Who is in this cell now": answered from this index alone.
        manager
            .create_index(
                Index::create()
                    .name("ix_membership_open_by_organization")
                    .table(Membership::Table)
                    .col(Membership::OrganizationId)
                    .col(Membership::MemberId)
                    .and_where(Expr::col(Membership::EndedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // History and time travel: a member's memberships in order.
        manager
            .create_index(
                Index::create()
                    .name("ix_membership_member_started")
                    .table(Membership::Table)
                    .col(Membership::MemberId)
                    .col(Membership::StartedAt)
                    .to_owned(),
            )
            .await?;
        // Time travel by organization: who was in a cell at an instant.
        manager
            .create_index(
                Index::create()
                    .name("ix_membership_organization_started")
                    .table(Membership::Table)
                    .col(Membership::OrganizationId)
                    .col(Membership::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Membership::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Membership {
    Table,
    Id,
    MemberId,
    OrganizationId,
    Kind,
    StartedAt,
    EndedAt,
    OpenedByEventId,
    ClosedByEventId,
}
