//! The unit of work every mutation runs in: one write transaction holding the
//! change and its ALLOWED audit row, committed together; run again when the
//! database broke it off for contention; on refusal nothing of it is kept and
//! a DENIED or FAILED audit row is appended on its own.
//!
//! A batch of mutations of one kind ([`Batch`]) is one unit of work too, so
//! it costs one commit, not one per item: the rows the items will lock are
//! locked first (and what those locks keep still read ahead for all the
//! items at once), then each item runs in a savepoint of the batch's
//! transaction. An item refused for the caller's reasons is rolled back to
//! its savepoint and the next item goes on. The counters come last: the
//! batch's `finish` (for transfers, their feed sequences) and every item's
//! audit row (ALLOWED, or DENIED or FAILED) in input order, so the counter
//! rows are held only from there to the commit. An error of the service's
//! (UNAVAILABLE, INTERNAL) at any point rolls the whole batch back and is the
//! batch's answer, with one FAILED row, appended on its own, for the item it
//! stopped at. Contention runs the whole batch again.
//!
//! A mutation is a value implementing [`Mutation`]: its input, the action and
//! target its audit row names, and the work. The work borrows its input and
//! the caller for as long as the unit runs, so nothing is cloned to be retried.
//! (An async closure cannot do this: its future would have to be `Send` for
//! every lifetime of the transaction, which the compiler cannot yet express.)

use std::future::Future;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::audit::service::{Entry, Outcome, append, append_all, append_alone};
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
/// (see the module's documentation), each answered on its own. The batch
/// runs its items' work itself, so that they share what it read ahead.
pub trait Batch: Sync {
    type Item: Mutation;

    /// What one attempt locked and read ahead for all its items, kept up to
    /// date as items are applied.
    type Ahead: Send + Sync;

    /// The mutations, in the order they are applied and answered.
    fn items(&self) -> &[Self::Item];

    /// Takes, before the first item runs, the row locks the items will
    /// take, in the order every writer takes them (members by id, then
    /// organizations; the counters come last, in `finish` and with the
    /// audit rows), so that batches touching the same rows queue on each
    /// other instead of deadlocking halfway; and reads ahead, in a few
    /// statements for all the items, what those locks keep still.
    fn prepare(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<Self::Ahead, AppError>> + Send;

    /// One item's work, in its savepoint. Like [`Mutation::apply`], it may
    /// run more than once.
    fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        ahead: &Self::Ahead,
        item: &Self::Item,
    ) -> impl Future<Output = Result<Done<<Self::Item as Mutation>::Output>, AppError>> + Send;

    /// Notes in `ahead` what an applied item changed that later items read.
    fn applied(&self, ahead: &mut Self::Ahead, value: &<Self::Item as Mutation>::Output);

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

    /// Completes what the items did once they all ran, just before the
    /// audit rows and the commit (for transfers: their feed sequences).
    fn finish(
        &self,
        txn: &DatabaseTransaction,
        answers: &mut Answers<Self::Item>,
    ) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// What one item of a batch came to: its value, or its refusal for the
/// caller's reasons.
pub type Answer<M> = Result<<M as Mutation>::Output, AppError>;

/// Each item's answer, in input order.
pub type Answers<M> = Vec<Answer<M>>;

/// Why a batch attempt ended without its commit: the error, and the item
/// it stopped at (the first when it could not start, the last when it
/// could not finish).
struct Stopped {
    at: usize,
    error: AppError,
}

impl Stopped {
    fn at(at: usize) -> impl FnOnce(AppError) -> Self {
        move |error| Self { at, error }
    }
}

/// Batches of two items or more whose transactions run at once in one
/// process. Each holds a connection and its members' row locks from its
/// first statement to its commit; more at once only queue on each other's
/// locks while holding the connections that reads and single transfers
/// wait for (with 32 batches of 100 on a pool of 16, some waited out the
/// pool's 3 s and answered 503).
pub const BATCHES_AT_ONCE: usize = 4;
/// How long a batch waits for its turn before it is answered UNAVAILABLE.
pub const BATCH_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
static BATCH_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BATCHES_AT_ONCE);

