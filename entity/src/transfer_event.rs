//! One applied change of a member's cell, in the ordered change feed.

use sea_orm::entity::prelude::*;

use crate::enums::{EventPhase, MemberStatus, MembershipKind, TransferReason};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transfer_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Position in the change feed: unique, allocated from `counter`
    /// inside the writing transaction so commit order equals feed order.
    #[sea_orm(unique)]
    pub sequence: i64,
    /// The submitting token's `sub`; with `external_id`, the idempotency key.
    pub submitter: String,
    pub external_id: String,
    /// Hash of the normalized request, to tell a retry from a conflicting reuse of a key.
    pub request_hash: String,
    pub member_id: i64,
    /// Null for a first admission.
    pub from_organization_id: Option<i64>,
    pub to_organization_id: i64,
    pub kind: MembershipKind,
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    pub effective_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    /// The member's name as it was when the event was recorded: what a
    /// caller who sees the event but no longer the member is shown.
    pub member_full_name: Option<String>,
    /// The member's status as it was when the event was recorded.
    pub member_status: Option<MemberStatus>,
    /// Which step of a move this is: COMPLETED for a direct transfer.
    pub phase: EventPhase,
    /// The introduction letter this event is a step of.
    pub letter_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::MemberId",
        to = "super::member::Column::Id"
    )]
    Member,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::FromOrganizationId",
        to = "super::organization::Column::Id"
    )]
    FromOrganization,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::ToOrganizationId",
        to = "super::organization::Column::Id"
    )]
    ToOrganization,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
