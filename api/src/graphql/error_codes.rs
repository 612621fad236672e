//! Every GraphQL error carries an `extensions.code` from the closed list
//! (`ErrorCode`). Errors of cellreg's own carry theirs from `AppError`;
//! async-graphql raises its own without one, and its `ServerError` has no
//! kind to tell them apart, so they are classified here by where they
//! arose: at parsing (`unparsable`: bad text BAD_USER_INPUT, past the
//! parser's nesting LIMIT_EXCEEDED), at validation (BAD_USER_INPUT; the
//! depth and row-budget limits LIMIT_EXCEEDED), choosing the operation
//! (BAD_USER_INPUT), or in a field's resolver (INTERNAL: every resolver's
//! own refusal has a code, so one without is a fault of ours). The pipeline
//! (`pipeline`) applies them to every answer. Messages are kept, but an
//! INTERNAL one's, which goes to the log only.

use async_graphql::{Response, ServerError};

use crate::error::{AppError, ErrorCode};

/// async-graphql's messages for the two limits its validation checks (the
/// schema's row budget and depth, `build_schema`): the request's fault,
/// LIMIT_EXCEEDED. Its errors have no kind, only these messages.
const LIBRARY_LIMITS: [&str; 2] = ["Query is too complex.", "Query is nested too deep."];

/// A request-level refusal as GraphQL reports it: message and `extensions`
/// (code, and `retryAfter` when rate-limited), no location.
pub(super) fn refusal(err: &crate::error::AppError) -> async_graphql::ServerError {
    let error = async_graphql::ErrorExtensions::extend(err);
    let mut refusal = async_graphql::ServerError::new(error.message, None);
    refusal.extensions = error.extensions;
    refusal
}

/// The code a GraphQL error carries, if it is one of the closed list: the
/// one reading of `extensions.code` for routes, limits and metrics.
pub fn code_of(error: &ServerError) -> Option<ErrorCode> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => ErrorCode::parse(code),
        async_graphql::Value::Enum(code) => ErrorCode::parse(code.as_str()),
        _ => None,
    }
}

