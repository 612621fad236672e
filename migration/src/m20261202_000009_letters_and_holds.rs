//! Introduction letters and holds. A hold keeps a member where they are
//! while an inspection, complaint or discipline runs. A letter moves a member
//! across committees in steps (issued, then received or cancelled), each an
//! event of the feed, whose `phase` tells a departure in transit from a
//! completed move. A temporary membership may carry the date it is due to end.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000001_create_organization::Organization;
use crate::m20261126_000002_create_member::Member;
use crate::m20261126_000003_create_transfer_event::{MEMBERSHIP_KINDS, TransferEvent};
use crate::m20261126_000004_create_membership::Membership;
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const HOLD_REASONS: &[&str] = &["INSPECTION", "COMPLAINT", "DISCIPLINE"];
pub const LETTER_STATUSES: &[&str] = &["OPEN", "RECEIVED", "CANCELLED"];
pub const EVENT_PHASES: &[&str] = &["COMPLETED", "DEPARTED", "ARRIVED", "RETURNED"];
pub const TEMPORARY_PURPOSES: &[&str] = &["WORK", "RESIDENCE", "STUDY"];

fn foreign(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MemberHold::Table)
                    .col(big_pk_auto(MemberHold::Id))
                    .col(big_integer(MemberHold::MemberId))
                    .col(
                        string_len(MemberHold::Reason, 16)
                            .check(one_of(MemberHold::Reason, HOLD_REASONS)),
                    )
                    .col(string_len(MemberHold::DecisionRef, 255))
                    .col(timestamp_with_time_zone(MemberHold::PlacedAt))
                    .col(string_len(MemberHold::PlacedBy, 255))
                    .col(timestamp_with_time_zone_null(MemberHold::ReleasedAt))
                    .col(string_len_null(MemberHold::ReleasedBy, 255))
                    .col(string_len_null(MemberHold::ReleaseDecisionRef, 255))
                    .check(Expr::cust("(released_at IS NULL) = (released_by IS NULL)"))
                    .foreign_key(&mut foreign(
                        "fk_member_hold_member",
                        (MemberHold::Table, MemberHold::MemberId),
                        (Member::Table, Member::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One open hold per member and reason.
        manager
            .create_index(
                Index::create()
                    .name("ux_member_hold_open")
                    .table(MemberHold::Table)
                    .col(MemberHold::MemberId)
                    .col(MemberHold::Reason)
                    .unique()
                    .and_where(Expr::col(MemberHold::ReleasedAt).is_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Letter::Table)
                    .col(big_pk_auto(Letter::Id))
                    .col(big_integer(Letter::MemberId))
                    .col(string_len(Letter::Kind, 16).check(one_of(Letter::Kind, MEMBERSHIP_KINDS)))
                    .col(string_len(Letter::Number, 64))
                    .col(big_integer(Letter::IssuingCommitteeId))
                    .col(big_integer(Letter::FromCellId))
                    .col(big_integer(Letter::ToOrganizationId))
                    .col(string_len(Letter::Reason, 32))
                    .col(string_len_null(Letter::DecisionRef, 255))
                    .col(string_len_null(Letter::DuesPaidThrough, 7))
                    .col(date(Letter::IssuedOn))
                    .col(date(Letter::PresentBy))
                    .col(date_null(Letter::EndsOn))
                    .col(
                        string_len_null(Letter::Purpose, 16)
                            .check(one_of(Letter::Purpose, TEMPORARY_PURPOSES)),
                    )
                    .col(
                        string_len(Letter::Status, 16)
                            .check(one_of(Letter::Status, LETTER_STATUSES)),
                    )
                    .col(string_len(Letter::Submitter, 255))
                    .col(string_len(Letter::ExternalId, 255))
                    .col(string_len(Letter::RequestHash, 64))
                    .col(big_integer(Letter::IssuedEventId))
                    .col(big_integer_null(Letter::ClosedEventId))
                    .col(big_integer_null(Letter::ReceivedCellId))
                    .col(string_len_null(Letter::LateReason, 1000))
                    .col(timestamp_with_time_zone_null(Letter::ClosedAt))
                    .col(string_len_null(Letter::ClosedBy, 255))
                    .check(Expr::cust(
                        "(status = 'OPEN') = (closed_event_id IS NULL AND closed_at IS NULL)",
                    ))
                    .check(Expr::cust(
                        "(status = 'RECEIVED') = (received_cell_id IS NOT NULL)",
                    ))
                    .check(Expr::cust("present_by >= issued_on"))
                    .check(Expr::cust("(kind = 'TEMPORARY') = (ends_on IS NOT NULL)"))
                    .foreign_key(&mut foreign(
                        "fk_letter_member",
                        (Letter::Table, Letter::MemberId),
                        (Member::Table, Member::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_issuing_committee",
                        (Letter::Table, Letter::IssuingCommitteeId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_from_cell",
                        (Letter::Table, Letter::FromCellId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_to_organization",
                        (Letter::Table, Letter::ToOrganizationId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_received_cell",
                        (Letter::Table, Letter::ReceivedCellId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_issued_event",
                        (Letter::Table, Letter::IssuedEventId),
                        (TransferEvent::Table, TransferEvent::Id),
                    ))
                    .foreign_key(&mut foreign(
                        "fk_letter_closed_event",
                        (Letter::Table, Letter::ClosedEventId),
                        (TransferEvent::Table, TransferEvent::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A letter's number is unique within the committee that issues it.
        manager
            .create_index(
                Index::create()
                    .name("ux_letter_number")
                    .table(Letter::Table)
                    .col(Letter::IssuingCommitteeId)
                    .col(Letter::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Idempotency: one letter per submitter and key.
        manager
            .create_index(
                Index::create()
                    .name("ux_letter_external_id")
                    .table(Letter::Table)
                    .col(Letter::Submitter)
                    .col(Letter::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A member holds at most one open letter.
        manager
            .create_index(
                Index::create()
                    .name("ux_letter_open_per_member")
                    .table(Letter::Table)
                    .col(Letter::MemberId)
                    .unique()
                    .and_where(Expr::col(Letter::Status).eq("OPEN"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_letter_from_cell", Letter::FromCellId),
            ("ix_letter_to_organization", Letter::ToOrganizationId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Letter::Table)
                        .col(column)
                        .col(Letter::Status)
                        .to_owned(),
                )
                .await?;
        }

        // Events recorded before letters were all completed moves.
        manager
            .alter_table(
                Table::alter()
                    .table(TransferEvent::Table)
                    .add_column(
                        string_len(EventStep::Phase, 16)
                            .default("COMPLETED")
                            .check(one_of(EventStep::Phase, EVENT_PHASES)),
                    )
                    .to_owned(),
            )
            .await?;
        // The letter a step belongs to. No foreign key: SQLite cannot add one
        // to an existing table; the letter's own keys point back at its events.
        manager
            .alter_table(
                Table::alter()
                    .table(TransferEvent::Table)
                    .add_column(big_integer_null(EventStep::LetterId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Membership::Table)
                    .add_column(date_null(MembershipEnds::EndsOn))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Membership::Table)
                    .drop_column(MembershipEnds::EndsOn)
                    .to_owned(),
            )
            .await?;
        for column in [EventStep::LetterId, EventStep::Phase] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TransferEvent::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Letter::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MemberHold::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum MemberHold {
    Table,
    Id,
    MemberId,
    Reason,
    DecisionRef,
    PlacedAt,
    PlacedBy,
    ReleasedAt,
    ReleasedBy,
    ReleaseDecisionRef,
}

#[derive(DeriveIden)]
pub enum Letter {
    Table,
    Id,
    MemberId,
    Kind,
    Number,
    IssuingCommitteeId,
    FromCellId,
    ToOrganizationId,
    Reason,
    DecisionRef,
    DuesPaidThrough,
    IssuedOn,
    PresentBy,
    EndsOn,
    Purpose,
    Status,
    Submitter,
    ExternalId,
    RequestHash,
    IssuedEventId,
    ClosedEventId,
    ReceivedCellId,
    LateReason,
    ClosedAt,
    ClosedBy,
}

#[derive(DeriveIden)]
enum EventStep {
    Phase,
    LetterId,
}

#[derive(DeriveIden)]
enum MembershipEnds {
    EndsOn,
}
