//! A hold on a member (inspection, complaint, discipline): open until released.

use sea_orm::entity::prelude::*;

use crate::enums::HoldReason;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_hold")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    pub reason: HoldReason,
    pub decision_ref: String,
    pub placed_at: DateTimeUtc,
    /// The placing token's subject.
    pub placed_by: String,
    /// Null while the hold is open (one open hold per member and reason).
    pub released_at: Option<DateTimeUtc>,
    pub released_by: Option<String>,
    pub release_decision_ref: Option<String>,
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
