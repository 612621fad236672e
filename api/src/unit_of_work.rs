//! The unit of work every mutation runs in: one write transaction holding the
//! change and its ALLOWED audit row, committed together; run again when the
//! database broke it off for contention; on refusal nothing of it is kept and
//! a DENIED or FAILED audit row is appended on its own.
//!
//! A batch of mutations of one kind ([`Batch`]) is one unit of work too, so
//! it costs one commit, not one per item: the rows the items will lock are
//! locked first, then each item runs in a savepoint of the batch's
//! transaction. An item refused for the caller's reasons is rolled back to
//! its savepoint and its DENIED or FAILED row written in the batch's
//! transaction, and the next item goes on; an error of the service's
//! (UNAVAILABLE, INTERNAL) at any point rolls the whole batch back and is the
//! batch's answer, with one FAILED row for the item it stopped at. Contention
//! runs the whole batch again.
//!
//! A mutation is a value implementing [`Mutation`]: its input, the action and
//! target its audit row names, and the work. The work borrows its input and
//! the caller for as long as the unit runs, so nothing is cloned to be retried.
//! (An async closure cannot do this: its future would have to be `Send` for
//! every lifetime of the transaction, which the compiler cannot yet express.)

use std::future::Future;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::audit::service::{Entry, Outcome, append, append_alone};
use crate::auth::Ctx;
use crate::error::{AppError, ErrorOwner};

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
                pause_before(attempt).await;
                attempt += 1;
            }
            other => break other,
        }
    };
    count::<M>(result.as_ref().err());
    if let Err(err) = &result {
        append_alone(db, refusal_entry::<M>(ctx, &target, err)).await;
    }
    result
}

/// Waits a little, longer after each attempt and never in step with the
/// writer it contended with.
async fn pause_before(attempt: u32) {
    let jitter = u64::from(getrandom::u32().unwrap_or(0) % 40);
    let pause = 10 * u64::from(attempt) + jitter;
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

/// Counts one mutation's end: ALLOWED, or DENIED or FAILED with its code.
fn count<M: Mutation>(refusal: Option<&AppError>) {
    match refusal {
        None => crate::metrics::count::mutation_done(M::ACTION, Outcome::Allowed.as_str(), None),
        Some(err) => {
            let code = err.code();
            let outcome = Outcome::of_error(code);
            crate::metrics::count::mutation_done(M::ACTION, outcome.as_str(), Some(code.as_str()));
        }
    }
}

/// The audit row of a refused mutation: DENIED or FAILED, with its code.
fn refusal_entry<M: Mutation>(ctx: &Ctx, target: &str, err: &AppError) -> Entry {
    let code = err.code();
    Entry::for_caller(ctx, M::ACTION, target, Outcome::of_error(code), Some(code))
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

/// Mutations of one kind submitted together and run as one unit of work
/// (see the module's documentation), each answered on its own.
pub trait Batch: Sync {
    type Item: Mutation;

    /// The mutations, in the order they are applied and answered.
    fn items(&self) -> &[Self::Item];

    /// Takes, before the first item runs, the row locks the items will
    /// take, in the order every writer takes them (members by id, then
    /// organizations, then the counters), so that two batches queue on each
    /// other instead of deadlocking halfway.
    fn lock(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<(), AppError>> + Send;

    /// A second look at an item refused for the caller's reasons, once its
    /// savepoint is rolled back: a key another writer took first, say, is
    /// answered with that writer's record. Otherwise the refusal stands.
    fn reconsider(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        item: &Self::Item,
        refusal: AppError,
    ) -> impl Future<Output = Result<Done<<Self::Item as Mutation>::Output>, AppError>> + Send;
}

/// What each item of a batch came to, in input order: its value, or its
/// refusal for the caller's reasons.
pub type Answers<M> = Vec<Result<<M as Mutation>::Output, AppError>>;

/// Why a batch attempt ended without its commit: the error, and the item
/// it stopped at (the first when it could not start, the last when it
/// could not commit).
struct Stopped {
    at: usize,
    error: AppError,
}

impl Stopped {
    fn before(at: usize) -> impl FnOnce(sea_orm::DbErr) -> Self {
        move |err| Self {
            at,
            error: err.into(),
        }
    }
}

/// Runs a batch as one unit of work. `Err` is the service's error that
/// stopped it, with nothing of the batch kept.
pub async fn run_batch<B: Batch>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    batch: &B,
) -> Result<Answers<B::Item>, AppError> {
    let items = batch.items();
    let targets: Vec<String> = items.iter().map(Mutation::target).collect();
    let mut attempt = 1;
    let result = loop {
        match attempt_batch(db, ctx, batch, &targets).await {
            Err(Stopped {
                error: AppError::Contention(_),
                ..
            }) if attempt < ATTEMPTS => {
                pause_before(attempt).await;
                attempt += 1;
            }
            other => break other,
        }
    };
    match result {
        Ok(answers) => {
            // Counted once committed: a rolled-back attempt changed nothing.
            for answer in &answers {
                count::<B::Item>(answer.as_ref().err());
            }
            Ok(answers)
        }
        Err(Stopped { at, error }) => {
            count::<B::Item>(Some(&error));
            let target = targets.get(at).map_or("", String::as_str);
            append_alone(db, refusal_entry::<B::Item>(ctx, target, &error)).await;
            Err(error)
        }
    }
}

async fn attempt_batch<B: Batch>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    batch: &B,
    targets: &[String],
) -> Result<Answers<B::Item>, Stopped> {
    let items = batch.items();
    let last = items.len().saturating_sub(1);
    let txn = crate::database::begin_write(db)
        .await
        .map_err(Stopped::before(0))?;
    batch
        .lock(&txn, ctx)
        .await
        .map_err(|error| Stopped { at: 0, error })?;
    let mut answers = Vec::with_capacity(items.len());
    for (at, (item, target)) in items.iter().zip(targets).enumerate() {
        let answer = apply_item(&txn, ctx, batch, item, target)
            .await
            .map_err(|error| Stopped { at, error })?;
        answers.push(answer);
    }
    txn.commit().await.map_err(Stopped::before(last))?;
    Ok(answers)
}

/// One item of a batch in a savepoint: applied with its ALLOWED row, or
/// rolled back to the savepoint and refused with its DENIED or FAILED row.
/// `Err` is an error of the service's, which ends the batch.
async fn apply_item<B: Batch>(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    batch: &B,
    item: &B::Item,
    target: &str,
) -> Result<Result<<B::Item as Mutation>::Output, AppError>, AppError> {
    let savepoint = txn.begin().await?;
    let refusal = match item.apply(&savepoint, ctx).await {
        Ok(done) => {
            let mut entry = Entry::for_caller(ctx, B::Item::ACTION, target, Outcome::Allowed, None);
            entry.scope_path = Some(done.concerns);
            append(&savepoint, entry).await?;
            savepoint.commit().await?;
            return Ok(Ok(done.value));
        }
        Err(err) if err.code().owner() == ErrorOwner::Caller => err,
        Err(err) => return Err(err),
    };
    savepoint.rollback().await?;
    match batch.reconsider(txn, ctx, item, refusal).await {
        Ok(done) => {
            let mut entry = Entry::for_caller(ctx, B::Item::ACTION, target, Outcome::Allowed, None);
            entry.scope_path = Some(done.concerns);
            append(txn, entry).await?;
            Ok(Ok(done.value))
        }
        Err(err) if err.code().owner() == ErrorOwner::Caller => {
            append(txn, refusal_entry::<B::Item>(ctx, target, &err)).await?;
            Ok(Err(err))
        }
        Err(err) => Err(err),
    }
}
