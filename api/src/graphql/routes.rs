//! `POST /graphql` (JSON only, size-capped, no batching), the GraphiQL page
//! at `GET /graphql`, and the SDL at `GET /graphql/schema.graphql`.

use actix_web::{HttpRequest, HttpResponse, guard, web};

use super::{Pipeline, websocket};
use crate::auth::Ctx;
use crate::error::{AppError, ErrorCode};
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
            .route(methods::get().to(crate::docs::graphiql)),
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
    pipeline: web::Data<Pipeline>,
    state: web::Data<crate::state::AppState>,
    caller: Ctx,
    request: web::Json<async_graphql::Request>,
) -> HttpResponse {
    let loaders = super::loaders::new_loaders(state.db.clone());
    let request = request
        .into_inner()
        .data(loaders)
        .data(super::RequestTime::new(crate::clock::now()));
    let response = pipeline.execute(request, Some(caller)).await;
    if let Some(seconds) = retry_after(&response) {
        // Refused by the mutation rate limit: said in HTTP too, for clients and proxies.
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", seconds.to_string()))
            .json(response);
    }
    if response
        .errors
        .iter()
        .any(|error| super::error_codes::code_of(error) == Some(ErrorCode::LimitExceeded))
    {
        // Past a limit of the request (a batch's items, the document's
        // size, depth or cost): the 413 REST answers for the same limit,
        // with nothing run or applied.
        return HttpResponse::PayloadTooLarge().json(response);
    }
    if response.errors.iter().any(super::limits::is_unavailable) {
        // The database could not answer in time: the client should come back.
        return HttpResponse::ServiceUnavailable()
            .insert_header((
                "Retry-After",
                crate::error::UNAVAILABLE_RETRY_AFTER.to_string(),
            ))
            .json(response);
    }
    HttpResponse::Ok().json(response)
}

/// The wait of a RATE_LIMITED answer (`extensions.retryAfter`), if it is one.
fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    let error = response.errors.first()?;
    if super::error_codes::code_of(error) != Some(ErrorCode::RateLimited) {
        return None;
    }
    match error.extensions.as_ref()?.get("retryAfter")? {
        async_graphql::Value::Number(seconds) => seconds.as_u64(),
        _ => None,
    }
}

/// Subscriptions over WebSocket (graphql-transport-ws, and the older
/// graphql-ws). The token comes in the `connection_init` payload, as
/// `{"Authorization": "Bearer <token>"}`; without a valid one in time the
/// socket is closed and nothing is streamed (`websocket` holds the rules).
/// An address past its limit of open sockets is refused before the upgrade.
async fn subscribe(
    pipeline: web::Data<Pipeline>,
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let protocol = websocket::protocol(&req)?;
    let address = crate::auth::extract::client_address(&req);
    let slot = state.websockets.open(address).inspect_err(|_| {
        tracing::info!(?address, "WebSocket limit of the address reached");
    })?;
    let origin = crate::auth::extract::Origin {
        request_id: crate::auth::extract::request_id(&req),
        address,
    };
    let (response, session, messages) =
        actix_ws::handle_with_protocols(&req, payload, &[protocol.sec_websocket_protocol()])
            .map_err(|err| AppError::BadInput(format!("not a WebSocket upgrade: {err}")))?;
    // A message may be as large as a request body, and no larger.
    let max_message = state.config.max_body_bytes;
    let messages = messages
        .max_frame_size(max_message)
        .aggregate_continuations()
        .max_continuation_size(max_message);
    // The socket outlives this request, so its logs get a span of their own.
    let span =
        tracing::info_span!("websocket", request_id = %origin.request_id, address = ?address);
    let connection = websocket::Connection {
        pipeline: pipeline.get_ref().clone(),
        state: state.get_ref().clone(),
        origin,
        protocol,
        session,
        messages,
        slot,
    };
    actix_web::rt::spawn(tracing::Instrument::instrument(
        websocket::serve(connection),
        span,
    ));
    Ok(response)
}

/// The SDL, served without a token: it is the published contract and holds no data.
async fn schema_sdl(pipeline: web::Data<Pipeline>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(super::sdl_of(pipeline.schema()))
}
