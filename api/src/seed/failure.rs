//! Why a seed run stops, shared by every chapter of the demo.

use crate::error::AppError;

/// Why a seed run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "the database already holds other data ({0}); seed an empty database, or pass --force to add the demo beside it"
    )]
    NotEmpty(String),
    #[error("{what}: {source}")]
    Step {
        what: String,
        #[source]
        source: AppError,
    },
}

pub(super) fn step(what: impl Into<String>) -> impl FnOnce(AppError) -> SeedError {
    let what = what.into();
    move |source| SeedError::Step { what, source }
}
