//! Reorganization: changes of the tree that move members with them, each in
//! one unit of work. Today the dissolution of a cell (every member moved) or
//! of a committee (once everything under it is dissolved).

pub mod cell;
pub mod committee;
pub mod dissolution;
pub mod dissolve;
pub mod graphql;
