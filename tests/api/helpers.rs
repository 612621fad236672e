//! The harness: a fresh database per test on each backend, the real server
//! on port 0, and a small HTTP client for it.

use std::future::Future;
use std::panic::resume_unwind;
use std::path::PathBuf;
use std::sync::Arc;

use api::config::{Config, DatabaseArgs, DatabaseUrl};
use api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// Where the PostgreSQL runs create their databases, unless TEST_DATABASE_URL says otherwise.
const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a test that runs once per backend: `mod NAME { sqlite, postgres }`.
/// The argument is the fixture: a running `TestApp`, or a bare `TestDatabase`.
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : $fixture:ty) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($arg: $fixture) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::helpers::run::<$fixture, _, _>(crate::helpers::Backend::Sqlite, body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::helpers::run::<$fixture, _, _>(crate::helpers::Backend::Postgres, body).await
            }
        }
    };
}

/// Sets up the fixture on a fresh database, runs the test body in its own
/// task, tears everything down whether it passed or not, then re-raises its panic.
pub async fn run<F, B, Fut>(backend: Backend, body: B)
where
    F: Fixture,
    B: FnOnce(F) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let fixture = F::set_up(&database).await;
    let outcome = tokio::spawn(body(fixture.clone())).await;
    fixture.tear_down().await;
    database.drop().await;
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            Err(err) => panic!("test task failed: {err}"),
        }
    }
}

/// What a test receives.
pub trait Fixture: Clone + Send + 'static {
    fn set_up(database: &TestDatabase) -> impl Future<Output = Self>;
    fn tear_down(&self) -> impl Future<Output = ()>;
}

/// A database created for one test and dropped after it.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    url: String,
    sqlite_file: Option<PathBuf>,
    postgres: Option<(String, String)>,
}

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("CELLREG_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestDatabase {
    /// A fresh, empty database. `None` only when PostgreSQL is unreachable and
    /// not required; under CI=true an unreachable PostgreSQL fails the test.
    pub async fn create(backend: Backend) -> Option<Self> {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("cellreg-test-{unique}.db"));
                Some(Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    sqlite_file: Some(file),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned());
                let admin = match Database::connect(&admin_url).await {
                    Ok(admin) => admin,
                    Err(err) if !postgres_required() => {
                        eprintln!(
                            "PostgreSQL unreachable ({err}); skipping the PostgreSQL run (CI=true makes this a failure)"
                        );
                        return None;
                    }
                    Err(err) => panic!(
                        "PostgreSQL is required (CI=true) but unreachable at TEST_DATABASE_URL: {err}"
                    ),
                };
                let name = format!("cellreg_test_{unique}");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Some(Self {
                    url: url.to_string(),
                    sqlite_file: None,
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }

    pub fn url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("test database URL parses")
    }

    /// A server configuration for this database with every other default,
    /// listening on a free port with two workers.
    pub fn config(&self) -> Config {
        let mut config = Config::new(self.url());
        config.bind = "127.0.0.1:0".parse().expect("address");
        config.workers = 2;
        config.database.max_connections = 5;
        config
    }

    /// A connection with the same settings the server uses.
    pub async fn connect(&self) -> DatabaseConnection {
        let mut args = DatabaseArgs::new(self.url());
        args.max_connections = 5;
        api::database::connect(&args)
            .await
            .expect("connect to the test database")
    }

    /// Removes the database (idempotent).
    pub async fn drop(&self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(admin) = Database::connect(admin_url).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        }
    }
}

impl Fixture for TestDatabase {
    async fn set_up(database: &TestDatabase) -> Self {
        database.clone()
    }

    async fn tear_down(&self) {}
}

/// The running server and a client for it.
#[derive(Clone)]
pub struct TestApp {
    inner: Arc<TestAppInner>,
}

struct TestAppInner {
    address: String,
    client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl Fixture for TestApp {
    async fn set_up(database: &TestDatabase) -> Self {
        TestApp::spawn(database.config()).await
    }

    async fn tear_down(&self) {
        self.inner.handle.stop(false).await;
    }
}

impl TestApp {
    /// Builds the application exactly as `cellreg serve` does and serves it in the background.
    pub async fn spawn(config: Config) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let app = Application::build(config)
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder().build().expect("HTTP client");
        Self {
            inner: Arc::new(TestAppInner {
                address,
                client,
                handle,
            }),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.address)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client()
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// Posts a GraphQL operation and returns the whole JSON answer.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client()
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        assert_eq!(response.status(), 200, "GraphQL answers 200");
        response.json().await.expect("GraphQL answers JSON")
    }
}
