//! Members: registration (the admission), corrections and status changes,
//! lookups and lists, and the personal-data masking every view of a member
//! goes through.

pub mod graphql;
pub mod graphql_operations;
pub mod list;
pub mod lookup;
pub mod party_age;
pub mod registration;
pub mod rest;
pub mod update;
