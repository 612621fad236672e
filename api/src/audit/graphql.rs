//! `auditLog`: the audit chain, oldest first, for ADMIN and AUDITOR.

use async_graphql::{Context, ErrorExtensions, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::audit_log;

use super::service;
use crate::graphql::pagination::{PageInfo, decode_cursor, encode_cursor, page_size};
use crate::graphql::{caller, db};

const LIST: &str = "audit";

/// One audit row.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    seq: i64,
    occurred_at: DateTime<Utc>,
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
            occurred_at: row.occurred_at,
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

#[derive(SimpleObject)]
pub struct AuditEntryEdge {
    cursor: String,
    node: AuditEntry,
}

#[derive(SimpleObject)]
pub struct AuditEntryConnection {
    edges: Vec<AuditEntryEdge>,
    page_info: PageInfo,
}

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
        let limit = page_size(first).map_err(|e| e.extend())?;
        let after_seq = after
            .map(|cursor| decode_cursor(LIST, &cursor))
            .transpose()
            .map_err(|e| e.extend())?;
        // One extra row tells whether another page follows.
        let mut rows = service::list(
            db(ctx)?,
            caller(ctx)?,
            after_seq,
            limit + 1,
            subject.as_deref(),
            action.as_deref(),
        )
        .await
        .map_err(|e| e.extend())?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<AuditEntryEdge> = rows
            .into_iter()
            .map(|row| AuditEntryEdge {
                cursor: encode_cursor(LIST, row.seq),
                node: row.into(),
            })
            .collect();
        let page_info = PageInfo {
            has_previous_page: after_seq.is_some(),
            has_next_page,
            start_cursor: edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: edges.last().map(|edge| edge.cursor.clone()),
        };
        Ok(AuditEntryConnection { edges, page_info })
    }
}
