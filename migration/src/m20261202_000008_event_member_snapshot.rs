//! Each transfer event keeps the identity of the member it moved, as it was
//! when the event was recorded (name and status), so that a caller who sees
//! the event but no longer the member is shown the member as the event found
//! them, never their later life.

use sea_orm_migration::prelude::*;

use crate::m20261126_000002_create_member::Member;
use crate::m20261126_000003_create_transfer_event::TransferEvent;
use crate::sql::one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Nullable only because SQLite adds a NOT NULL column only with a
        // default, which would hide a missing snapshot; the code always sets both.
        manager
            .alter_table(
                Table::alter()
                    .table(TransferEvent::Table)
                    .add_column(ColumnDef::new(TransferEvent::MemberFullName).string_len(255))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(TransferEvent::Table)
                    .add_column(
                        ColumnDef::new(TransferEvent::MemberStatus)
                            .string_len(32)
                            .check(one_of(
                                TransferEvent::MemberStatus,
                                &["PROBATIONARY", "OFFICIAL", "REMOVED", "DECEASED"],
                            )),
                    )
                    .to_owned(),
            )
            .await?;
        // Events recorded before this migration take the member as they are now:
        // the nearest record there is.
        let of_the_member = |column: Member| {
            SimpleExpr::SubQuery(
                None,
                Box::new(
                    Query::select()
                        .column(column)
                        .from(Member::Table)
                        .and_where(
                            Expr::col((Member::Table, Member::Id))
                                .equals((TransferEvent::Table, TransferEvent::MemberId)),
                        )
                        .to_owned()
                        .into_sub_query_statement(),
                ),
            )
        };
        let backfill = Query::update()
            .table(TransferEvent::Table)
            .value(
                TransferEvent::MemberFullName,
                of_the_member(Member::FullName),
            )
            .value(TransferEvent::MemberStatus, of_the_member(Member::Status))
            .to_owned();
        manager.exec_stmt(backfill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [TransferEvent::MemberStatus, TransferEvent::MemberFullName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TransferEvent::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
