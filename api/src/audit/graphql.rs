//! `auditLog`: the audit chain, oldest first, for ADMIN and AUDITOR.

use crate::graphql::scalars::Instant;
use async_graphql::{Context, ErrorExtensions, Object, SimpleObject};
use entity::audit_log;

use super::service;
use crate::graphql::pagination::{connection, connection_type, page_arg};
use crate::graphql::{caller, db};

const LIST: &str = "audit";

/// One audit row.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    seq: i64,
    occurred_at: Instant,
    subject: Option<String>,
    role: Option<String>,
    action: String,
    target: Option<String>,
    /// ALLOWED, DENIED or FAILED.
    outcome: String,
    error_code: Option<String>,
    request_id: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(row: audit_log::Model) -> Self {
        Self {
            seq: row.seq,
            occurred_at: Instant(row.occurred_at),
            subject: row.subject,
            role: row.role,
            action: row.action,
            target: row.target,
            outcome: row.outcome,
            error_code: row.error_code,
            request_id: row.request_id,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

connection_type!(AuditEntryConnection, AuditEntryEdge, AuditEntry);

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, oldest first; ADMIN and AUDITOR only.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subject: Option<String>,
        action: Option<String>,
    ) -> async_graphql::Result<AuditEntryConnection> {
        let page = page_arg(LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let rows = service::list(
            db(ctx)?,
            caller(ctx)?,
            page,
            subject.as_deref(),
            action.as_deref(),
        )
        .await
        .map_err(|e| e.extend())?;
        Ok(connection(
            LIST,
            rows,
            page.after,
            |row| row.seq,
            AuditEntry::from,
        ))
    }
}
