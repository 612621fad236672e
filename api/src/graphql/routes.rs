//! `POST /graphql` (JSON only, size-capped, no batching), the GraphiQL page
//! at `GET /graphql`, and the SDL at `GET /graphql/schema.graphql`.

use actix_web::{HttpResponse, web};
use async_graphql::http::GraphiQLSource;

use super::AppSchema;
use crate::auth::Ctx;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(execute))
            .route(web::get().to(graphiql)),
    )
    .route("/graphql/schema.graphql", web::get().to(schema_sdl));
}

/// Executes one operation. The body must be `application/json` and within
/// the size limit (`web::JsonConfig` in startup enforces both); an array of
/// operations is refused, since batching multiplies every other limit.
async fn execute(
    schema: web::Data<AppSchema>,
    state: web::Data<crate::state::AppState>,
    caller: Ctx,
    request: web::Json<async_graphql::Request>,
) -> HttpResponse {
    let loaders = super::loaders::new_loaders(state.db.clone());
    let response = schema
        .execute(
            request
                .into_inner()
                .data(caller)
                .data(loaders)
                .data(super::RequestTime(crate::clock::now())),
        )
        .await;
    HttpResponse::Ok().json(response)
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("cellreg GraphiQL")
                .finish(),
        )
}

/// The SDL, for authenticated callers like every other request but the health checks.
async fn schema_sdl(schema: web::Data<AppSchema>, _caller: Ctx) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(schema.sdl())
}
