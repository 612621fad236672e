//! `POST /graphql` (JSON only, size-capped, no batching), the GraphiQL page
//! at `GET /graphql`, and the SDL at `GET /graphql/schema.graphql`.

use actix_web::{HttpRequest, HttpResponse, guard, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLSubscription;

use super::AppSchema;
use crate::auth::Ctx;
use crate::methods;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/graphql", "GET, HEAD, POST")
            .route(web::post().to(execute))
            .route(
                web::get()
                    .guard(guard::Header("upgrade", "websocket"))
                    .to(subscribe),
            )
            .route(methods::get().to(graphiql)),
    )
    .service(
        methods::resource("/graphql/schema.graphql", "GET, HEAD")
            .route(methods::get().to(schema_sdl)),
    );
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
                .data(super::RequestTime::new(crate::clock::now())),
        )
        .await;
    match retry_after(&response) {
        // Refused by the mutation rate limit: said in HTTP too, for clients and proxies.
        Some(seconds) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", seconds.to_string()))
            .json(response),
        None => HttpResponse::Ok().json(response),
    }
}

/// The wait of a RATE_LIMITED answer (`extensions.retryAfter`), if it is one.
fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    let extensions = response.errors.first()?.extensions.as_ref()?;
    match (extensions.get("code"), extensions.get("retryAfter")) {
        (Some(async_graphql::Value::String(code)), Some(async_graphql::Value::Number(seconds)))
            if code == crate::error::ErrorCode::RateLimited.as_str() =>
        {
            seconds.as_u64()
        }
        _ => None,
    }
}

/// Subscriptions over WebSocket (graphql-transport-ws, and the older
/// graphql-ws). The token comes in the `connection_init` payload, as
/// `{"Authorization": "Bearer <token>"}`; without a valid one the connection
/// is refused and nothing is streamed.
async fn subscribe(
    schema: web::Data<AppSchema>,
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let request_id = crate::auth::extract::request_id(&req);
    let address = crate::auth::extract::client_address(&req);
    let state = state.get_ref().clone();
    GraphQLSubscription::new(schema.get_ref().clone())
        .on_connection_init(move |init| async move {
            let token = crate::auth::extract::token_from_init_payload(&init);
            let origin = crate::auth::extract::Origin {
                request_id,
                address,
            };
            let caller = crate::auth::extract::authenticate_token(&state, token, origin)
                .await
                .map_err(|err| async_graphql::Error::new(err.to_string()))?;
            let mut data = async_graphql::Data::default();
            data.insert(caller);
            data.insert(super::loaders::uncached_loaders(state.db.clone()));
            Ok(data)
        })
        .start(&req, payload)
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
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
