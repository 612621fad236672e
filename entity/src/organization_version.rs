//! One period of an organization's life, `[valid_from, valid_to)`: where it
//! stood in the tree (parent, materialized path, depth), its name and its
//! status. Every change of an organization closes its open version and opens
//! a new one at the instant the change took effect, so the tree as of any
//! instant is the versions valid then, and a subtree as of an instant is one
//! range of their paths.

use sea_orm::entity::prelude::*;

use crate::enums::OrganizationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_version")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub valid_from: DateTimeUtc,
    /// Null for the open version: at most one per organization (a partial
    /// unique index holds this).
    pub valid_to: Option<DateTimeUtc>,
    pub parent_id: Option<i64>,
    /// The materialized path during this period, `/1/7/42/`.
    pub path: String,
    pub depth: i32,
    pub name: String,
    pub status: OrganizationStatus,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
