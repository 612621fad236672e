//! cellreg: the party membership registry's integration backend.
//!
//! One path for data: HTTP → auth → GraphQL or REST layer → domain service
//! (validation, one transaction) → sea-orm. Each area of the registry lives in
//! its own module; `error` maps the one domain error type to GraphQL codes and
//! HTTP problems.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod columns;
pub mod config;
pub mod database;
pub mod docs;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod holds;
pub mod letters;
pub mod members;
pub mod memberships;
pub mod methods;
pub mod metrics;
pub mod organizations;
pub mod page;
pub mod plans;
pub mod reorganization;
pub mod rest;
pub mod seed;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod transfers;
pub mod tree;
pub mod unit_of_work;
