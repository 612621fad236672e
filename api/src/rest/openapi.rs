//! The REST API's OpenAPI 3.1 document: generated from the handlers and
//! their types (the closed sets they read and write are enums, see
//! `closed_sets`), with every error status an operation can answer as a
//! problem.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

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
