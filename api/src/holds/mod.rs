//! Holds: an ORGANIZER keeps a member where they are while an inspection,
//! a complaint or a discipline runs. No letter nor transfer moves a held
//! member (CONFLICT on `hold`); a dissolution still does, and says so.

pub mod graphql;
pub mod service;
