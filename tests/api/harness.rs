//! The test binary's own harness (libtest-mimic): every test declared with
//! `on_both_backends!`, `on_postgres!` or `e2e_test!` registers itself here,
//! and runs as one trial on its own tokio runtime. Whether PostgreSQL answers
//! is decided once, up front: when it does not, its runs are reported as
//! ignored with the reason, or fail where PostgreSQL is required.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::helpers::postgres_admin_url;

/// A test's body, ready to run on the runtime the harness gives it.
pub type TestFuture = Pin<Box<dyn Future<Output = ()>>>;

/// One registered test. Made by the declaring macros in helpers.rs.
pub struct E2eTest {
    /// `module_path!()` where the test is declared (the binary's name first).
    pub module: &'static str,
    /// The name's last segment: the function's name, or the backend it runs on.
    pub leaf: &'static str,
    /// Needs the PostgreSQL server at TEST_DATABASE_URL.
    pub needs_postgres: bool,
    pub start: fn() -> TestFuture,
}

inventory::collect!(E2eTest);

impl E2eTest {
    /// `module::test_name` or `module::test_name::backend`, as libtest named them.
    pub fn name(&self) -> String {
        match self.module.split_once("::") {
            Some((_binary, path)) => format!("{path}::{}", self.leaf),
            None => self.leaf.to_owned(),
        }
    }
}

/// Whether the PostgreSQL runs can be made, decided before any test runs.
enum Postgres {
    /// Not asked: no selected test needs it, or the tests are only listed.
    NotAsked,
    Reachable,
    Unreachable {
        reason: String,
        cause: String,
    },
}

/// CI=true or CELLREG_REQUIRE_POSTGRES=1: an unreachable PostgreSQL fails its runs.
fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("CELLREG_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// One connection attempt to the PostgreSQL server the tests create their databases on.
fn probe_postgres() -> Postgres {
    let url = postgres_admin_url();
    // Display hides a password.
    let shown = api::config::DatabaseUrl::parse(&url)
        .map_or_else(|_| "TEST_DATABASE_URL".to_owned(), |url| url.to_string());
    // A single connection, not a pool, so that the driver's own error is the cause shown.
    let attempt = async {
        use sea_orm::sqlx::Connection;
        let connect = sea_orm::sqlx::PgConnection::connect(&url);
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(connection)) => connection.close().await.map_err(|err| err.to_string()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("no answer within 5 s".to_owned()),
        }
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the PostgreSQL probe")
        .block_on(attempt);
    match outcome {
        Ok(()) => Postgres::Reachable,
        Err(err) => Postgres::Unreachable {
            reason: format!("PostgreSQL not reachable at {shown}"),
            cause: err,
        },
    }
}

fn trial(test: &'static E2eTest, postgres: &Postgres) -> Trial {
    let unreachable = match postgres {
        Postgres::Unreachable { reason, cause } if test.needs_postgres => {
            Some((reason.clone(), cause.clone()))
        }
        _ => None,
    };
    let required = postgres_required();
    Trial::ignorable_test(test.name(), move || {
        match unreachable {
            Some((reason, cause)) if required => {
                return Err(Failed::from(format!(
                    "{reason} ({cause}), and CI=true or CELLREG_REQUIRE_POSTGRES=1 requires it"
                )));
            }
            Some((reason, _)) => return Ok(Completion::ignored_with(reason)),
            None => {}
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| Failed::from(format!("cannot start the test's runtime: {err}")))?;
        // A panic, the test's failure, unwinds to libtest-mimic, which reports it.
        runtime.block_on((test.start)());
        Ok(Completion::Completed)
    })
}

/// Runs the registered tests as the command line asks and exits with the outcome.
pub fn main() -> ! {
    let args = Arguments::from_args();
    let mut tests: Vec<&'static E2eTest> = inventory::iter::<E2eTest>.into_iter().collect();
    tests.sort_by_cached_key(|test| test.name());

    // A selected test is one the filters keep; only those decide whether to ask PostgreSQL.
    let selected = |test: &E2eTest| !args.is_filtered_out(&Trial::test(test.name(), || Ok(())));
    let postgres_runs = tests
        .iter()
        .filter(|test| test.needs_postgres && selected(test))
        .count();
    let postgres = if args.list || postgres_runs == 0 {
        Postgres::NotAsked
    } else {
        probe_postgres()
    };

    let trials = tests.iter().map(|test| trial(test, &postgres)).collect();
    let conclusion = libtest_mimic::run(&args, trials);

    if let Postgres::Unreachable { reason, cause } = &postgres {
        if postgres_required() {
            println!(
                "{postgres_runs} PostgreSQL runs failed: {reason} ({cause}); CI=true or CELLREG_REQUIRE_POSTGRES=1 requires it"
            );
        } else {
            println!(
                "{postgres_runs} PostgreSQL runs ignored: {reason} ({cause}); CI=true or CELLREG_REQUIRE_POSTGRES=1 makes this a failure"
            );
        }
    }
    conclusion.exit()
}
