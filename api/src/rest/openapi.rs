//! The REST API's OpenAPI 3.1 document: generated from the handlers and
//! their types, with the closed sets the server reads and writes as enums
//! and every error status an operation can answer as a problem.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The REST API's OpenAPI 3.1 document, generated from the handlers and their types.
#[derive(OpenApi)]
#[openapi(
    info(title = "cellreg REST API", description = "Transfer events in, the change feed out, and the lookups integration scripts need. Errors are RFC 9457 problems (`application/problem+json`) carrying a stable `code` and, when one field is at fault, its `field`."),
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

/// The values serde writes (and reads) for each variant of a closed set,
/// in declaration order: what the document lists is what the server takes.
pub fn closed_set_values<T: sea_orm::Iterable + Serialize>() -> Vec<serde_json::Value> {
    T::iter()
        .filter_map(|variant| serde_json::to_value(variant).ok())
        .collect()
}

/// A closed set of the registry's (an `entity::enums` type) as a named
/// string enum of the document, its values listed from the Rust enum itself.
macro_rules! closed_set {
    ($name:ident, $rust:ty, $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .enum_values(Some(closed_set_values::<$rust>()))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

closed_set!(
    MembershipKind,
    entity::enums::MembershipKind,
    "OFFICIAL: the member's one cell of record; TEMPORARY: activity in another cell beside it."
);
closed_set!(
    TransferReason,
    entity::enums::TransferReason,
    "Why a member moved. A submitted transfer may not use ADMISSION, REMOVAL or DEATH (the registry records those itself: the item is REJECTED with BAD_USER_INPUT); the feed shows every value."
);

closed_set!(
    EventPhase,
    entity::enums::EventPhase,
    "COMPLETED: a move in one step; an introduction letter's steps are DEPARTED (issued: an OFFICIAL letter's member is in transit), then ARRIVED (received) or RETURNED (cancelled)."
);
closed_set!(
    LetterStatus,
    entity::enums::LetterStatus,
    "OPEN until the receiving side places the member (RECEIVED) or the issuer cancels it (CANCELLED)."
);
closed_set!(
    TemporaryPurpose,
    entity::enums::TemporaryPurpose,
    "What temporary activity is for: WORK or RESIDENCE (at most 1 year by default), STUDY (at most 2)."
);

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

/// Error answers any operation with a bearer token can give, whatever it does.
const EVERY_OPERATION: [(u16, &str); 4] = [
    (
        401,
        "No valid bearer token; `detail` names the failed check (`WWW-Authenticate: Bearer`)",
    ),
    (
        429,
        "Rate-limited (the subject's mutations, or the address's failed authentications); nothing applied, retry after `Retry-After` seconds",
    ),
    (
        500,
        "An internal error; details only in the log, under the answer's `x-request-id`",
    ),
    (
        503,
        "The database did not answer in time; nothing changed, retry after `Retry-After` seconds",
    ),
];

/// Error answers of an operation that reads a JSON body.
const WITH_A_BODY: [(u16, &str); 3] = [
    (
        400,
        "The body is not valid JSON of the documented shape; `field` names the body path at fault; nothing applied",
    ),
    (
        413,
        "The body is over the size limit (`CELLREG_MAX_BODY_BYTES`, 1 MiB by default); nothing applied",
    ),
    (
        415,
        "The body is not sent as `Content-Type: application/json` (UTF-8); nothing applied",
    ),
];

/// Error answers as they are sent: every `Problem` body is
/// `application/problem+json` (handlers document it with `body = Problem`,
/// which utoipa writes as JSON), and the statuses every operation can
/// answer (`EVERY_OPERATION`, `WITH_A_BODY`) are added where a handler
/// does not describe them more precisely.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
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
                let body = if operation.request_body.is_some() {
                    &WITH_A_BODY[..]
                } else {
                    &[]
                };
                for (status, description) in EVERY_OPERATION.iter().chain(body) {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(*description)
                                    .content("application/problem+json", problem())
                                    .build(),
                            )
                        });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_list_what_serde_reads() {
        let reasons = closed_set_values::<entity::enums::TransferReason>();
        assert_eq!(reasons.len(), 8);
        for value in reasons {
            let read: entity::enums::TransferReason =
                serde_json::from_value(value.clone()).expect("the server reads what it lists");
            assert_eq!(serde_json::to_value(read).ok(), Some(value));
        }
        assert_eq!(
            closed_set_values::<entity::enums::MembershipKind>(),
            vec![
                serde_json::json!("OFFICIAL"),
                serde_json::json!("TEMPORARY")
            ]
        );
    }
}
