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

/// Why a member is held where they are (đang bị kiểm tra, giải quyết khiếu
/// nại, kỷ luật): no letter nor transfer moves them while the hold is open.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HoldReason {
    #[sea_orm(string_value = "INSPECTION")]
    Inspection,
    #[sea_orm(string_value = "COMPLAINT")]
    Complaint,
    #[sea_orm(string_value = "DISCIPLINE")]
    Discipline,
}

/// Where an introduction letter stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LetterStatus {
    /// Issued, not yet presented: an OFFICIAL letter's member is in transit.
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "RECEIVED")]
    Received,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// Which step of a move an event records. A direct transfer is one
/// COMPLETED step; a letter departs (DEPARTED), then arrives (ARRIVED) or
/// returns to the cell it left (RETURNED).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventPhase {
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "DEPARTED")]
    Departed,
    #[sea_orm(string_value = "ARRIVED")]
    Arrived,
    #[sea_orm(string_value = "RETURNED")]
    Returned,
}

/// What temporary activity is for; it decides how long it may last.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemporaryPurpose {
    #[sea_orm(string_value = "WORK")]
    Work,
    #[sea_orm(string_value = "RESIDENCE")]
    Residence,
    #[sea_orm(string_value = "STUDY")]
    Study,
}
