//! The command line and the one `Config` struct, read from flags and the
//! environment. A bad value stops start-up with one clear line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The seed number used when none is given.
pub const DEFAULT_SEED: u64 = 2017;

/// The embedded default: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://cellreg.db?mode=rwc";

#[derive(Debug, Parser)]
#[command(
    name = "cellreg",
    version,
    about = "The party membership registry's integration backend"
)]
pub struct Cli {
    /// Log output format.
    #[arg(long, env = "CELLREG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL and REST APIs (applies pending migrations first).
    Serve(Config),
    /// Apply, roll back or inspect the schema migrations.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print a signed token, for administrators and scripts.
    Token(TokenArgs),
    /// Check the audit log's hash chain.
    Audit {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Load example data (applies pending migrations first).
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        dataset: SeedDataset,
    },
    /// Print the REST API's OpenAPI document, or write it to a file.
    ExportOpenapi {
        /// Where to write the JSON; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        /// Where to write the SDL; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum SeedDataset {
    /// The Sông Lô district when Đề án 04 was issued: 17 grassroots
    /// committees, 256 cells, about 2,000 members, plan DA04. Deterministic
    /// for a seed number; a second run changes nothing.
    Demo {
        /// Seed of the generator that makes names, sizes and dates.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Add the demo even if the database holds other data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or the next N).
    Up {
        #[arg(long, short)]
        num: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or the last N).
    Down {
        #[arg(long, short, default_value_t = 1)]
        num: u32,
    },
    /// List every migration and whether it is applied.
    Status,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum AuditAction {
    /// Walk the chain: prints OK, or the first row that does not match.
    Verify,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The `sub` claim: who the token is for.
    #[arg(long)]
    pub sub: String,
    /// ADMIN, ORGANIZER, INTEGRATOR, READER or AUDITOR.
    #[arg(long, value_parser = parse_role)]
    pub role: crate::auth::Role,
    /// Code of the organization subtree the token may see (required unless ADMIN).
    #[arg(long)]
    pub org: Option<String>,
    /// Lifetime, e.g. 30m, 1h; at most the maximum token lifetime.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    /// Sign with this RS256 or Ed25519 private key (PEM) instead of the HS256 secret.
    #[arg(long)]
    pub private_key: Option<PathBuf>,
    /// `kid` header to put in the token.
    #[arg(long)]
    pub kid: Option<String>,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The clocks of introduction letters and temporary activity (Quy định
/// 24-QĐ/TW's figures by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct LetterRules {
    /// Days a member has to present an introduction letter at the receiving
    /// committee; later receipt needs a late reason.
    #[arg(long = "letter-presentation-days", env = "CELLREG_LETTER_PRESENTATION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    pub presentation_days: u32,

    /// Longest temporary activity for work or residence, in months.
    #[arg(long = "temporary-months-work", env = "CELLREG_TEMPORARY_MONTHS_WORK", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub temporary_months_work: u32,

    /// Longest temporary activity for study, in months.
    #[arg(long = "temporary-months-study", env = "CELLREG_TEMPORARY_MONTHS_STUDY", default_value_t = 24,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub temporary_months_study: u32,
}

impl Default for LetterRules {
    fn default() -> Self {
        Self {
            presentation_days: 30,
            temporary_months_work: 12,
            temporary_months_study: 24,
        }
    }
}

fn parse_role(raw: &str) -> Result<crate::auth::Role, String> {
    crate::auth::Role::parse(raw)
        .ok_or_else(|| "one of ADMIN, ORGANIZER, INTEGRATOR, READER, AUDITOR".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which database to use and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long = "database-url", env = "DATABASE_URL", global = true, default_value = DEFAULT_DATABASE_URL, value_parser = DatabaseUrl::parse)]
    pub url: DatabaseUrl,

    /// Most connections the pool opens.
    #[arg(long = "db-max-connections", env = "CELLREG_DB_MAX_CONNECTIONS", default_value_t = 16, global = true,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_connections: u32,

    /// How long a request waits for a pooled connection before it is answered 503.
    #[arg(long = "db-acquire-timeout", env = "CELLREG_DB_ACQUIRE_TIMEOUT", default_value = "3s", global = true, value_parser = parse_duration)]
    pub acquire_timeout: Duration,
}

impl DatabaseArgs {
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// Everything `cellreg serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "CELLREG_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Do not apply pending migrations on start (start-up then refuses a database that is behind).
    #[arg(long, env = "CELLREG_NO_MIGRATE", default_value_t = false)]
    pub no_migrate: bool,

    /// HTTP worker threads; 0 means one per core.
    #[arg(long, env = "CELLREG_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CELLREG_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// PostgreSQL cancels any statement of a request running longer (503 to
    /// the caller, nothing changed); 0 means no limit. Migrations are not bound by it.
    #[arg(long = "db-statement-timeout", env = "CELLREG_DB_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub statement_timeout: Duration,

    /// Mutating requests (GraphQL mutations, transfer submissions) one token
    /// subject may make per minute; past it, 429 with Retry-After. 0: no limit.
    #[arg(long, env = "CELLREG_MUTATIONS_PER_MINUTE", default_value_t = 600)]
    pub mutations_per_minute: u32,

    /// Failed authentications one client address may make per minute; past
    /// it, 429 with Retry-After instead of 401. 0: no limit.
    #[arg(long, env = "CELLREG_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub auth_failures_per_minute: u32,

    /// GraphQL subscriptions one token subject may have open at once; past
    /// it, a new one is refused with LIMIT_EXCEEDED. 0: no limit.
    #[arg(long, env = "CELLREG_SUBSCRIPTIONS_PER_SUBJECT", default_value_t = 10)]
    pub subscriptions_per_subject: usize,

    /// How long a new WebSocket has to authenticate (`connection_init` with a
    /// valid token); past it, it is closed with 4408.
    #[arg(long = "ws-init-timeout", env = "CELLREG_WS_INIT_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub ws_init_timeout: Duration,

    /// WebSockets one client address may have open at once, authenticated or
    /// not; past it, the upgrade is refused with 429 and Retry-After. 0: no limit.
    #[arg(long, env = "CELLREG_WEBSOCKETS_PER_ADDRESS", default_value_t = 50)]
    pub websockets_per_address: usize,
    /// Answer `__schema` and `__type` (the standard GraphiQL needs them).
    /// `false` refuses them for every caller as a validation error; the
    /// schema stays public as the contract and at /graphql/schema.graphql.
    #[arg(long, env = "CELLREG_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub introspection: bool,

    /// Web origins whose pages may call the API from a browser (CORS),
    /// comma-separated, each exactly `scheme://host[:port]`; none by default.
    #[arg(long = "cors-allowed-origins", env = "CELLREG_CORS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_allowed_origins: Vec<String>,

    /// Serve Prometheus metrics at `GET /metrics` (no token, like /healthz).
    #[arg(long, env = "CELLREG_METRICS", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics: bool,

    /// On SIGTERM or SIGINT, how long requests in flight may take to be
    /// answered before the server stops anyway.
    #[arg(long = "shutdown-timeout", env = "CELLREG_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub letters: LetterRules,
}

/// How tokens are verified (and signed by `cellreg token`).
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HS256 shared secret, at least 32 bytes. Unset (and no public keys):
    /// a random one is made on first start and kept in the secret file.
    #[arg(
        long = "jwt-secret",
        env = "JWT_SECRET",
        hide = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<Secret>,

    /// Where the generated HS256 secret is kept (mode 0600).
    #[arg(
        long,
        env = "CELLREG_JWT_SECRET_FILE",
        default_value = "cellreg.jwt-secret"
    )]
    pub jwt_secret_file: PathBuf,

