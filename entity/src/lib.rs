//! cellreg's tables as sea-orm entities: the shape of the data and nothing else.
//!
//! No validation, no API types and no business rules live here; the `api`
//! crate's domain services own those, and `migration` owns the DDL, including
//! the indexes and constraints that hold the registry's invariants.

pub mod audit_log;
pub mod counter;
pub mod enums;
pub mod letter;
pub mod member;
pub mod member_hold;
pub mod membership;
pub mod organization;
pub mod organization_succession;
pub mod organization_version;
pub mod plan;
pub mod plan_target_cell_type;
pub mod prelude;
pub mod transfer_event;
