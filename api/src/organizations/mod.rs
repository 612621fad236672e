//! Organizations: the party tree (committees and cells), its materialized
//! paths, and the scope checks that make out-of-scope nodes look absent.

pub mod as_of;
pub mod create;
pub mod graphql;
mod graphql_as_of;
pub mod history;
pub mod rename_and_move;
pub mod service;
