//! REST routes: health checks now, the `/api/v1` resources as they arrive.

pub mod closed_sets;
pub mod extract;
pub mod openapi;
mod storable;

pub use closed_sets::closed_set_values;
pub use openapi::ApiDoc;

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use utoipa::OpenApi;

use crate::error::{ErrorCode, Problem};
use crate::methods;
use crate::state::AppState;

/// How long `/readyz` waits for the database before calling it unavailable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::resource("/healthz", "GET, HEAD").route(methods::get().to(healthz)))
        .service(methods::resource("/readyz", "GET, HEAD").route(methods::get().to(readyz)))
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(storable::refuse_nul))
                .configure(crate::transfers::rest::configure)
                .configure(crate::members::rest::configure)
                .configure(crate::letters::rest::configure)
                .service(
                    methods::resource("/openapi.json", "GET, HEAD")
                        .route(methods::get().to(openapi)),
                )
                .service(
                    methods::resource("/docs", "GET, HEAD")
                        .route(methods::get().to(crate::docs::api_docs)),
                ),
        );
}

/// The REST API's OpenAPI document, as served and exported.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document, served without a token: it describes the
/// interface and holds no data (generators such as openapi-python-client
/// fetch it by URL).
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
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