    /// A PEM or JWKS file of RS256/EdDSA public keys (JWKS keys are chosen by `kid`).
    #[arg(long, env = "JWT_PUBLIC_KEYS")]
    pub jwt_public_keys: Option<PathBuf>,

    /// Required `iss` claim.
    #[arg(long, env = "JWT_ISSUER", default_value = "cellreg")]
    pub jwt_issuer: String,

    /// Required `aud` claim.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "cellreg-api")]
    pub jwt_audience: String,

    /// Longest token lifetime (`exp - iat`) accepted.
    #[arg(long, env = "CELLREG_TOKEN_MAX_LIFETIME", default_value = "24h", value_parser = parse_duration)]
    pub token_max_lifetime: Duration,
}

impl AuthArgs {
    /// Verification with an HS256 shared secret and every other default.
    pub fn with_secret(secret: &str) -> Self {
        Self {
            jwt_secret: Some(Secret::new(secret.to_owned())),
            jwt_secret_file: PathBuf::from("cellreg.jwt-secret"),
            jwt_public_keys: None,
            jwt_issuer: "cellreg".to_owned(),
            jwt_audience: "cellreg-api".to_owned(),
            token_max_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// A secret value: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Self(raw.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Config {
    /// How long a query may run in all before it is answered 503: the wait
    /// for a connection plus one statement's limit. Several statements in a
    /// row or several pool waits cannot stretch a request past what the two
    /// settings promise. `None` when statements have no limit.
    pub fn query_deadline(&self) -> Option<Duration> {
        (!self.statement_timeout.is_zero())
            .then(|| self.database.acquire_timeout + self.statement_timeout)
    }

    /// A configuration with every default, for the given database.
    pub fn new(database_url: DatabaseUrl) -> Self {
        Self {
            database: DatabaseArgs::new(database_url),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            no_migrate: false,
            workers: 0,
            max_body_bytes: 1024 * 1024,
            statement_timeout: Duration::from_secs(5),
            mutations_per_minute: 600,
            auth_failures_per_minute: 30,
            subscriptions_per_subject: 10,
            ws_init_timeout: Duration::from_secs(10),
            websockets_per_address: 50,
            introspection: true,
            cors_allowed_origins: Vec::new(),
            metrics: true,
            shutdown_timeout: Duration::from_secs(30),
            auth: AuthArgs {
                jwt_secret: None,
                jwt_secret_file: PathBuf::from("cellreg.jwt-secret"),
                jwt_public_keys: None,
                jwt_issuer: "cellreg".to_owned(),
                jwt_audience: "cellreg-api".to_owned(),
                token_max_lifetime: Duration::from_secs(24 * 3600),
            },
            letters: LetterRules::default(),
        }
    }
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database URL checked at start-up. Its `Display` hides any password, so
/// it can go into logs and error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    engine: Engine,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|err| format!("not a URL ({err})"))?;
        let engine = match url.scheme() {
            "sqlite" => Engine::Sqlite,
            "postgres" | "postgresql" => Engine::Postgres,
            other => {
                return Err(format!(
                    "unsupported scheme `{other}:`; use sqlite:// or postgres://"
                ));
            }
        };
        if engine == Engine::Postgres && url.host_str().is_none_or(str::is_empty) {
            return Err("a postgres:// URL needs a host".to_owned());
        }
        Ok(Self {
            raw: raw.to_owned(),
            engine,
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        &self.raw
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match url::Url::parse(&self.raw) {
            Ok(mut url) if url.password().is_some() => {
                // Cannot fail: the URL has a password, so it has a host.
                let _ = url.set_password(Some("***"));
                write!(f, "{url}")
            }
            _ => f.write_str(&self.raw),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `500ms`, `3s`, `2m` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 500ms, 3s, 2m or 1h"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!(
            "`{raw}` is not a duration like 500ms, 3s, 2m or 1h"
        )),
    }
}

/// A duration that must not be zero (a timeout of nothing would refuse everything).
/// One web origin, exactly as a browser sends it in `Origin`: an http or
/// https scheme and a host, a port if not the default, nothing else (no
/// `*`, path, query or trailing slash).
fn parse_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let refused = || {
        format!(
            "`{raw}` is not a web origin like https://app.example.org (scheme, host and port only)"
        )
    };
    let url = url::Url::parse(raw).map_err(|_| refused())?;
    let origin = url.origin().ascii_serialization();
    if matches!(url.scheme(), "http" | "https") && origin == raw {
        Ok(origin)
    } else {
        Err(refused())
    }
}

fn parse_timeout(raw: &str) -> Result<Duration, String> {
    match parse_duration(raw)? {
        Duration::ZERO => Err(format!("`{raw}` is no time at all; give a timeout above 0")),
        timeout => Ok(timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_exact_web_origins() {
        for origin in [
            "https://app.example.org",
            "http://127.0.0.1:5173",
            "http://[::1]:3000",
        ] {
            assert_eq!(parse_origin(origin).as_deref(), Ok(origin));
        }
        for refused in [
            "*",
            "null",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "https://user@app.example.org",
            "https://app.example.org:443",
            "ftp://files.example.org",
        ] {
            assert!(parse_origin(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn database_url_hides_its_password() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cret@db.example:5432/cellreg").expect("valid");
        assert_eq!(
            url.to_string(),
            "postgres://app:***@db.example:5432/cellreg"
        );
        assert!(url.expose().contains("s3cret"));
        assert_eq!(url.engine(), Engine::Postgres);
    }

    #[test]
    fn database_url_refuses_unknown_schemes_and_garbage() {
        assert!(
            DatabaseUrl::parse("mysql://localhost/x")
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(
            DatabaseUrl::parse("not a url")
                .unwrap_err()
                .contains("not a URL")
        );
        assert!(DatabaseUrl::parse("postgres:///db").is_err());
        assert_eq!(
            DatabaseUrl::parse(DEFAULT_DATABASE_URL)
                .expect("default")
                .engine(),
            Engine::Sqlite
        );
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn websocket_settings_read_flags_and_refuse_a_zero_timeout() {
        let cli = Cli::try_parse_from([
            "cellreg",
            "serve",
            "--ws-init-timeout",
            "1500ms",
            "--websockets-per-address",
            "0",
        ])
        .expect("parses");
        let Command::Serve(config) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(config.ws_init_timeout, Duration::from_millis(1_500));
        assert_eq!(config.websockets_per_address, 0);
        assert!(Cli::try_parse_from(["cellreg", "serve", "--ws-init-timeout", "0s"]).is_err());
        let Command::Serve(defaults) = Cli::try_parse_from(["cellreg", "serve"])
            .expect("parses")
            .command
        else {
            panic!("expected serve")
        };
        assert_eq!(defaults.ws_init_timeout, Duration::from_secs(10));
        assert_eq!(defaults.websockets_per_address, 50);
    }

    #[test]
    fn serve_reads_flags_and_keeps_defaults() {
        let cli =
            Cli::try_parse_from(["cellreg", "serve", "--bind", "0.0.0.0:9000", "--no-migrate"])
                .expect("parses");
        let Command::Serve(config) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(config.bind.port(), 9000);
        assert!(config.no_migrate);
        assert!(config.introspection, "on unless switched off");
        assert!(Cli::try_parse_from(["cellreg", "serve", "--bind", "nowhere"]).is_err());
    }

    #[test]
    fn introspection_can_be_switched_off() {
        for off in ["false", "off", "0", "no"] {
            let cli =
                Cli::try_parse_from(["cellreg", "serve", "--introspection", off]).expect("parses");
            let Command::Serve(config) = cli.command else {
                panic!("expected serve")
            };
            assert!(!config.introspection, "{off}");
        }
        assert!(Cli::try_parse_from(["cellreg", "serve", "--introspection", "maybe"]).is_err());
    }
}
