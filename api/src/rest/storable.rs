//! Text the databases cannot store (`crate::text`) refused for every REST
//! request under `/api/v1` before its handler runs: path segments, query
//! parameters and JSON bodies.

use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ResourceDef, ServiceRequest, ServiceResponse, Url};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest};

use crate::audit::service::{self as audit, Entry, Outcome};
use crate::auth::Ctx;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::text::{Nul, first_nul, nul_in};

/// Refuses a request holding NUL as BAD_USER_INPUT, the problem's `field`
/// naming the path parameter (`code`), query parameter or body path
/// (`events[0].toOrganizationCode`). The caller is authenticated first, as
/// any request is; a refused POST is an attempted mutation: it counts
/// against the rate limit and appends a FAILED audit row, its route as
/// the action and the offending text as target.
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let found = match nul_in_url(req.request()) {
        Some(nul) => Some(nul),
        None => match nul_in_body(&mut req).await {
            Ok(found) => found,
            Err(unreadable) => return Ok(req.error_response(unreadable).map_into_right_body()),
        },
    };
    let Some(nul) = found else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let refusal = refuse(&mut req, nul).await;
    Ok(req.error_response(refusal).map_into_right_body())
}

async fn refuse(req: &mut ServiceRequest, nul: Nul) -> AppError {
    let caller = match req.extract::<Ctx>().await {
        Ok(caller) => caller,
        Err(unauthenticated) => return unauthenticated,
    };
    tracing::info!(field = %nul.field, "input with NUL refused");
    if req.method() == actix_web::http::Method::POST
        && let Some(state) = req.app_data::<web::Data<AppState>>()
    {
        if let Err(limited) = state.rate_limits.mutation(&caller.principal.subject) {
            return limited;
        }
        let action = format!(
            "{} {}",
            req.method(),
            req.match_pattern().unwrap_or_else(|| req.path().to_owned())
        );
        let code = ErrorCode::BadUserInput;
        let entry = Entry::for_caller(
            &caller,
            &action,
            &nul.text,
            Outcome::of_error(code),
            Some(code),
        );
        audit::append_alone(&state.db, entry).await;
    }
    nul.into()
}

/// NUL in the percent-decoded path, named by the route's parameter when the
/// path matches a route, and in the query parameters, named by their keys.
fn nul_in_url(req: &HttpRequest) -> Option<Nul> {
    let mut path = actix_web::dev::Path::new(Url::new(req.uri().clone()));
    let in_path = if path.as_str().contains('\0') {
        let named = req
            .match_pattern()
            .is_some_and(|pattern| ResourceDef::new(pattern).capture_match_info(&mut path));
        let by_parameter = named
            .then(|| path.iter().find_map(|(name, value)| nul_in(name, value)))
            .flatten();
        by_parameter.or_else(|| nul_in("path", path.as_str()))
    } else {
        None
    };
    in_path.or_else(|| {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find_map(|(key, value)| nul_in("query", &key).or_else(|| nul_in(&key, &value)))
    })
}

/// NUL in a JSON body. The body is read whole (within the body limit) and
/// handed on unchanged; a body that is not JSON is left to the handler's
/// extractor to refuse.
async fn nul_in_body(req: &mut ServiceRequest) -> Result<Option<Nul>, AppError> {
    let content_type = req.content_type();
    if content_type != "application/json" && !content_type.ends_with("+json") {
        return Ok(None);
    }
    let body =
        req.extract::<Bytes>()
            .await
            .map_err(|err| match err.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => {
                    let limit = req
                        .app_data::<web::Data<AppState>>()
                        .map_or(0, |state| state.config.max_body_bytes);
                    crate::error::body_too_large(limit)
                }
                _ => AppError::BadInput("request body could not be read".to_owned()),
            })?;
    let found = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| first_nul("", &value));
    let stream: Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::once(std::future::ready(Ok(body))));
    req.set_payload(Payload::from(stream));
    Ok(found)
}
