//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait, SchemaState};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{DatabaseArgs, Engine};

/// Why the database could not be made ready. Each message is one line
/// saying what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot connect to the database at {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot read the migration state of {url}: {source}")]
    ReadState { url: String, source: sea_orm::DbErr },
    #[error(
        "the database at {url} was migrated by a newer cellreg (unknown migrations: {}); \
         run a cellreg at least that new, or roll the database back with that version's `cellreg migrate down`",
        unknown.join(", ")
    )]
    NewerThanBinary { url: String, unknown: Vec<String> },
    #[error(
        "the database at {url} is {pending} migration(s) behind and --no-migrate is set; run `cellreg migrate up` first"
    )]
    Behind { url: String, pending: usize },
    #[error("migrating the database at {url} failed: {source}")]
    Migrate { url: String, source: sea_orm::DbErr },
}

/// How long a pooled connection may sit unused before it is checked again.
const CHECK_CONNECTIONS_IDLE_FOR: Duration = Duration::from_secs(5);

/// Opens the connection pool with the settings cellreg relies on:
/// bounded waits, and for SQLite write-ahead logging, a busy timeout,
/// foreign keys and fully synchronous commits (a transfer is never lost).
/// Statements run unbounded: this pool is for commands such as migrations.
pub async fn connect(args: &DatabaseArgs) -> Result<DatabaseConnection, DatabaseError> {
    connect_with(args, None).await
}

/// The pool requests are served from: like `connect`, and on PostgreSQL
/// every statement is cancelled past `statement_timeout` (zero: never), so
/// a runaway query cannot hold a connection. SQLite has no such limit.
pub async fn connect_serving(
    args: &DatabaseArgs,
    statement_timeout: Duration,
) -> Result<DatabaseConnection, DatabaseError> {
    connect_with(args, Some(statement_timeout).filter(|t| !t.is_zero())).await
}

async fn connect_with(
    args: &DatabaseArgs,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DatabaseError> {
    let mut options = ConnectOptions::new(args.url.expose().to_owned());
    options
        .max_connections(args.max_connections)
        .min_connections(0)
        .acquire_timeout(args.acquire_timeout)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        // A pooled connection is checked (one round trip) only after sitting
        // idle; checking it at every checkout doubled the round trips of a
        // one-statement read. A connection that breaks anyway fails its
        // request with 503 and is dropped.
        .test_before_acquire_if_idle_for(CHECK_CONNECTIONS_IDLE_FOR);
    match args.url.engine() {
        Engine::Sqlite => {
            options.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        }
        Engine::Postgres => {
            options.set_application_name("cellreg");
            if let Some(timeout) = statement_timeout {
                options.statement_timeout(timeout);
            }
        }
    }
    match Database::connect(options).await {
        Ok(db) => Ok(db),
        Err(err) => {
            let cause = match probe(args).await {
                Some(cause) => cause,
                None => err.to_string(),
            };
            Err(DatabaseError::Connect {
                url: args.url.to_string(),
                cause,
            })
        }
    }
}

/// The concrete reason a single connection fails ("connection refused",
/// "unable to open database file"): the pool only reports that it timed out.
async fn probe(args: &DatabaseArgs) -> Option<String> {
    use sea_orm::sqlx::Connection;
    let attempt = async {
        match args.url.engine() {
            Engine::Postgres => sea_orm::sqlx::PgConnection::connect(args.url.expose())
                .await
                .err(),
            Engine::Sqlite => sea_orm::sqlx::SqliteConnection::connect(args.url.expose())
                .await
                .err(),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
        .map(|err| err.to_string())
}

/// What `prepare` did to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub applied: usize,
}

/// Makes sure this binary can serve the database: refuses one migrated by a
/// newer cellreg, then applies pending migrations (or, with `migrate` off,
/// refuses a database that is behind).
pub async fn prepare(
    db: &DatabaseConnection,
    url: &str,
    migrate: bool,
) -> Result<Prepared, DatabaseError> {
    let state = read_state(db, url).await?;
    let pending = state.pending();
    if pending == 0 {
        return Ok(Prepared { applied: 0 });
    }
    if !migrate {
        return Err(DatabaseError::Behind {
            url: url.to_owned(),
            pending,
        });
    }
    tracing::info!(pending, "applying migrations");
    Migrator::up(db, None)
        .await
        .map_err(|source| DatabaseError::Migrate {
            url: url.to_owned(),
            source,
        })?;
    Ok(Prepared { applied: pending })
}

/// The schema state, refusing a database newer than this binary.
pub async fn read_state(db: &DatabaseConnection, url: &str) -> Result<SchemaState, DatabaseError> {
    let state = migration::schema_state(db)
        .await
        .map_err(|source| DatabaseError::ReadState {
            url: url.to_owned(),
            source,
        })?;
    if !state.unknown_applied.is_empty() {
        return Err(DatabaseError::NewerThanBinary {
            url: url.to_owned(),
            unknown: state.unknown_applied,
        });
    }
    Ok(state)
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at BEGIN (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout
/// instead of failing when both try to upgrade a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Bumps a named counter and returns its new value. Inside a transaction the
/// row lock it takes is held to commit, so values are handed out in commit order.
pub async fn next_counter<C: ConnectionTrait>(conn: &C, name: &str) -> Result<i64, DbErr> {
    advance_counter(conn, name, 1).await
}

/// Hands out the next `by` values of a named counter at once and returns
/// the last of them; as `next_counter`, in commit order.
pub async fn advance_counter<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    by: i64,
) -> Result<i64, DbErr> {
    use entity::counter;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let bump = Query::update()
        .table(counter::Entity)
        .value(
            counter::Column::LastValue,
            Expr::col(counter::Column::LastValue).add(by),
        )
        .and_where(Expr::col(counter::Column::Name).eq(name))
        .returning_col(counter::Column::LastValue)
        .to_owned();
    let row = conn
        .query_one(&bump)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("counter {name}")))?;
    row.try_get_by_index::<i64>(0)
}

/// Every SQL statement the server runs, counted; and, while recording is
/// on, kept (tests assert that nested reads cost a constant number of
/// statements, and EXPLAIN the hot reads' statements to check their plans).
#[derive(Debug, Default)]
pub struct StatementLog {
    count: std::sync::atomic::AtomicU64,
    recording: std::sync::atomic::AtomicBool,
    recorded: std::sync::Mutex<Vec<sea_orm::Statement>>,
}

impl StatementLog {
    /// Counts one statement (and keeps it while recording).
    pub fn note(&self, statement: &sea_orm::Statement) {
        use std::sync::atomic::Ordering;
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.recording.load(Ordering::Relaxed)
            && let Ok(mut recorded) = self.recorded.lock()
        {
            recorded.push(statement.clone());
        }
    }

    /// Statements run so far.
    pub fn count(&self) -> u64 {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Starts keeping statements, forgetting any kept before.
    pub fn start_recording(&self) {
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.clear();
        }
        self.recording
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops keeping statements and hands over those kept.
    pub fn stop_recording(&self) -> Vec<sea_orm::Statement> {
        self.recording
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.recorded
            .lock()
            .map(|mut recorded| std::mem::take(&mut *recorded))
            .unwrap_or_default()
    }
}