/// Runs a batch as one unit of work, once its turn comes (`BATCHES_AT_ONCE`;
/// a batch of one item waits for none).
/// `Err` is the service's error that stopped it, with nothing of the batch kept.
pub async fn run_batch<B: Batch>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    batch: &B,
) -> Result<Answers<B::Item>, AppError> {
    let targets: Vec<String> = batch.items().iter().map(|item| item.target()).collect();
    // A batch of one is as short as a single mutation, which waits for no turn.
    let turn = if targets.len() < 2 {
        None
    } else {
        match tokio::time::timeout(BATCH_TURN_WAIT, BATCH_TURNS.acquire()).await {
            Ok(Ok(turn)) => Some(turn),
            _ => {
                let error = AppError::Unavailable(format!(
                    "{BATCHES_AT_ONCE} batches are running and this one waited {} s for its turn; retry later",
                    BATCH_TURN_WAIT.as_secs()
                ));
                let stopped = Stopped { at: 0, error };
                return Err(refuse_batch::<B::Item>(db, ctx, &targets, stopped).await);
            }
        }
    };
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
        Err(stopped) => {
            drop(turn);
            Err(refuse_batch::<B::Item>(db, ctx, &targets, stopped).await)
        }
    }
}

/// A batch stopped by the service's error: counted, and one FAILED row,
/// appended on its own, for the item it stopped at.
async fn refuse_batch<M: Mutation>(
    db: &DatabaseConnection,
    ctx: &Ctx,
    targets: &[String],
    Stopped { at, error }: Stopped,
) -> AppError {
    count::<M>(Some(&error));
    let target = targets.get(at).map_or("", String::as_str);
    append_alone(db, refusal_entry::<M>(ctx, target, &error)).await;
    error
}

/// One attempt: the locks and reads ahead, each item in its savepoint, then `finish` and
/// every item's audit row together (the counters are taken last and held
/// only from there to the commit).
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
        .map_err(|err| Stopped::at(0)(err.into()))?;
    let mut ahead = batch.prepare(&txn, ctx).await.map_err(Stopped::at(0))?;
    let mut answers = Vec::with_capacity(items.len());
    let mut entries = Vec::with_capacity(items.len());
    for (at, (item, target)) in items.iter().zip(targets).enumerate() {
        let (answer, entry) = apply_item(&txn, ctx, batch, &ahead, item, target)
            .await
            .map_err(Stopped::at(at))?;
        if let Ok(value) = &answer {
            batch.applied(&mut ahead, value);
        }
        answers.push(answer);
        entries.push(entry);
    }
    batch
        .finish(&txn, &mut answers)
        .await
        .map_err(Stopped::at(last))?;
    append_all(&txn, entries).await.map_err(Stopped::at(last))?;
    txn.commit()
        .await
        .map_err(|err| Stopped::at(last)(err.into()))?;
    Ok(answers)
}

/// One item of a batch in a savepoint: applied, or rolled back to the
/// savepoint and refused; with the audit row it will have (ALLOWED, or
/// DENIED or FAILED with its code). `Err` is an error of the service's,
/// which ends the batch.
async fn apply_item<B: Batch>(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    batch: &B,
    ahead: &B::Ahead,
    item: &B::Item,
    target: &str,
) -> Result<(Answer<B::Item>, Entry), AppError> {
    let savepoint = txn.begin().await?;
    let refusal = match batch.apply(&savepoint, ctx, ahead, item).await {
        Ok(done) => {
            savepoint.commit().await?;
            return Ok(allowed::<B::Item>(ctx, target, done));
        }
        Err(err) if err.code().owner() == ErrorOwner::Caller => err,
        Err(err) => return Err(err),
    };
    savepoint.rollback().await?;
    match batch.reconsider(txn, ctx, item, refusal).await {
        Ok(done) => Ok(allowed::<B::Item>(ctx, target, done)),
        Err(err) if err.code().owner() == ErrorOwner::Caller => {
            let entry = refusal_entry::<B::Item>(ctx, target, &err);
            Ok((Err(err), entry))
        }
        Err(err) => Err(err),
    }
}

/// An applied item's answer and its ALLOWED row, scoped to what it concerns.
fn allowed<M: Mutation>(ctx: &Ctx, target: &str, done: Done<M::Output>) -> (Answer<M>, Entry) {
    let mut entry = Entry::for_caller(ctx, M::ACTION, target, Outcome::Allowed, None);
    entry.scope_path = Some(done.concerns);
    (Ok(done.value), entry)
}
