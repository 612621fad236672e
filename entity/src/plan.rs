//! A reorganization plan (e.g. Đề án 04): which cell types a committee
//! ordered dissolved. Progress is computed from the data, never stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub issued_by_id: i64,
    pub issued_on: Date,
    pub deadline: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::IssuedById",
        to = "super::organization::Column::Id"
    )]
    IssuedBy,
    #[sea_orm(has_many = "super::plan_target_cell_type::Entity")]
    TargetCellType,
}

impl Related<super::plan_target_cell_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TargetCellType.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
