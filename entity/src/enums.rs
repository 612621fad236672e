//! The registry's enumerations, stored as their upper-case names in text
//! columns so both SQLite and PostgreSQL hold the same values.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Level of an organization in the party tree.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganizationKind {
    #[sea_orm(string_value = "PROVINCIAL_COMMITTEE")]
    ProvincialCommittee,
    #[sea_orm(string_value = "DISTRICT_COMMITTEE")]
    DistrictCommittee,
    #[sea_orm(string_value = "GRASSROOTS_COMMITTEE")]
    GrassrootsCommittee,
    #[sea_orm(string_value = "CELL")]
    Cell,
}

/// What a cell is made of; set for cells only.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CellType {
    #[sea_orm(string_value = "RESIDENTIAL")]
    Residential,
    #[sea_orm(string_value = "AGENCY")]
    Agency,
    #[sea_orm(string_value = "MILITARY")]
    Military,
    #[sea_orm(string_value = "POLICE")]
    Police,
    #[sea_orm(string_value = "SCHOOL")]
    School,
    #[sea_orm(string_value = "ENTERPRISE")]
    Enterprise,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganizationStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "DISSOLVED")]
    Dissolved,
    /// Ended by a merge into a new organization (`organization.ended_as`
    /// and the history only; `organization.status` says DISSOLVED).
    #[sea_orm(string_value = "MERGED")]
    Merged,
    /// Ended by a split into several new organizations (likewise).
    #[sea_orm(string_value = "SPLIT")]
    Split,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberStatus {
    #[sea_orm(string_value = "PROBATIONARY")]
    Probationary,
    #[sea_orm(string_value = "OFFICIAL")]
    Official,
    #[sea_orm(string_value = "REMOVED")]
    Removed,
    #[sea_orm(string_value = "DECEASED")]
    Deceased,
}

/// OFFICIAL: where the member belongs, exactly one open at a time.
/// TEMPORARY: temporary activity elsewhere, beside the official one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipKind {
    #[sea_orm(string_value = "OFFICIAL")]
    Official,
    #[sea_orm(string_value = "TEMPORARY")]
    Temporary,
}

/// Why a transfer event happened. ADMISSION marks a member's first event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferReason {
    #[sea_orm(string_value = "ADMISSION")]
    Admission,
    #[sea_orm(string_value = "RELOCATION")]
    Relocation,
    #[sea_orm(string_value = "REASSIGNMENT")]
    Reassignment,
    #[sea_orm(string_value = "DISSOLUTION")]
    Dissolution,
    #[sea_orm(string_value = "RETURN")]
    Return,
    #[sea_orm(string_value = "OTHER")]
    Other,
    /// The member was removed from the party: the membership closes, none opens.
    #[sea_orm(string_value = "REMOVAL")]
    Removal,
    /// The member died: the membership closes, none opens.
    #[sea_orm(string_value = "DEATH")]
    Death,
}
