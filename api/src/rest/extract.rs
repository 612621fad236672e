//! The REST extractors of query strings and JSON bodies: a value that does
//! not fit is refused as BAD_USER_INPUT naming the parameter or body path at
//! fault (`limit`, `events[0].effectiveAt`) and saying why, rather than
//! with the framework's text. Content type and size stay `JsonConfig`'s.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Query parameters, read like `web::Query`.
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = url::form_urlencoded::parse(req.query_string().as_bytes());
        let deserializer = serde_urlencoded::Deserializer::new(pairs);
        std::future::ready(
            serde_path_to_error::deserialize(deserializer)
                .map(Query)
                .map_err(|err| refusal("query parameter", err)),
        )
    }
}

/// A JSON body, read like `web::Json` (`JsonConfig`'s content type and size
/// rules and refusals), then into `T` with the path of any misfit.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            serde_path_to_error::deserialize(value)
                .map(Json)
                .map_err(|err| refusal("body", err).into())
        })
    }
}

/// The refusal of a value that did not fit, naming where it was: the path
/// serde reached (an unknown field's own name included), completed by the
/// name of a missing field.
fn refusal<E: std::fmt::Display>(whole: &str, err: serde_path_to_error::Error<E>) -> AppError {
    let message = err.inner().to_string();
    let mut field = err.path().to_string();
    if field == "." {
        field.clear();
    }
    if let Some(name) = named_field(&message) {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    if field.is_empty() {
        AppError::BadInput(format!("the {whole} is not valid: {message}"))
    } else {
        AppError::invalid(field, message)
    }
}

/// The field serde names in "missing field `x`".
fn named_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Item {
        #[allow(dead_code)]
        to_code: String,
        #[allow(dead_code)]
        limit: Option<i32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch {
        #[allow(dead_code)]
        events: Vec<Item>,
    }

    fn field_of(value: serde_json::Value) -> Option<String> {
        let err = serde_path_to_error::deserialize::<_, Batch>(value).expect_err("refused");
        refusal("body", err).field().map(str::to_owned)
    }

    #[test]
    fn misfits_name_their_body_path() {
        use serde_json::json;
        assert_eq!(
            field_of(json!({"events": [{"toCode": "A"}, {"toCode": "B", "limit": "x"}]})),
            Some("events[1].limit".to_owned())
        );
        assert_eq!(
            field_of(json!({"events": [{"toCode": "A", "submitter": "x"}]})),
            Some("events[0].submitter".to_owned())
        );
        assert_eq!(
            field_of(json!({"events": [{}]})),
            Some("events[0].toCode".to_owned())
        );
        assert_eq!(field_of(json!({})), Some("events".to_owned()));
    }

    #[test]
    fn query_misfits_name_their_parameter() {
        let pairs = url::form_urlencoded::parse(b"toCode=A&limit=abc");
        let err =
            serde_path_to_error::deserialize::<_, Item>(serde_urlencoded::Deserializer::new(pairs))
                .expect_err("refused");
        let refused = refusal("query parameter", err);
        assert_eq!(refused.field(), Some("limit"));
        assert!(refused.to_string().contains("invalid digit"), "{refused}");
    }
}
