//! The one error type of the domain, mapped once to GraphQL `extensions.code`
//! and once to HTTP `application/problem+json`.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;

/// Stable, machine-readable error codes shared by GraphQL and REST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadUserInput,
    NotFound,
    MethodNotAllowed,
    Forbidden,
    Unauthenticated,
    Conflict,
    LimitExceeded,
    RateLimited,
    UnsupportedMediaType,
    Unavailable,
    Internal,
}

impl ErrorCode {
    const ALL: [Self; 11] = [
        Self::BadUserInput,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Forbidden,
        Self::Unauthenticated,
        Self::Conflict,
        Self::LimitExceeded,
        Self::RateLimited,
        Self::UnsupportedMediaType,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The code named by `code` (as `as_str` writes it), if it is one.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Forbidden => "FORBIDDEN",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Conflict => "CONFLICT",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
            Self::RateLimited => "RATE_LIMITED",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }

    /// Whose the error is. The caller's is answered where it arose: in the
    /// item of a batch it concerns, the other items going on. The service's
    /// (UNAVAILABLE, INTERNAL: nothing the caller sent is wrong, and the same
    /// request may succeed later) fails the request as a whole: a GraphQL
    /// error, or a 503/500 problem in REST.
    pub fn owner(self) -> ErrorOwner {
        match self {
            Self::BadUserInput
            | Self::NotFound
            | Self::MethodNotAllowed
            | Self::Forbidden
            | Self::Unauthenticated
            | Self::Conflict
            | Self::LimitExceeded
            | Self::RateLimited
            | Self::UnsupportedMediaType => ErrorOwner::Caller,
            Self::Unavailable | Self::Internal => ErrorOwner::Service,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadUserInput => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::LimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Who an error belongs to (`ErrorCode::owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOwner {
    /// The request's input, the caller's rights or the registry's state:
    /// the same request fails the same way until something changes.
    Caller,
    /// The service or the moment: the request as a whole is retried.
    Service,
}

/// Every way a request can fail. Messages are safe to show to callers;
/// internal details stay in the log.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadInput(String),
    /// Bad input in one named field of the request (an argument, a
    /// variable or a path within one, e.g. `transfers[0].toOrganizationCode`).
    #[error("{field}: {message}")]
    Invalid {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with the registry's state that one named thing of the
    /// request causes (e.g. `hold`: the hold keeping the member in place).
    #[error("{field}: {message}")]
    ConflictOn {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("{0}")]
    LimitExceeded(String),
    /// Too many requests of one kind from one caller; try again after `retry_after` seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    /// The database broke the work off because of concurrent changes
    /// (deadlock, serialization failure, busy): nothing was applied.
    #[error("{0}")]
    Contention(String),
    /// A request refused whole because of some of its items, each named
    /// (e.g. the members a dissolution could not move).
    #[error("{message}")]
    Faults {
        field: &'static str,
        message: String,
        faults: Vec<Fault>,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// One item at fault in a request refused whole.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// The member concerned, when there is one.
    pub member_id: Option<i64>,
    /// The organization concerned, when there is one.
    pub organization_code: Option<String>,
    pub problem: String,
}

impl AppError {
    pub fn conflict_on(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::ConflictOn {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field at fault, when the error names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } | Self::ConflictOn { field, .. } => Some(field),
            Self::Faults { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadInput(_) | Self::Invalid { .. } | Self::Faults { .. } => {
                ErrorCode::BadUserInput
            }
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Conflict(_) | Self::ConflictOn { .. } => ErrorCode::Conflict,
            Self::LimitExceeded(_) => ErrorCode::LimitExceeded,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Unavailable(_) | Self::Contention(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Logs what the caller will not see: the whole chain of an internal error.
    fn log(&self) {
        if let Self::Internal(source) = self {
            tracing::error!(error = format!("{source:#}"), "internal error");
        }
    }
}

/// The refusal of a body over the size limit.
pub fn body_too_large(limit: usize) -> AppError {
    AppError::LimitExceeded(format!(
        "request body is larger than the limit of {limit} bytes"
    ))
}

/// Seconds an UNAVAILABLE answer asks the client to wait (`Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER: u64 = 1;

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Self::Conflict(
                    "a record with the same unique value already exists".to_owned(),
                );
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Self::BadInput(
                    "a referenced record does not exist or is still referenced".to_owned(),
                );
            }
            _ => {}
        }
        // PostgreSQL broke a deadlock or a serialization conflict, or SQLite
        // stayed busy past its timeout: nothing was applied and the same
        // request may simply run again.
        if matches!(
            database_code(&err).as_deref(),
            Some("40P01" | "40001" | "5" | "517")
        ) {
            return Self::Contention(
                "concurrent changes to the same records got in the way; nothing was applied, retry"
                    .to_owned(),
            );
        }
        // PostgreSQL cancelled the statement (the statement timeout, or an
        // administrator): its transaction is rolled back.
        if database_code(&err).as_deref() == Some("57014") {
            return Self::Unavailable(
                "the database did not answer within the statement timeout; nothing was changed, retry later"
                    .to_owned(),
            );
        }
        if connection_lost(&err) {
            // Not retried here: a commit cut off this way may have landed, and
            // only the caller's idempotency key can tell.
            return Self::Unavailable(
                "the connection to the database was lost; retry shortly".to_owned(),
            );
        }
        match err {
            DbErr::ConnectionAcquire(reason) => {
                if matches!(reason, sea_orm::error::ConnAcquireErr::Timeout) {
                    crate::metrics::count::pool_acquire_timed_out();
                }
                Self::Unavailable("the database is busy or unreachable; retry shortly".to_owned())
            }
            other => Self::Internal(other.into()),
        }
    }
}

