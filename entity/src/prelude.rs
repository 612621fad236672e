//! The entities under short names, for `use entity::prelude::*`.

pub use super::audit_log::Entity as AuditLog;
pub use super::counter::Entity as Counter;
pub use super::letter::Entity as Letter;
pub use super::member::Entity as Member;
pub use super::member_hold::Entity as MemberHold;
pub use super::membership::Entity as Membership;
pub use super::organization::Entity as Organization;
pub use super::organization_succession::Entity as OrganizationSuccession;
pub use super::organization_version::Entity as OrganizationVersion;
pub use super::plan::Entity as Plan;
pub use super::plan_target_cell_type::Entity as PlanTargetCellType;
pub use super::transfer_event::Entity as TransferEvent;
