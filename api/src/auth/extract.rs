//! Authenticating a request: bearer token → verified claims → `Principal`
//! with its scope resolved → `Ctx`. A refusal is answered 401 and written to
//! the audit log.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use super::jwt::TokenError;
use super::{Ctx, Principal};
use crate::audit::service::{self as audit, Entry, Outcome};
use crate::error::{AppError, ErrorCode};
use crate::organizations::service as organizations;
use crate::state::AppState;
use crate::telemetry::RequestId;

fn bearer_token(req: &HttpRequest) -> Result<&str, TokenError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?;
    let value = header.to_str().map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    Ok(token.trim())
}

/// The request's id, as the request-context middleware assigned it.
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| "unknown".to_owned(), |id| id.0.clone())
}

/// Verifies the caller of a request.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Ctx, AppError> {
    let origin = Origin {
        request_id: request_id(req),
        address: client_address(req),
    };
    authenticate_token(state, bearer_token(req), origin).await
}

/// The address the connection comes from (not a forwarded-for header, which
/// the client writes itself).
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|peer| peer.ip())
}

/// Where a token came from: the request's id and the client's address.
pub struct Origin {
    pub request_id: String,
    pub address: Option<IpAddr>,
}

/// Verifies a bearer token (or the reason there is none) and resolves its scope.
pub async fn authenticate_token(
    state: &AppState,
    token: Result<&str, TokenError>,
    origin: Origin,
) -> Result<Ctx, AppError> {
    let Origin {
        request_id,
        address,
    } = origin;
    let claims = match token.and_then(|token| state.verifier.verify(token)) {
        Ok(claims) => claims,
        Err(reason) => return Err(refuse(state, &request_id, address, None, reason).await),
    };
    let scope = match &claims.org {
        None => None,
        Some(code) => match organizations::resolve_scope(&state.db, code).await? {
            Some(scope) => Some(scope),
            None => {
                return Err(refuse(
                    state,
                    &request_id,
                    address,
                    Some(&claims.subject),
                    TokenError::UnknownScope,
                )
                .await);
            }
        },
    };
    let principal = Principal {
        subject: claims.subject,
        role: claims.role,
        scope,
    };
    Ok(Ctx {
        principal,
        request_id,
        expires_at: claims.expires_at,
    })
}

/// The token of a graphql-transport-ws `connection_init` payload:
/// `{"Authorization": "Bearer <token>"}` (any case) or `{"token": "<token>"}`.
pub fn token_from_init_payload(payload: &serde_json::Value) -> Result<&str, TokenError> {
    let object = payload.as_object().ok_or(TokenError::Missing)?;
    for (key, value) in object {
        if key.eq_ignore_ascii_case("authorization") {
            let value = value.as_str().ok_or(TokenError::Malformed)?;
            let (scheme, token) = value.split_once(' ').ok_or(TokenError::Missing)?;
            return if scheme.eq_ignore_ascii_case("bearer") {
                Ok(token.trim())
            } else {
                Err(TokenError::Missing)
            };
        }
    }
    object
        .get("token")
        .and_then(serde_json::Value::as_str)
        .ok_or(TokenError::Missing)
}

async fn refuse(
    state: &AppState,
    request_id: &str,
    address: Option<IpAddr>,
    subject: Option<&str>,
    reason: TokenError,
) -> AppError {
    // Past the address's limit of failures: told to wait, and no audit row,
    // so that a flood of bad tokens does not become a flood of writes.
    if let Err(limited) = state.rate_limits.auth_failure(address) {
        tracing::info!(%reason, "authentication refused; failures rate limit reached");
        return limited;
    }
    tracing::info!(%reason, "authentication refused");
    let entry = Entry {
        subject: subject.map(str::to_owned),
        role: None,
        action: "authenticate".to_owned(),
        target: None,
        outcome: Outcome::Denied,
        error_code: Some(ErrorCode::Unauthenticated),
        request_id: Some(request_id.to_owned()),
        scope_path: None,
    };
    audit::append_alone(&state.db, entry).await;
    AppError::Unauthenticated(reason.to_string())
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            authenticate(state, &req).await
        })
    }
}
