//! The audit log: every mutation, allowed or refused, and every refused
//! authentication, as an append-only chain of rows each hashing the one
//! before it. Other services append through `service::audited` inside their
//! own transaction; nothing here updates or deletes a row.

pub mod graphql;
pub mod service;
