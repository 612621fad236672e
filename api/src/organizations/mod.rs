//! Organizations: the party tree (committees and cells), its materialized
//! paths, and the scope checks that make out-of-scope nodes look absent.

pub mod create;
pub mod graphql;
pub mod rename_and_move;
pub mod service;
