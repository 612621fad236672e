//! The harness: a fresh database per test on each backend, the real server
//! on port 0, and a small HTTP client for it.

use std::future::Future;
use std::panic::resume_unwind;
use std::path::PathBuf;
use std::sync::Arc;

use api::auth::Role;
use api::auth::jwt::{self, SigningKey, TokenRequest};
use api::config::{AuthArgs, Config, DatabaseArgs, DatabaseUrl};
use api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The HS256 secret every test server verifies with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

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

            register_e2e_test!(sqlite, false, || {
                Box::pin(crate::helpers::run::<$fixture, _, _>(crate::helpers::Backend::Sqlite, body))
            });
            register_e2e_test!(postgres, true, || {
                Box::pin(crate::helpers::run::<$fixture, _, _>(crate::helpers::Backend::Postgres, body))
            });
        }
    };
}

/// Declares a test that only PostgreSQL can run (named `NAME`, as before it
/// had a backend of its own): its fixture is set up on PostgreSQL alone.
macro_rules! on_postgres {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : $fixture:ty) $body:block) => {
        $(#[$meta])*
        async fn $name($arg: $fixture) $body

        register_e2e_test!($name, true, || {
            Box::pin(crate::helpers::run::<$fixture, _, _>(crate::helpers::Backend::Postgres, $name))
        });
    };
}

/// Declares a test that needs no database server of its own.
macro_rules! e2e_test {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        async fn $name() $body

        register_e2e_test!($name, false, || Box::pin($name()));
    };
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        fn $name() $body

        register_e2e_test!($name, false, || Box::pin(async { $name() }));
    };
}

