//! A party member and their personal data.

use sea_orm::entity::prelude::*;

use crate::enums::MemberStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// 12-digit citizen ID (CCCD); unique.
    #[sea_orm(unique)]
    pub national_id: String,
    /// Party card number; unique when present.
    #[sea_orm(unique)]
    pub party_card_number: Option<String>,
    pub full_name: String,
    pub birth_date: Option<Date>,
    pub admitted_on: Option<Date>,
    pub official_on: Option<Date>,
    pub status: MemberStatus,
    /// The residential cell of the place the member lives.
    pub residence_cell_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::ResidenceCellId",
        to = "super::organization::Column::Id"
    )]
    ResidenceCell,
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
