//! A node of the party tree: a committee at some level, or a cell.

use sea_orm::entity::prelude::*;

use crate::enums::{CellType, OrganizationKind, OrganizationStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable code shared with other agencies' systems; unique.
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub kind: OrganizationKind,
    /// Set for cells, null for committees (a check constraint holds this).
    pub cell_type: Option<CellType>,
    pub status: OrganizationStatus,
    pub parent_id: Option<i64>,
    /// Materialized path of ids from the root, `/1/7/42/`, so a subtree is
    /// one indexed range scan instead of one query per level.
    pub path: String,
    /// 0 for a root.
    pub depth: i32,
    pub established_at: Option<DateTimeUtc>,
    pub dissolved_at: Option<DateTimeUtc>,
    pub dissolution_decision: Option<String>,
    /// How an ended organization ended: MERGED or SPLIT; `None` for a plain
    /// dissolution (and while ACTIVE). `status` is DISSOLVED for every ended one.
    pub ended_as: Option<OrganizationStatus>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl Model {
    /// The status callers see: ACTIVE, DISSOLVED, MERGED or SPLIT.
    pub fn shown_status(&self) -> OrganizationStatus {
        self.ended_as.unwrap_or(self.status)
    }
}

impl ActiveModelBehavior for ActiveModel {}
