//! Appending to the audit chain, running a mutation with its audit row, and
//! verifying the chain.

use chrono::SecondsFormat;
use entity::{audit_log, counter};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};

use crate::auth::Ctx;
use crate::database;
use crate::error::{AppError, ErrorCode};
use crate::page::{Page, PageOf};

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The counter whose value is the number of rows in the chain.
const CHAIN_COUNTER: &str = "audit_log";

/// Widths of the text columns, in characters, as the migration made them.
const SUBJECT_CHARS: usize = 255;
const ROLE_CHARS: usize = 32;
const ACTION_CHARS: usize = 64;
const TARGET_CHARS: usize = 255;
const REQUEST_ID_CHARS: usize = 64;

/// Text as an audit column can hold it, whatever the caller sent: the row of
/// a refused request must never be lost to the very input that was refused.
/// Control characters (NUL among them, which PostgreSQL cannot store) are
/// written as `\u{..}` escapes, and text past the column's width is cut,
/// ending in `…`. Text that needs neither is kept as sent, so filters on it match.
fn storable(text: String, max_chars: usize) -> String {
    if !text.contains(char::is_control) && text.chars().count() <= max_chars {
        return text;
    }
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    if escaped.chars().count() <= max_chars {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "ALLOWED",
            Self::Denied => "DENIED",
            Self::Failed => "FAILED",
        }
    }

    /// Refusals by policy are DENIED; anything else that went wrong is FAILED.
    pub fn of_error(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Forbidden | ErrorCode::Unauthenticated => Self::Denied,
            _ => Self::Failed,
        }
    }
}

/// One row to append. Holds no personal data: targets are codes and keys.
#[derive(Debug, Clone)]
pub struct Entry {
    pub subject: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub error_code: Option<ErrorCode>,
    pub request_id: Option<String>,
    /// Path of the organization concerned, for scoped auditors.
    pub scope_path: Option<String>,
}

impl Entry {
    pub fn for_caller(
        ctx: &Ctx,
        action: &str,
        target: &str,
        outcome: Outcome,
        error_code: Option<ErrorCode>,
    ) -> Self {
        Self {
            subject: Some(ctx.principal.subject.clone()),
            role: Some(ctx.principal.role.as_str().to_owned()),
            action: action.to_owned(),
            target: Some(target.to_owned()),
            outcome,
            error_code,
            request_id: Some(ctx.request_id.clone()),
            scope_path: ctx.principal.scope.as_ref().map(|scope| scope.path.clone()),
        }
    }
}

/// The row's hash: SHA-256 over the previous hash and every field, encoded
/// as a JSON array so no two different rows can produce the same input.
pub fn chain_hash(prev_hash: &str, row: &audit_log::Model) -> String {
    let fields = serde_json::json!([
        prev_hash,
        row.seq,
        row.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        row.subject,
        row.role,
        row.action,
        row.target,
        row.outcome,
        row.error_code,
        row.request_id,
        row.scope_path,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Appends one row in the caller's transaction. The counter bump serializes
/// appenders, so each row names the true previous one.
pub async fn append<C: ConnectionTrait>(conn: &C, entry: Entry) -> Result<(), AppError> {
    let seq = database::next_counter(conn, CHAIN_COUNTER).await?;
    let prev_hash = previous_hash(conn, seq).await?;
    audit_log::ActiveModel::from(chained(seq, entry, prev_hash))
        .insert(conn)
        .await?;
    Ok(())
}

/// Appends rows in order in the caller's transaction, in three statements
/// however many they are: the counter advanced past all of them, the hash
/// before the first, the rows. As with `append`, the counter's lock held to
/// commit keeps the chain linear.
pub async fn append_all<C: ConnectionTrait>(conn: &C, entries: Vec<Entry>) -> Result<(), AppError> {
    let Ok(count) = i64::try_from(entries.len()) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "too many audit rows at once"
        )));
    };
    if count == 0 {
        return Ok(());
    }
    let last = database::advance_counter(conn, CHAIN_COUNTER, count).await?;
    let mut prev_hash = previous_hash(conn, last - count + 1).await?;
    let mut rows = Vec::with_capacity(entries.len());
    for (seq, entry) in (last - count + 1..).zip(entries) {
        let row = chained(seq, entry, prev_hash);
        prev_hash = row.hash.clone();
        rows.push(audit_log::ActiveModel::from(row));
    }
    audit_log::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The hash the row at `seq` links to.
async fn previous_hash<C: ConnectionTrait>(conn: &C, seq: i64) -> Result<String, AppError> {
    if seq == 1 {
        return Ok(GENESIS_HASH.to_owned());
    }
    audit_log::Entity::find_by_id(seq - 1)
        .one(conn)
        .await?
        .map(|row| row.hash)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("audit row {} is missing", seq - 1)))
}

