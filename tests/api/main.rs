//! cellreg's end-to-end tests: each starts the real server on port 0 against a
//! fresh database of its own (SQLite, and PostgreSQL when reachable; required
//! when CI=true) and speaks to it over HTTP. The harness is our own
//! (harness.rs), so that a PostgreSQL run that cannot be made is reported.

#[macro_use]
mod helpers;
mod harness;

mod audit;
mod auth;
mod authz;
mod browser;
mod cors;
mod dissolution;
mod error_fields;
mod graceful_stop;
mod graphql_endpoint;
mod health;
mod history;
mod holds;
mod ingestion;
mod invariants;
mod letters;
mod letters_rest;
mod logs;
mod members;
mod merge;
mod metrics;
mod migrations;
mod nested_scope;
mod openapi;
mod organizations;
mod overload;
mod plans;
mod probes;
mod process;
mod query_plans;
mod rate_limits;
mod reads;
mod reorganization;
mod rest;
mod scalars;
mod schema;
mod seed;
mod split;
mod startup;
mod subscriptions;
mod text_with_nul;
mod transfers;

fn main() {
    harness::main()
}
