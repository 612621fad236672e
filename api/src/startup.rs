//! Building the application: connect, migrate, bind, and assemble the HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, RETRY_AFTER};
use actix_web::middleware::DefaultHeaders;
use actix_web::middleware::Next;
use actix_web::mime::{self, Mime};
use actix_web::{App, HttpRequest, HttpServer, web};
use sea_orm::DatabaseConnection;

use crate::auth::keys::{self, KeyError};
use crate::config::Config;
use crate::database::{self, DatabaseError};
use crate::error::{AppError, ErrorCode, Problem, body_too_large};
use crate::graphql;
use crate::rest;
use crate::shutdown::{self, Stopping};
use crate::state::AppState;
use crate::telemetry;

/// Why the server could not start; one line each.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A server bound to its port and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    db: DatabaseConnection,
    statements: Arc<database::StatementLog>,
    stopping: Stopping,
    shutdown_timeout: std::time::Duration,
}

/// How long actix waits, once the requests are drained, for the connections
/// left (idle keep-alives, WebSockets sending their last frames).
const ACTIX_SHUTDOWN_TIMEOUT: u64 = 2;

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        // The address first: a taken port must not leave a freshly created database behind.
        let addr = config.bind;
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;

        let verifier = Arc::new(keys::verifier(&config.auth)?);
        // Migrations first, on a pool of their own: building an index on a
        // large table may take longer than any request is allowed to.
        let admin = database::connect(&config.database).await?;
        let prepared =
            database::prepare(&admin, &config.database.url.to_string(), !config.no_migrate).await;
        let _ = admin.close().await;
        let prepared = prepared?;
        if prepared.applied > 0 {
            tracing::info!(
                applied = prepared.applied,
                "database schema brought up to date"
            );
        }
        let mut db = database::connect_serving(&config.database, config.statement_timeout).await?;
        // Counts every SQL statement the server runs (tests assert that
        // nested queries cost a constant number of them).
        let statements = Arc::new(database::StatementLog::default());
        let log = statements.clone();
        db.set_metric_callback(move |info| log.note(info.statement));

        let workers = config.workers;
        let max_body = config.max_body_bytes;
        let rate_limits = Arc::new(crate::auth::rate::RateLimits::new(
            config.mutations_per_minute,
            config.auth_failures_per_minute,
        ));
        let subscriptions = Arc::new(crate::auth::rate::SubscriptionSlots::new(
            config.subscriptions_per_subject,
        ));
        let websockets = Arc::new(crate::auth::rate::WebSocketSlots::new(
            config.websockets_per_address,
            config.ws_init_timeout,
        ));
        let stopping = Stopping::default();
        let shutdown_timeout = config.shutdown_timeout;
        let state = AppState {
            db: db.clone(),
            config: Arc::new(config),
            verifier,
            rate_limits,
            subscriptions,
            websockets,
            stopping: stopping.clone(),
        };
        let graphql_pipeline = graphql::Pipeline::new(
            graphql::build_schema(Some(state.clone())),
            Some(state.clone()),
        );
        let metrics = if state.config.metrics {
            crate::metrics::recorder()
        } else {
            None
        };
        let cors_origins = state.config.cors_allowed_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(plain_json_only))
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Cache-Control", "no-store")),
                )
                .wrap(actix_web::middleware::Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::metrics::count_requests,
                ))
                .wrap(actix_web::middleware::from_fn(telemetry::request_context))
                .wrap(actix_web::middleware::from_fn(
                    shutdown::close_connections_when_stopping,
                ))
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(state.stopping.clone()))
                .app_data(web::Data::new(graphql_pipeline.clone()))
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    let problem =
                        AppError::BadInput(format!("query parameters are not valid: {err}"));
                    actix_web::error::InternalError::from_response(
                        err,
                        actix_web::ResponseError::error_response(&problem),
                    )
                    .into()
                }))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    let problem = AppError::BadInput(format!("path is not valid: {err}"));
                    actix_web::error::InternalError::from_response(
                        err,
                        actix_web::ResponseError::error_response(&problem),
                    )
                    .into()
                }))
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(json_error),
                )
                .configure(|cfg| {
                    if let Some(handle) = &metrics {
                        cfg.app_data(web::Data::new(handle.clone()))
                            .configure(crate::metrics::configure);
                    }
                })
                .configure(crate::docs::configure)
                .configure(rest::configure)
                .configure(graphql::configure)
                .default_service(web::to(not_found))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind { addr, source })?
        // Signals are ours (run_until_stopped drains before stopping actix,
        // see shutdown.rs); actix then only has idle connections to close.
        .disable_signals()
        .shutdown_timeout(ACTIX_SHUTDOWN_TIMEOUT);
        if workers > 0 {
            server = server.workers(workers);
        }
        tracing::info!(address = %local, database = %state_url(&db), "cellreg listening");
        Ok(Self {
            port: local.port(),
            server: server.run(),
            db,
            statements,
            stopping,
            shutdown_timeout,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside, e.g. at the end of a test.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The SQL statements the server runs: counted, and kept on demand.
    pub fn statement_log(&self) -> Arc<database::StatementLog> {
        self.statements.clone()
    }

    /// The pool the server uses.
    pub fn db(&self) -> DatabaseConnection {
        self.db.clone()
    }

    /// Serves until stopped by the handle, or by SIGTERM or SIGINT: then
    /// it accepts no new connection, answers the requests it has read,
    /// closes each connection after its answer and completes open
    /// subscriptions, for up to the shutdown timeout; then closes the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stopping = self.stopping.clone();
        let timeout = self.shutdown_timeout;
        let listening = tokio::spawn(async move {
            match shutdown::signal().await {
                Ok(name) => {
                    tracing::info!(signal = name, "stopping: answering the requests in flight");
                    stopping.begin();
                    handle.pause().await;
                    let settled = stopping.settled(std::time::Duration::from_millis(200));
                    if tokio::time::timeout(timeout, settled).await.is_err() {
                        tracing::warn!(?timeout, "stopping with requests still in flight");
                    }
                    handle.stop(true).await;
                }
                Err(err) => tracing::error!(error = %err, "cannot listen for stop signals"),
            }
        });
        let served = self.server.await;
        listening.abort();
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
        tracing::info!("cellreg stopped");
        served
    }
}

