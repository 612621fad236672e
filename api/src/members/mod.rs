//! Members: registration (the admission), lookups, their memberships, and
//! the personal-data masking every view of a member goes through.

pub mod graphql;
pub mod rest;
pub mod service;
pub mod update;
