//! An introduction letter (giấy giới thiệu sinh hoạt đảng): a member's move
//! from a cell to another committee, issued by the sending side and received
//! (or cancelled) later.

use sea_orm::entity::prelude::*;

use crate::enums::{LetterStatus, MembershipKind, TemporaryPurpose, TransferReason};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "letter")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    pub kind: MembershipKind,
    /// Unique within the issuing committee.
    pub number: String,
    /// The grassroots committee over the cell the member leaves.
    pub issuing_committee_id: i64,
    pub from_cell_id: i64,
    /// Any committee or cell of the registry.
    pub to_organization_id: i64,
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    /// Party dues paid through this month, `YYYY-MM`.
    pub dues_paid_through: Option<String>,
    pub issued_on: Date,
    /// The last day the member may present the letter without a late reason.
    pub present_by: Date,
    /// TEMPORARY letters: the day the temporary activity ends.
    pub ends_on: Option<Date>,
    pub purpose: Option<TemporaryPurpose>,
    pub status: LetterStatus,
    pub submitter: String,
    pub external_id: String,
    pub request_hash: String,
    pub issued_event_id: i64,
    /// The event that received or cancelled it.
    pub closed_event_id: Option<i64>,
    pub received_cell_id: Option<i64>,
    /// Why the letter was presented after `present_by`.
    pub late_reason: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::MemberId",
        to = "super::member::Column::Id"
    )]
    Member,
}

impl ActiveModelBehavior for ActiveModel {}
