//! REST routes: health checks now, the `/api/v1` resources as they arrive.

mod storable;

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// The REST API's OpenAPI 3.1 document, generated from the handlers and their types.
#[derive(OpenApi)]
#[openapi(
    info(title = "cellreg REST API", description = "Transfer events in, the change feed out, and the lookups integration scripts need."),
    paths(
        crate::transfers::rest::submit_events,
        crate::transfers::rest::feed,
        crate::members::rest::membership,
        crate::members::rest::active_members,
        crate::letters::rest::issue_letter,
        crate::letters::rest::receive_letter,
        crate::letters::rest::cancel_letter,
        crate::letters::rest::list_letters,
    ),
    components(schemas(crate::error::Problem, crate::error::ErrorCode)),
    modifiers(&BearerAuth, &ProblemResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Error answers as they are sent: every `Problem` body is
/// `application/problem+json` (handlers document it with `body = Problem`,
/// which utoipa writes as JSON); every operation may answer 503 when the
/// database cannot, and one that reads a body 415 for another content type.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response
                        && let Some(json) = response.content.get("application/json")
                        && matches!(&json.schema, Some(RefOr::Ref(schema)) if schema.ref_location.ends_with("/Problem"))
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response
                            .content
                            .insert("application/problem+json".to_owned(), content);
                    }
                }
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(description)
                                    .content("application/problem+json", problem())
                                    .build(),
                            )
                        });
                };
                add(
                    "503",
                    "The database did not answer in time; nothing changed, retry after `Retry-After` seconds",
                );
                if operation.request_body.is_some() {
                    add(
                        "415",
                        "The body is not sent as `Content-Type: application/json`; nothing applied",
                    );
                }
            }
        }
    }
}

/// The OpenAPI document, for authenticated callers like every other request but the health checks.
async fn openapi(_caller: crate::auth::Ctx) -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
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
