//! Plans (Kế hoạch / Đề án, e.g. DA04): which cell types a committee ordered
//! dissolved, and their progress computed from the data at query time.

pub mod graphql;
pub mod service;
