//! Logging and the request context: `RUST_LOG` picks what is logged (default
//! `info`), `--log-format` how. Logs go to standard error so commands can
//! print results on standard output. Every request gets an id, answered in
//! `x-request-id` and carried by its log lines and audit rows.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. A malformed `RUST_LOG` is an error, not a
/// silent fallback. Calling it twice keeps the first subscriber.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .map_err(|err| format!("invalid RUST_LOG `{directives}`: {err}"))?,
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Err only means a subscriber is already installed (tests start many servers).
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    Ok(())
}

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's id is kept if it is 1–64 of A-Z a-z 0-9 . _ -; anything else is replaced.
fn well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware: assigns the request id, opens the request's span and logs
/// its end. It logs the route pattern, never the raw path, which may hold a national ID.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| well_formed(value))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request finished"
        );
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_from_callers_are_checked() {
        assert!(super::well_formed("3f2a-01.b_c"));
        assert!(!super::well_formed(""));
        assert!(!super::well_formed("a b"));
        assert!(!super::well_formed("x\r\nSet-Cookie: y"));
        assert!(!super::well_formed(&"a".repeat(65)));
    }
}
