//! Prometheus metrics at `GET /metrics`, through the `metrics` facade and its
//! Prometheus exporter. Counters are bumped where things happen (the
//! request middleware, the GraphQL pipeline, the unit of work, the rate
//! limits); gauges that describe state (the pool, the feed head, open
//! subscriptions) are read when scraped. Labels are closed sets or route
//! patterns: never a raw path, a national ID or a token.

pub mod count;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use async_graphql::Response;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ColumnTrait, EntityTrait, QuerySelect};

use crate::error::ErrorCode;
use crate::state::AppState;
use count::{MUTATIONS, POOL_ACQUIRE_TIMEOUTS, RATE_LIMITED, TRANSFERS};

const HTTP_REQUESTS: &str = "cellreg_http_requests_total";
const HTTP_DURATION: &str = "cellreg_http_request_duration_seconds";
const GRAPHQL_OPERATIONS: &str = "cellreg_graphql_operations_total";
const FEED_HEAD: &str = "cellreg_feed_head_sequence";
const POOL_CONNECTIONS: &str = "cellreg_db_pool_connections";
const POOL_MAX: &str = "cellreg_db_pool_max_connections";
const SUBSCRIPTIONS_OPEN: &str = "cellreg_graphql_subscriptions_open";
const WEBSOCKETS_OPEN: &str = "cellreg_websockets_open";

/// Request latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// How often histogram samples are folded in between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// How long a scrape waits for the feed head before leaving it out.
const FEED_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// The process-wide recorder: the `metrics` facade has one global recorder,
/// installed by the first server built with metrics on.
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    std::thread::Builder::new()
                        .name("metrics-upkeep".to_owned())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(UPKEEP_EVERY);
                                upkeep.run_upkeep();
                            }
                        })
                        .ok()?;
                    describe();
                    Some(handle)
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot install the metrics recorder; /metrics is off");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route pattern, method and status"
    );
    describe_counter!(
        GRAPHQL_OPERATIONS,
        "GraphQL operations, by operation name (or anonymous), outcome and error code"
    );
    describe_counter!(
        MUTATIONS,
        "Mutations run as units of work, by action, audit outcome and error code"
    );
    describe_counter!(
        TRANSFERS,
        "Transfers submitted, by outcome (APPLIED, DUPLICATE, REJECTED) and error code"
    );
    describe_counter!(
        RATE_LIMITED,
        "Requests refused by a per-caller limit, by limit"
    );
    describe_gauge!(FEED_HEAD, "Sequence of the newest event in the change feed");
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections, by state (idle, in_use)"
    );
    describe_gauge!(POOL_MAX, "Most connections the database pool opens");
    describe_counter!(
        POOL_ACQUIRE_TIMEOUTS,
        "Requests that waited for a database connection past the acquire timeout"
    );
    // Shown at 0 from the start: its absence would hide that none happened.
    counter!(POOL_ACQUIRE_TIMEOUTS).increment(0);
    describe_gauge!(SUBSCRIPTIONS_OPEN, "GraphQL subscriptions open");
    describe_gauge!(WEBSOCKETS_OPEN, "WebSockets open");
}

/// Adds `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::methods::resource("/metrics", "GET, HEAD").route(crate::methods::get().to(scrape)),
    );
}

/// The metrics in Prometheus text format, with the state gauges read now.
async fn scrape(state: web::Data<AppState>, handle: web::Data<PrometheusHandle>) -> HttpResponse {
    read_state_gauges(&state).await;
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// Reads the state gauges; the one that waits for the database first, so the
/// others are set right before rendering.
async fn read_state_gauges(state: &AppState) {
    let db = &state.db;
    let head = entity::transfer_event::Entity::find()
        .select_only()
        .column_as(entity::transfer_event::Column::Sequence.max(), "head")
        .into_tuple::<Option<i64>>()
        .one(db);
    match tokio::time::timeout(FEED_HEAD_TIMEOUT, head).await {
        Ok(Ok(head)) => gauge!(FEED_HEAD).set(head.flatten().unwrap_or(0) as f64),
        Ok(Err(err)) => tracing::warn!(error = %err, "metrics: cannot read the feed head"),
        Err(_) => tracing::warn!("metrics: the feed head did not come in time"),
    }
    let pool = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ))
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ))
        }
        _ => None,
    };
    if let Some((size, idle, max)) = pool {
        let idle = u32::try_from(idle).unwrap_or(size).min(size);
        gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(size - idle));
        gauge!(POOL_MAX).set(f64::from(max));
    }
    gauge!(SUBSCRIPTIONS_OPEN).set(state.subscriptions.total_open() as f64);
    gauge!(WEBSOCKETS_OPEN).set(state.websockets.total_open() as f64);
}

/// The method as a label: the standard ones by name, anything else `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: counts and times every request by its route pattern (the
/// pattern, never the path, which may hold a national ID).
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status.as_str().to_owned()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// An operation name as a label: a GraphQL name of at most 64 characters
/// with no run of more than four digits (so no ID can pass), else `other`.
fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let mut digits = 0;
    let mut longest_digits = 0;
    for c in name.chars() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        longest_digits = longest_digits.max(digits);
    }
    let is_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_name && name.len() <= 64 && longest_digits <= 4 {
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts one GraphQL operation, over HTTP or WebSocket, with the code of
/// its first error (`graphql::pipeline` calls it once per operation).
pub fn count_graphql_operation(name: Option<&str>, response: &Response) {
    let (outcome, code) = match response.errors.first() {
        None => ("ok", "none"),
        Some(error) => (
            "error",
            crate::graphql::error_codes::code_of(error).map_or("other", ErrorCode::as_str),
        ),
    };
    counter!(GRAPHQL_OPERATIONS,
        "operation" => operation_label(name), "outcome" => outcome, "code" => code)
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_never_carry_an_id() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("MoveMember")), "MoveMember");
        assert_eq!(operation_label(Some("report2024")), "report2024");
        assert_eq!(operation_label(Some("m_001080000001")), "other");
        assert_eq!(operation_label(Some(&"a".repeat(65))), "other");
        assert_eq!(operation_label(Some("not a name")), "other");
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let custom = Method::from_bytes(b"X001080000001").expect("method");
        assert_eq!(method_label(&custom), "OTHER");
    }
}