/// CORS for browser frontends on the configured origins: bearer tokens in
/// `Authorization`, never cookies, so no credentials mode; a preflight is
/// cached for an hour. Any other origin gets no CORS header, and the
/// browser keeps the answer from its page.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), RETRY_AFTER])
        .max_age(3600)
}

fn state_url(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgres",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// Turns a refused JSON body into a problem: 413 over the size limit, 415 for
/// another content type, 400 for anything unreadable.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app_error = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => body_too_large(*limit),
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType(
            "request body must be sent as Content-Type: application/json".to_owned(),
        ),
        JsonPayloadError::Deserialize(source) => {
            AppError::BadInput(format!("request body is not valid: {source}"))
        }
        _ => AppError::BadInput("request body could not be read".to_owned()),
    };
    actix_web::error::InternalError::from_response(
        err,
        actix_web::ResponseError::error_response(&app_error),
    )
    .into()
}

/// Middleware: a body declared as some JSON other than plain UTF-8
/// `application/json` (`application/json-patch+json`, `application/problem+json`,
/// `charset=utf-16`, …) is refused 415 before any handler reads it. actix
/// reads every `*/json` and `*+json` as JSON, and `JsonConfig` can only widen
/// that, so the narrowing is done here, once for GraphQL and REST alike.
/// Types that are no JSON at all are refused by `JsonConfig` (`json_error`).
async fn plain_json_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Ok(Some(declared)) = actix_web::HttpMessage::mime_type(&req)
        && reads_as_json(&declared)
        && !is_plain_json(&declared)
    {
        let refusal = AppError::UnsupportedMediaType(
            "request body must be sent as Content-Type: application/json (UTF-8)".to_owned(),
        );
        let response = actix_web::ResponseError::error_response(&refusal);
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// What actix's JSON extractor would read as JSON.
fn reads_as_json(declared: &Mime) -> bool {
    declared.subtype() == mime::JSON || declared.suffix() == Some(mime::JSON)
}

/// `application/json`, with no parameter but an optional `charset=utf-8`
/// (in any case).
fn is_plain_json(declared: &Mime) -> bool {
    declared.type_() == mime::APPLICATION
        && declared.subtype() == mime::JSON
        && declared.suffix().is_none()
        && declared.params().all(|(name, value)| {
            name == mime::CHARSET && value.as_str().eq_ignore_ascii_case("utf-8")
        })
}

async fn not_found() -> actix_web::HttpResponse {
    Problem::new(ErrorCode::NotFound, "no such route").response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_utf8_json_is_json() {
        for plain in [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON; Charset=\"UTF-8\"",
        ] {
            let declared: Mime = plain.parse().expect("media type");
            assert!(is_plain_json(&declared), "{plain}");
        }
        for other in [
            "application/json-patch+json",
            "application/problem+json",
            "application/json; charset=utf-16",
            "application/json; charset=iso-8859-1",
            "application/json; profile=x",
            "text/json",
        ] {
            let declared: Mime = other.parse().expect("media type");
            assert!(reads_as_json(&declared), "{other} reads as JSON to actix");
            assert!(!is_plain_json(&declared), "{other}");
        }
        let text: Mime = "text/plain".parse().expect("media type");
        assert!(!reads_as_json(&text), "left to JsonConfig");
    }
}