/// The row at `seq` for an entry, linked to the previous row's hash.
fn chained(seq: i64, entry: Entry, prev_hash: String) -> audit_log::Model {
    let mut row = audit_log::Model {
        seq,
        occurred_at: crate::clock::now(),
        subject: entry.subject.map(|text| storable(text, SUBJECT_CHARS)),
        role: entry.role.map(|text| storable(text, ROLE_CHARS)),
        action: storable(entry.action, ACTION_CHARS),
        target: entry.target.map(|text| storable(text, TARGET_CHARS)),
        outcome: entry.outcome.as_str().to_owned(),
        error_code: entry.error_code.map(|code| code.as_str().to_owned()),
        request_id: entry
            .request_id
            .map(|text| storable(text, REQUEST_ID_CHARS)),
        scope_path: entry.scope_path,
        prev_hash,
        hash: String::new(),
    };
    row.hash = chain_hash(&row.prev_hash, &row);
    row
}

/// Appends one row in a transaction of its own; for refusals, whose work was rolled back.
/// A failure here is logged, and the caller still gets the original error.
pub async fn append_alone(db: &DatabaseConnection, entry: Entry) {
    let result = async {
        let txn = database::begin_write(db).await?;
        append(&txn, entry).await?;
        txn.commit().await?;
        Ok::<(), AppError>(())
    }
    .await;
    if let Err(err) = result {
        tracing::error!(error = %err, "could not append to the audit log");
    }
}

/// What `cellreg audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact {
        rows: i64,
    },
    /// The first row whose position, link or hash does not match.
    Broken {
        seq: i64,
        reason: String,
    },
    /// Rows were removed from the end: the counter is ahead of the last row.
    Truncated {
        rows: i64,
        expected: i64,
    },
}

/// Walks the whole chain in order, a page at a time.
pub async fn verify(db: &DatabaseConnection) -> Result<Verification, AppError> {
    const PAGE: u64 = 1_000;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    loop {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_log::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let last_page = (rows.len() as u64) < PAGE;
        for row in rows {
            if row.seq != expected_seq {
                return Ok(Verification::Broken {
                    seq: expected_seq,
                    reason: "row is missing".to_owned(),
                });
            }
            if row.prev_hash != prev_hash {
                return Ok(Verification::Broken {
                    seq: row.seq,
                    reason: "does not link to the previous row".to_owned(),
                });
            }
            if chain_hash(&prev_hash, &row) != row.hash {
                return Ok(Verification::Broken {
                    seq: row.seq,
                    reason: "content does not match its hash".to_owned(),
                });
            }
            prev_hash = row.hash;
            expected_seq += 1;
        }
        if last_page {
            break;
        }
    }
    let rows = expected_seq - 1;
    let counted = counter::Entity::find_by_id(CHAIN_COUNTER.to_owned())
        .one(db)
        .await?
        .map_or(0, |row| row.last_value);
    if counted > rows {
        return Ok(Verification::Truncated {
            rows,
            expected: counted,
        });
    }
    Ok(Verification::Intact { rows })
}

/// A page of the audit log, oldest first, for ADMIN and AUDITOR; a scoped
/// auditor sees the rows about their subtree.
pub async fn list(
    db: &DatabaseConnection,
    ctx: &Ctx,
    page: Page,
    subject: Option<&str>,
    action: Option<&str>,
) -> Result<PageOf<audit_log::Model>, AppError> {
    ctx.principal
        .require(crate::auth::Permission::ReadAuditLog)?;
    let mut query = audit_log::Entity::find();
    if let Some(subject) = subject {
        query = query.filter(audit_log::Column::Subject.eq(subject));
    }
    if let Some(action) = action {
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(scope) = &ctx.principal.scope {
        let subtree = crate::tree::subtree_range(&scope.path);
        query = query.filter(crate::tree::path_in(
            sea_orm::sea_query::Expr::col(audit_log::Column::ScopePath),
            &subtree,
        ));
    }
    Ok(crate::page::fetch_page(db, query, audit_log::Column::Seq, page).await?)
}

#[cfg(test)]
mod tests {
    use super::storable;

    #[test]
    fn caller_text_is_stored_escaped_and_within_its_column() {
        assert_eq!(storable("SL.BL.T11".to_owned(), 255), "SL.BL.T11");
        assert_eq!(storable("Sông Lô".to_owned(), 7), "Sông Lô");
        assert_eq!(
            storable("SL.BL.T11\u{0}:k\n".to_owned(), 255),
            "SL.BL.T11\\u{0}:k\\u{a}"
        );
        let long = storable("x".repeat(300), 255);
        assert_eq!(long.chars().count(), 255);
        assert!(long.ends_with('…'));
        let escaped_past_width = storable("\u{0}".repeat(100), 64);
        assert_eq!(escaped_past_width.chars().count(), 64);
        assert!(!escaped_past_width.contains('\0'));
    }
}
