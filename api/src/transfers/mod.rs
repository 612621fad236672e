//! Transfers: the events that move members between cells, and the ordered
//! change feed that other systems follow.

pub mod feed;
pub mod graphql;
pub mod rest;
pub mod service;
