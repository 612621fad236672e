//! The unit of work every mutation runs in: one write transaction holding the
//! change and its ALLOWED audit row, committed together; run again when the
//! database broke it off for contention; on refusal nothing of it is kept and
//! a DENIED or FAILED audit row is appended on its own.
//!
//! A mutation is a value implementing [`Mutation`]: its input, the action and
//! target its audit row names, and the work. The work borrows its input and
//! the caller for as long as the unit runs, so nothing is cloned to be retried.
//! (An async closure cannot do this: its future would have to be `Send` for
//! every lifetime of the transaction, which the compiler cannot yet express.)

use std::future::Future;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::audit::service::{Entry, Outcome, append, append_alone};
use crate::auth::Ctx;
use crate::error::AppError;

/// What a mutation's work hands back: its value and the materialized path of
/// the organization the change concerns (which scopes its audit row).
#[derive(Debug)]
pub struct Done<T> {
    pub value: T,
    pub concerns: String,
}

impl<T> Done<T> {
    pub fn new(value: T, concerns: impl Into<String>) -> Self {
        Self {
            value,
            concerns: concerns.into(),
        }
    }
}

/// One mutation of the registry.
pub trait Mutation: Sync {
    type Output: Send;

    /// The audit log's name for it, e.g. `createOrganization`.
    const ACTION: &'static str;

    /// What its audit row names: codes and keys, never personal data.
    fn target(&self) -> String;

    /// The change, inside the unit's transaction. It may run more than once
    /// (after contention), so it reads everything it decides on afresh.
    fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<Done<Self::Output>, AppError>> + Send;
}

/// Attempts at a mutation the database broke off for contention (a deadlock,
/// a serialization failure, a busy SQLite) before answering UNAVAILABLE.
const ATTEMPTS: u32 = 3;

/// Runs a mutation as one unit of work with its audit row.
pub async fn run<M: Mutation>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    mutation: &M,
) -> Result<M::Output, AppError> {
    let target = mutation.target();
    let mut attempt = 1;
    let result = loop {
        match attempt_once(db, ctx, mutation, &target).await {
            Err(AppError::Contention(_)) if attempt < ATTEMPTS => {
                let jitter = u64::from(getrandom::u32().unwrap_or(0) % 40);
                let pause = 10 * u64::from(attempt) + jitter;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                attempt += 1;
            }
            other => break other,
        }
    };
    match &result {
        Ok(_) => crate::metrics::count::mutation_done(M::ACTION, Outcome::Allowed.as_str(), None),
        Err(err) => {
            let code = err.code();
            let outcome = Outcome::of_error(code);
            crate::metrics::count::mutation_done(M::ACTION, outcome.as_str(), Some(code.as_str()));
            append_alone(
                db,
                Entry::for_caller(ctx, M::ACTION, &target, outcome, Some(code)),
            )
            .await;
        }
    }
    result
}

async fn attempt_once<M: Mutation>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    mutation: &M,
    target: &str,
) -> Result<M::Output, AppError> {
    let txn = crate::database::begin_write(db).await?;
    let done = mutation.apply(&txn, ctx).await?;
    let mut entry = Entry::for_caller(ctx, M::ACTION, target, Outcome::Allowed, None);
    entry.scope_path = Some(done.concerns);
    append(&txn, entry).await?;
    txn.commit().await?;
    Ok(done.value)
}
