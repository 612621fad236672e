//! The append-only, hash-chained record of every mutation and refused
//! authentication. Database triggers refuse UPDATE and DELETE.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Gap-free position in the chain: the previous row's `seq` plus one.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    /// The token's `sub`; null when authentication itself failed.
    pub subject: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// ALLOWED, DENIED or FAILED.
    pub outcome: String,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
    /// Materialized path of the organization the action concerned (or of the
    /// caller's scope when that is unknown); a scoped auditor sees the rows
    /// inside their subtree. Null: visible to unscoped auditors only.
    pub scope_path: Option<String>,
    /// The previous row's `hash` (all zeros for the first row); unique, so the chain cannot fork.
    #[sea_orm(unique)]
    pub prev_hash: String,
    /// Hex SHA-256 over `prev_hash` and this row's fields.
    #[sea_orm(unique)]
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