fn set_code(mut error: ServerError, code: ErrorCode) -> ServerError {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

/// Text the parser refused: past its nesting limit LIMIT_EXCEEDED, else
/// BAD_USER_INPUT, with the parser's message and position.
pub(super) fn unparsable(error: async_graphql::parser::Error) -> ServerError {
    let code = match error {
        async_graphql::parser::Error::RecursionLimitExceeded => ErrorCode::LimitExceeded,
        _ => ErrorCode::BadUserInput,
    };
    set_code(ServerError::from(error), code)
}

/// Gives each error left without a code its code.
pub(super) fn with_codes(mut response: Response) -> Response {
    response.errors = response.errors.into_iter().map(with_code).collect();
    response
}

fn with_code(error: ServerError) -> ServerError {
    if code_of(&error).is_some() {
        return error;
    }
    if error.path.is_empty() && LIBRARY_LIMITS.contains(&error.message.as_str()) {
        return set_code(error, ErrorCode::LimitExceeded);
    }
    if error.path.is_empty() {
        // Refused before any field ran (validation, choosing the operation,
        // a subscription sent over POST): the request's fault.
        return set_code(error, ErrorCode::BadUserInput);
    }
    if error.message.starts_with("Failed to parse \"") {
        // An argument literal its type cannot hold (an `Int` past 32 bits)
        // is found only when its field runs: still the request's fault.
        return set_code(error, ErrorCode::BadUserInput);
    }
    // Answered as every internal error is: its message in the log only.
    let cause = AppError::Internal(anyhow::anyhow!(
        "a field failed without an error code at {:?}: {}",
        error.path,
        error.message
    ));
    let internal = async_graphql::ErrorExtensions::extend(&cause);
    ServerError {
        message: internal.message,
        extensions: internal.extensions,
        ..error
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, Request, ServerError, Variables};
    use serde_json::json;

    use super::with_code;
    use crate::graphql::{MAX_DEPTH, MAX_DIRECTIVES, MAX_RECURSIVE_DEPTH};

    /// Message and code of each error the schema answers.
    async fn errors(query: &str, variables: serde_json::Value) -> Vec<(String, String)> {
        errors_of(Request::new(query).variables(Variables::from_json(variables))).await
    }

    async fn errors_of(request: Request) -> Vec<(String, String)> {
        let response = crate::graphql::Pipeline::new(crate::graphql::build_schema(None), None)
            .execute(request, None)
            .await;
        response
            .errors
            .into_iter()
            .map(|error| {
                let code = error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get("code"))
                    .map(|code| code.to_string().trim_matches('"').to_owned())
                    .unwrap_or_default();
                (error.message, code)
            })
            .collect()
    }

    fn codes(errors: &[(String, String)]) -> Vec<&str> {
        errors.iter().map(|(_, code)| code.as_str()).collect()
    }

    /// `{ organization(code: "x") { parent { … id … } } }`, `levels` parents deep.
    fn nested(levels: usize) -> String {
        format!(
            "{{ organization(code: \"x\") {{ {}id{} }} }}",
            "parent { ".repeat(levels),
            " }".repeat(levels)
        )
    }

    #[tokio::test]
    async fn unparsable_text_is_bad_user_input() {
        let answer = errors("{ version ", json!({})).await;
        assert_eq!(codes(&answer), ["BAD_USER_INPUT"], "{answer:?}");
        assert!(
            answer[0].0.contains("expected"),
            "the parser's message: {answer:?}"
        );
    }

    #[tokio::test]
    async fn wrongly_typed_variables_are_bad_user_input() {
        let query = "query($first: Int) { members(first: $first) { totalCount } }";
        for value in [json!("ten"), json!(3_000_000_000_i64), json!(1.5)] {
            let answer = errors(query, json!({ "first": value })).await;
            assert!(!answer.is_empty(), "{value} refused");
            assert!(
                codes(&answer).iter().all(|code| *code == "BAD_USER_INPUT"),
                "{value}: {answer:?}"
            );
        }
        let query = "query($status: MemberStatus) { members(status: $status) { totalCount } }";
        let answer = errors(query, json!({ "status": "RETIRED" })).await;
        assert!(!answer.is_empty(), "an unknown enum value refused");
        assert!(
            codes(&answer).iter().all(|code| *code == "BAD_USER_INPUT"),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn choosing_no_operation_is_bad_user_input() {
        let answer = errors_of(Request::new("{ version }").operation_name("Other")).await;
        assert_eq!(codes(&answer), ["BAD_USER_INPUT"], "{answer:?}");
        let answer = errors("query A { version } query B { version }", json!({})).await;
        assert_eq!(codes(&answer), ["BAD_USER_INPUT"], "{answer:?}");
        let answer = errors("subscription { transferEvents { sequence } }", json!({})).await;
        assert_eq!(
            codes(&answer),
            ["BAD_USER_INPUT"],
            "not over POST: {answer:?}"
        );
    }

    #[tokio::test]
    async fn the_limits_are_limit_exceeded_with_their_messages() {
        let answer = errors(&nested(MAX_DEPTH), json!({})).await;
        assert_eq!(
            answer,
            [(
                "Query is nested too deep.".to_owned(),
                "LIMIT_EXCEEDED".to_owned()
            )]
        );
        let wide = "{ members(first: 500) { edges { node { transfers(first: 500) { edges { node { id } } } } } } }";
        let answer = errors(wide, json!({})).await;
        assert_eq!(
            answer,
            [(
                "Query is too complex.".to_owned(),
                "LIMIT_EXCEEDED".to_owned()
            )]
        );
        // async-graphql's nesting check on the parsed document, and its parser's own limit.
        let answer = errors(&nested(MAX_RECURSIVE_DEPTH + 5), json!({})).await;
        assert_eq!(codes(&answer), ["LIMIT_EXCEEDED"], "{answer:?}");
        let answer = errors(&nested(100), json!({})).await;
        assert_eq!(codes(&answer), ["LIMIT_EXCEEDED"], "{answer:?}");
        let directives = format!(
            "{{ version {} }}",
            "@skip(if: false) ".repeat(MAX_DIRECTIVES + 1)
        );
        let answer = errors(&directives, json!({})).await;
        assert_eq!(codes(&answer), ["LIMIT_EXCEEDED"], "{answer:?}");
        // Within the limits, the same shapes run.
        assert!(
            errors(&nested(MAX_DEPTH - 2), json!({}))
                .await
                .iter()
                .all(|(_, code)| code != "LIMIT_EXCEEDED")
        );
    }

    #[test]
    fn a_field_failing_without_a_code_is_internal_and_says_no_more() {
        let mut error = ServerError::new("Data `Secret` does not exist.", None);
        error.path = vec![PathSegment::Field("version".to_owned())];
        let error = with_code(error);
        assert_eq!(error.message, "internal error");
        assert_eq!(
            error
                .extensions
                .and_then(|extensions| extensions.get("code").cloned()),
            Some(async_graphql::Value::from("INTERNAL"))
        );
        let coded = with_code(super::set_code(
            ServerError::new("gone", None),
            crate::error::ErrorCode::NotFound,
        ));
        assert_eq!(coded.message, "gone");
    }
}
