//! A member's activity in a cell over a time interval `[started_at, ended_at)`.

use sea_orm::entity::prelude::*;

use crate::enums::MembershipKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    pub organization_id: i64,
    pub kind: MembershipKind,
    pub started_at: DateTimeUtc,
    /// Null while open. At most one open OFFICIAL membership per member
    /// (a partial unique index holds this).
    pub ended_at: Option<DateTimeUtc>,
    /// The transfer event that opened this membership.
    pub opened_by_event_id: i64,
    /// The transfer event that closed it, if closed.
    pub closed_by_event_id: Option<i64>,
    /// TEMPORARY memberships: the day the activity is due to end.
    pub ends_on: Option<Date>,
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
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
