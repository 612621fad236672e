//! Reorganization: changes of the tree that move members with them, each in
//! one unit of work: the dissolution of a cell (every member moved) or of a
//! committee (once everything under it is dissolved), merges and splits.

pub mod cell;
pub mod committee;
pub mod dissolution;
pub mod dissolve;
pub mod graphql;
pub mod merge;
pub mod split;
pub mod succession;
