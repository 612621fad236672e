//! REST routes: health checks now, the `/api/v1` resources as they arrive.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::{ErrorCode, Problem};
use crate::state::AppState;

/// How long `/readyz` waits for the database before calling it unavailable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// The process is up and answering.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers: ready for traffic. 503 otherwise.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(READINESS_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" })),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check: database did not answer");
            Problem::new(ErrorCode::Unavailable, "the database does not answer").response()
        }
        Err(_) => {
            tracing::warn!("readiness check: database timed out");
            Problem::new(
                ErrorCode::Unavailable,
                "the database did not answer in time",
            )
            .response()
        }
    }
}
