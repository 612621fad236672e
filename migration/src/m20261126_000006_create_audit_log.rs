//! The audit log: append-only, each row chained to the previous by hash.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000003_create_transfer_event::Counter;
use crate::sql::{execute_for_backend, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut scope_path = string_len_null(AuditLog::ScopePath, 1024);
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, like organization.path, so a subtree is one range.
            scope_path.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        big_integer(AuditLog::Seq)
                            .primary_key()
                            .check(Expr::col(AuditLog::Seq).gt(0)),
                    )
                    .col(timestamp_with_time_zone(AuditLog::OccurredAt))
                    .col(string_len_null(AuditLog::Subject, 255))
                    .col(string_len_null(AuditLog::Role, 32))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len_null(AuditLog::Target, 255))
                    .col(
                        string_len(AuditLog::Outcome, 16)
                            .check(one_of(AuditLog::Outcome, &["ALLOWED", "DENIED", "FAILED"])),
                    )
                    .col(string_len_null(AuditLog::ErrorCode, 32))
                    .col(string_len_null(AuditLog::RequestId, 64))
                    .col(scope_path)
                    // Unique: two rows naming the same predecessor would fork the chain.
                    .col(string_len_uniq(AuditLog::PrevHash, 64))
                    .col(string_len_uniq(AuditLog::Hash, 64))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_audit_log_subject", AuditLog::Subject),
            ("ix_audit_log_action", AuditLog::Action),
            ("ix_audit_log_scope_path", AuditLog::ScopePath),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(column)
                        .col(AuditLog::Seq)
                        .to_owned(),
                )
                .await?;
        }
        // The chain's length, bumped in each appending transaction: its row
        // lock serializes appenders, and a count ahead of the last row
        // reveals rows removed from the end.
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Counter::Table)
                    .columns([Counter::Name, Counter::LastValue])
                    .values_panic(["audit_log".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        // Rows can be added, never changed or removed.
        execute_for_backend(
            manager,
            &[
                r#"CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"#,
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
                   FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()",
                "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                   FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()",
            ],
            &[
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its triggers on both backends.
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(Counter::Table)
                    .and_where(Expr::col(Counter::Name).eq("audit_log"))
                    .to_owned(),
            )
            .await?;
        execute_for_backend(manager, &["DROP FUNCTION audit_log_refuse_change()"], &[]).await
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    OccurredAt,
    Subject,
    Role,
    Action,
    Target,
    Outcome,
    ErrorCode,
    RequestId,
    ScopePath,
    PrevHash,
    Hash,
}
