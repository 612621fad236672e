//! The audit log: every mutation, allowed or refused, and every refused
//! authentication, as an append-only chain of rows each hashing the one
//! before it. Mutations append theirs through `unit_of_work`, inside their own
//! transaction; nothing here updates or deletes a row.

pub mod graphql;
pub mod service;