/// The database went away under the request (restarted, network cut): the
/// broken connection is dropped by the pool and the next request gets a new one.
fn connection_lost(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, SqlxError};
    // SQLSTATE class 08 (connection exception) and 57P01–57P03 (the server
    // shutting down or terminating the session, or still starting up).
    if let Some(code) = database_code(err)
        && (code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03"))
    {
        return true;
    }
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            SqlxError::Io(_) | SqlxError::Tls(_) | SqlxError::PoolClosed | SqlxError::WorkerCrashed
        ),
        _ => false,
    }
}

/// The driver's SQLSTATE (PostgreSQL) or extended result code (SQLite).
fn database_code(err: &DbErr) -> Option<String> {
    use sea_orm::{RuntimeErr, SqlxError};
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                SqlxError::Database(db) => db.code().map(|code| code.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` says what went wrong.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status's reason phrase, e.g. `Not Found`.
    pub title: &'static str,
    /// The HTTP status of the answer.
    pub status: u16,
    /// What went wrong, for people; starts with the field's name when one is at fault.
    pub detail: String,
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// The request field at fault, when one is (as GraphQL's `extensions.field`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The items at fault when a request was refused whole because of some of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Seconds to wait before retrying (also in `Retry-After`), when rate-limited.
    #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = code.status();
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            faults: Vec::new(),
            retry_after: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.code.status());
        builder.content_type("application/problem+json");
        if self.code == ErrorCode::Unavailable {
            builder.insert_header(("Retry-After", UNAVAILABLE_RETRY_AFTER.to_string()));
        }
        if let Some(seconds) = self.retry_after {
            builder.insert_header(("Retry-After", seconds.to_string()));
        }
        if self.code == ErrorCode::Unauthenticated {
            builder.insert_header(("WWW-Authenticate", r#"Bearer error="invalid_token""#));
        }
        builder.json(self)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut problem = Problem::new(self.code(), self.to_string());
        problem.field = self.field().map(str::to_owned);
        if let Self::Faults { faults, .. } = self {
            problem.faults = faults.clone();
        }
        if let Self::RateLimited { retry_after, .. } = self {
            problem.retry_after = Some(*retry_after);
        }
        problem.response()
    }
}

impl async_graphql::ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        self.log();
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Self::Invalid { field, .. } | Self::ConflictOn { field, .. } => {
                    ext.set("field", field.as_ref())
                }
                Self::RateLimited { retry_after, .. } => ext.set("retryAfter", *retry_after),
                Self::Faults { field, faults, .. } => {
                    ext.set("field", *field);
                    let faults = faults
                        .iter()
                        .map(|fault| {
                            let mut item = async_graphql::indexmap::IndexMap::new();
                            if let Some(id) = fault.member_id {
                                item.insert(
                                    async_graphql::Name::new("memberId"),
                                    async_graphql::Value::String(id.to_string()),
                                );
                            }
                            if let Some(code) = &fault.organization_code {
                                item.insert(
                                    async_graphql::Name::new("organizationCode"),
                                    async_graphql::Value::String(code.clone()),
                                );
                            }
                            item.insert(
                                async_graphql::Name::new("problem"),
                                async_graphql::Value::String(fault.problem.clone()),
                            );
                            async_graphql::Value::Object(item)
                        })
                        .collect();
                    ext.set("faults", async_graphql::Value::List(faults));
                }
                _ => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::from(DbErr::Custom("SELECT secret FROM member".to_owned()));
        assert_eq!(err.code(), ErrorCode::Internal);
        assert_eq!(err.to_string(), "internal error");
    }

    #[test]
    fn codes_map_to_statuses_once() {
        assert_eq!(
            AppError::NotFound("member").code().status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            AppError::Unavailable("x".into()).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ErrorCode::BadUserInput.as_str(), "BAD_USER_INPUT");
        assert_eq!(ErrorCode::Conflict.owner(), ErrorOwner::Caller);
        assert_eq!(
            AppError::Contention("x".into()).code().owner(),
            ErrorOwner::Service
        );
        assert_eq!(ErrorCode::Internal.owner(), ErrorOwner::Service);
        assert_eq!(
            serde_json::to_value(ErrorCode::LimitExceeded).ok(),
            Some(serde_json::json!("LIMIT_EXCEEDED"))
        );
    }
}