/// Registers one trial with the harness, named after the enclosing module and `$leaf`.
macro_rules! register_e2e_test {
    ($leaf:ident, $needs_postgres:expr, $start:expr) => {
        inventory::submit! {
            crate::harness::E2eTest {
                module: module_path!(),
                leaf: stringify!($leaf),
                needs_postgres: $needs_postgres,
                start: $start,
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
    let database = TestDatabase::create(backend).await;
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

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

impl TestDatabase {
    /// A fresh, empty database. The harness runs a PostgreSQL test only when
    /// the server answered it, so failing to reach it here is a failure.
    pub async fn create(backend: Backend) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("cellreg-test-{unique}.db"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    sqlite_file: Some(file),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("PostgreSQL answered the harness, but not this test");
                let name = format!("cellreg_test_{unique}");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    sqlite_file: None,
                    postgres: Some((admin_url, name)),
                }
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
        config.auth = AuthArgs::with_secret(TEST_SECRET);
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

    /// PostgreSQL: ends every session connected to this database, as a
    /// database restart would. Returns how many were ended.
    pub async fn terminate_connections(&self) -> i64 {
        let (admin_url, name) = self.postgres.as_ref().expect("a PostgreSQL test database");
        let admin = Database::connect(admin_url)
            .await
            .expect("admin connection");
        let row = admin
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                [name.clone().into()],
            ))
            .await
            .expect("terminate sessions")
            .expect("a row");
        let _ = admin.close().await;
        row.try_get("", "ended").expect("count")
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
    db: DatabaseConnection,
    admin_token: String,
    statements: Arc<api::database::StatementLog>,
}

/// Signs a token the test servers accept.
pub fn token_for(role: Role, org: Option<&str>) -> String {
    token_with_ttl(role, org, std::time::Duration::from_secs(600))
}

/// Signs a token the test servers accept, valid for `ttl` (whole seconds).
pub fn token_with_ttl(role: Role, org: Option<&str>, ttl: std::time::Duration) -> String {
    let key = SigningKey {
        kid: None,
        algorithm: jsonwebtoken::Algorithm::HS256,
        key: jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    };
    let request = TokenRequest {
        subject: format!("{}-{}", role.as_str().to_lowercase(), org.unwrap_or("all")),
        role,
        org: org.map(str::to_owned),
        ttl,
    };
    jwt::issue(
        &key,
        "cellreg",
        "cellreg-api",
        std::time::Duration::from_secs(86_400),
        &request,
    )
    .expect("token")
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
        let db = app.db();
        let statements = app.statement_log();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder().build().expect("HTTP client");
        let admin_token = token_for(Role::Admin, None);
        Self {
            inner: Arc::new(TestAppInner {
                address,
                client,
                handle,
                db,
                admin_token,
                statements,
            }),
        }
    }

    /// The server's own pool, for checks the API cannot make.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// SQL statements the server has run so far.
    pub fn statements(&self) -> u64 {
        self.inner.statements.count()
    }

    /// The SQL statements the server runs while `during` runs, with their values.
    pub async fn statements_of<F: std::future::Future>(
        &self,
        during: F,
    ) -> (F::Output, Vec<sea_orm::Statement>) {
        self.inner.statements.start_recording();
        let output = during.await;
        (output, self.inner.statements.stop_recording())
    }

    /// An unscoped ADMIN's token.
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
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

    /// A GET with this bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET request")
    }

    /// Posts a GraphQL operation as an unscoped ADMIN.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let token = self.inner.admin_token.clone();
        self.graphql_as(&token, query, variables).await
    }

    /// The raw answer to a GraphQL POST with this bearer token (none if empty).
    pub async fn post_graphql(&self, token: &str, body: &Value) -> reqwest::Response {
        let mut request = self.client().post(self.url("/graphql")).json(body);
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("POST /graphql")
    }

    /// Creates an organization as ADMIN; panics if refused.
    pub async fn create_organization(
        &self,
        code: &str,
        kind: &str,
        cell_type: Option<&str>,
        parent: Option<&str>,
    ) -> Value {
        let answer = self
            .graphql(
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id code } }",
                json!({ "input": { "code": code, "name": format!("Tổ chức {code}"), "kind": kind,
                                   "cellType": cell_type, "parentCode": parent } }),
            )
            .await;
        assert!(answer.get("errors").is_none(), "create {code}: {answer}");
        answer["data"]["createOrganization"].clone()
    }

    /// Registers a member as ADMIN; panics if refused. Returns the member's id.
    pub async fn register_member(
        &self,
        national_id: &str,
        cell: &str,
        residence: Option<&str>,
    ) -> String {
        let answer = self
            .graphql(
                "mutation($input: RegisterMemberInput!) { registerMember(input: $input) { id } }",
                json!({ "input": { "nationalId": national_id, "fullName": "Nguyễn Văn An", "birthDate": "1980-02-29",
                                   "admittedOn": "2010-05-19", "status": "OFFICIAL", "officialOn": "2011-05-19",
                                   "partyCardNumber": format!("PC{national_id}"),
                                   "organizationCode": cell, "residenceCellCode": residence,
                                   "externalId": format!("admission-{national_id}") } }),
            )
            .await;
        assert!(
            answer.get("errors").is_none(),
            "register {national_id}: {answer}"
        );
        answer["data"]["registerMember"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Sông Lô in miniature: district SL with communes SL.BL and SL.YT, each
    /// with a residential and an agency cell, and one member in each residential cell.
    pub async fn seed_district(&self) -> Seeded {
        self.create_organization("SL", "DISTRICT_COMMITTEE", None, None)
            .await;
        for commune in ["SL.BL", "SL.YT"] {
            self.create_organization(commune, "GRASSROOTS_COMMITTEE", None, Some("SL"))
                .await;
            self.create_organization(
                &format!("{commune}.R1"),
                "CELL",
                Some("RESIDENTIAL"),
                Some(commune),
            )
            .await;
            self.create_organization(
                &format!("{commune}.CQ"),
                "CELL",
                Some("AGENCY"),
                Some(commune),
            )
            .await;
        }
        let bl_member = self
            .register_member("001080000001", "SL.BL.R1", Some("SL.BL.R1"))
            .await;
        let yt_member = self
            .register_member("001080000002", "SL.YT.R1", Some("SL.YT.R1"))
            .await;
        Seeded {
            bl_member,
            yt_member,
        }
    }

    /// Posts a GraphQL operation with a token and returns the whole JSON answer.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .post_graphql(token, &json!({ "query": query, "variables": variables }))
            .await;
        let status = response.status();
        let answer: Value = response.json().await.expect("GraphQL answers JSON");
        let past_a_limit = answer["errors"].as_array().is_some_and(|errors| {
            errors
                .iter()
                .any(|error| error["extensions"]["code"] == "LIMIT_EXCEEDED")
        });
        let expected = if past_a_limit { 413 } else { 200 };
        assert_eq!(
            status, expected,
            "GraphQL answers 200, or 413 past a limit: {answer}"
        );
        assert_errors_have_codes(&answer);
        answer
    }
}

/// Ids made by `TestApp::seed_district`.
pub struct Seeded {
    /// The member in SL.BL.R1 (national ID 001080000001).
    pub bl_member: String,
    /// The member in SL.YT.R1 (national ID 001080000002).
    pub yt_member: String,
}

/// The codes README's Errors section lists, and no other.
pub const ERROR_CODES: [&str; 11] = [
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "UNSUPPORTED_MEDIA_TYPE",
    "INTERNAL",
    "UNAVAILABLE",
    "RATE_LIMITED",
];

/// Every error of a GraphQL answer carries a code from the closed list.
pub fn assert_errors_have_codes(answer: &Value) {
    for error in answer["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or_default();
        assert!(
            ERROR_CODES.contains(&code),
            "an error without a known code: {error}"
        );
    }
}

/// The `extensions.code` of the first error of a GraphQL answer.
pub fn error_code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

/// An instant after every write so far and before any later one: the
/// clock's microsecond, made sure to have passed.
pub fn now_after_last_write() -> String {
    std::thread::sleep(std::time::Duration::from_millis(2));
    let at = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(2));
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
