//! Every GraphQL operation, over HTTP and over WebSocket, goes through the
//! same stages around the schema, in this order:
//!
//! 1. the document's limits: length, nesting, directives per field, fields
//!    and aliases (`limits`), and the parser's own (LIMIT_EXCEEDED);
//! 2. text the databases cannot store (`storable`, BAD_USER_INPUT);
//! 3. what async-graphql's validation leaves out (`validation`);
//!
//!    a document that passed 1–3 is kept by its text (`DOCUMENTS_KEPT`), so
//!    the same query sent again is not read again (reading a member lookup's
//!    query cost more CPU than running its statement); its variables are
//!    checked each time;
//! 4. a mutation counts against its caller's rate limit;
//! 5. the schema validates (row budget and depth: LIMIT_EXCEEDED) and runs
//!    it; a query within the deadline, and given up whole if part of it
//!    could not be read;
//! 6. each error gets its code (`error_codes`), and the operation is counted
//!    (`metrics`).
//!
//! They are stages here rather than async-graphql extensions because, with
//! any extension in a schema, async-graphql runs every field of every item
//! through the extension chain: on a page of 50 members that was 15–30 % of
//! the request's CPU, for checks that look at the request only.

use std::any::TypeId;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::futures_util::stream::{self, BoxStream};
use async_graphql::futures_util::{FutureExt, StreamExt};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Data, Request, Response, ServerError};

use super::error_codes::{refusal, with_codes};
use super::validation::KnownDirectives;
use super::{AppSchema, limits, storable, validation};
use crate::audit::service::{self as audit, Entry, Outcome};
use crate::auth::Ctx;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// Checked documents kept, the least recently used going first.
const DOCUMENTS_KEPT: NonZeroUsize = NonZeroUsize::new(128).expect("not zero");
/// Longest query text kept: what clients send again is short, and this
/// bounds the memory of the kept documents whatever is sent.
const LONGEST_KEPT: usize = 4 * 1024;

/// The schema with the stages around it; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    schema: AppSchema,
    state: Option<AppState>,
    directives: Arc<KnownDirectives>,
    introspection: bool,
    documents: Arc<Mutex<DocumentsKept>>,
}

/// Checked documents by their text.
type DocumentsKept = lru::LruCache<String, Arc<ExecutableDocument>>;

/// What the checks learned of the operation the request will run.
struct Checked {
    /// Its name, for the metrics: the one the request chose, or the one the
    /// document gave its only operation.
    name: Option<String>,
    /// Its type, when the document names one operation to run (otherwise the
    /// schema answers why not).
    kind: Option<OperationType>,
}

impl Pipeline {
    /// The pipeline of a schema; with state when it serves requests.
    pub fn new(schema: AppSchema, state: Option<AppState>) -> Self {
        let introspection = state
            .as_ref()
            .is_none_or(|state| state.config.introspection);
        Self {
            directives: Arc::new(KnownDirectives::of(&super::sdl_of(&schema))),
            schema,
            state,
            introspection,
            documents: Arc::new(Mutex::new(lru::LruCache::new(DOCUMENTS_KEPT))),
        }
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    /// Runs one operation, for `caller` (none when the schema is used
    /// without a server). The request carries the rest of its data.
    pub async fn execute(&self, mut request: Request, caller: Option<Ctx>) -> Response {
        let (name, response) = match self.check(&mut request, caller.as_ref()).await {
            Err(errors) => (request.operation_name, Response::from_errors(errors)),
            Ok(checked) => {
                if let Some(caller) = caller {
                    request = request.data(caller);
                }
                let response = self
                    .within_deadline(checked.kind, self.schema.execute(request))
                    .await;
                (checked.name, response)
            }
        };
        let response = with_codes(response);
        crate::metrics::count_graphql_operation(name.as_deref(), &response);
        response
    }

    /// Stages 1–4, in order; the document is left parsed in the request.
    async fn check(
        &self,
        request: &mut Request,
        caller: Option<&Ctx>,
    ) -> Result<Checked, Vec<ServerError>> {
        let chosen = request.operation_name.as_deref();
        let document = match self.kept(&request.query) {
            Some(document) => ExecutableDocument::clone(&document),
            None => {
                let document =
                    limits::document_within_limits(&request.query).map_err(|error| vec![error])?;
                if let Some(nul) = storable::nul_in_document(&document) {
                    return Err(vec![self.refuse_nul(nul, &document, chosen, caller).await]);
                }
                let skipped =
                    validation::skipped_checks(&self.directives, self.introspection, &document);
                if !skipped.is_empty() {
                    return Err(skipped);
                }
                self.keep(&request.query, &document);
                document
            }
        };
        if let Some(nul) = storable::nul_in_variables(&request.variables) {
            return Err(vec![self.refuse_nul(nul, &document, chosen, caller).await]);
        }
        let (name, kind) = name_and_kind(&document, chosen);
        if kind == Some(OperationType::Mutation)
            && let Err(limited) = self.take_mutation(caller)
        {
            return Err(vec![refusal(&limited)]);
        }
        request.set_parsed_query(document);
        Ok(Checked { name, kind })
    }

    /// The checked document of this text, if it is kept.
    fn kept(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        self.documents().get(query).cloned()
    }

    /// Keeps a document that passed the checks of its text.
    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if query.len() > LONGEST_KEPT {
            return;
        }
        self.documents()
            .put(query.to_owned(), Arc::new(document.clone()));
    }

    /// The kept documents; a panic elsewhere while they were held leaves
    /// them whole (each change is one call), so a poisoned lock is taken.
    fn documents(&self) -> std::sync::MutexGuard<'_, DocumentsKept> {
        self.documents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A request holding NUL, refused. A mutation refused so is still an
    /// attempt: it counts against its caller's rate limit and appends one
    /// FAILED audit row per mutation field it asked for, the offending text
    /// as target (escaped by the audit log).
    async fn refuse_nul(
        &self,
        nul: crate::text::Nul,
        document: &ExecutableDocument,
        chosen: Option<&str>,
        caller: Option<&Ctx>,
    ) -> ServerError {
        let mutations = storable::mutation_fields(document, chosen);
        if !mutations.is_empty()
            && let (Some(state), Some(caller)) = (&self.state, caller)
        {
            // Counted like any mutation, so refusals cannot flood the audit log.
            if let Err(limited) = self.take_mutation(Some(caller)) {
                return refusal(&limited);
            }
            let code = ErrorCode::BadUserInput;
            for action in mutations {
                let entry = Entry::for_caller(
                    caller,
                    action,
                    &nul.text,
                    Outcome::of_error(code),
                    Some(code),
                );
                audit::append_alone(&state.db, entry).await;
            }
        }
        tracing::info!(field = %nul.field, "input with NUL refused");
        refusal(&AppError::from(nul))
    }

    /// One mutation off the caller's rate limit (`auth::rate`); past it the
    /// answer is RATE_LIMITED with `extensions.retryAfter`.
    fn take_mutation(&self, caller: Option<&Ctx>) -> Result<(), AppError> {
        let (Some(state), Some(caller)) = (&self.state, caller) else {
            return Ok(());
        };
        state
            .rate_limits
            .mutation(&caller.principal.subject)
            .inspect_err(|_| {
                tracing::info!(subject = %caller.principal.subject, "mutation rate limit reached");
            })
    }

    /// A query within the configured deadline, given up whole if part of it
    /// could not be read. A mutation is never cut short from outside: it
    /// commits or rolls back whole, and its items answer for themselves.
    async fn within_deadline(
        &self,
        kind: Option<OperationType>,
        run: impl Future<Output = Response>,
    ) -> Response {
        if kind == Some(OperationType::Mutation) {
            return run.await;
        }
        let deadline = self
            .state
            .as_ref()
            .and_then(|state| state.config.query_deadline());
        let response = match deadline {
            Some(deadline) => match tokio::time::timeout(deadline, run).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(?deadline, "query abandoned at its deadline");
                    let gave_up = AppError::Unavailable(format!(
                        "the query did not finish within {} ms; retry later",
                        deadline.as_millis()
                    ));
                    return Response::from_errors(vec![refusal(&gave_up)]);
                }
            },
            None => run.await,
        };
        limits::give_up_whole(response)
    }

    /// One operation of a WebSocket, whose session holds the caller and the
    /// loaders. Whatever it is, it holds one of its subject's subscription
    /// slots for as long as it streams, taken as it arrives (so operations
    /// are refused in the order they came); with none free it is answered
    /// LIMIT_EXCEEDED and ends.
    fn stream(
        &self,
        mut request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let caller = caller_of(session.as_deref());
        let slot = match (&self.state, caller) {
            (Some(state), Some(caller)) => {
                match state.subscriptions.open(&caller.principal.subject) {
                    Ok(slot) => Some(slot),
                    Err(full) => {
                        tracing::info!(subject = %caller.principal.subject, "subscription limit reached");
                        return answered(
                            request.operation_name.as_deref(),
                            Response::from_errors(vec![refusal(&full)]),
                        );
                    }
                }
            }
            _ => None,
        };
        let pipeline = self.clone();
        async move {
            let caller = caller_of(session.as_deref());
            let checked = match pipeline.check(&mut request, caller).await {
                Ok(checked) => checked,
                Err(errors) => {
                    return answered(
                        request.operation_name.as_deref(),
                        Response::from_errors(errors),
                    );
                }
            };
            let mut responses = pipeline
                .schema
                .execute_stream_with_session_data(request, session.clone().unwrap_or_default());
            if checked.kind != Some(OperationType::Subscription) {
                // A query or a mutation: one answer.
                let response = pipeline
                    .within_deadline(checked.kind, async move {
                        responses.next().await.unwrap_or_default()
                    })
                    .await;
                drop(slot);
                return answered(checked.name.as_deref(), response);
            }
            // Counted once, as it starts; its events are not operations.
            crate::metrics::count_graphql_operation(checked.name.as_deref(), &Response::default());
            responses
                .map(move |response| {
                    // The slot lives as long as the stream, and is given back when it is dropped.
                    let _open = &slot;
                    with_codes(response)
                })
                .boxed()
        }
        .flatten_stream()
        .boxed()
    }
}

/// A WebSocket operation's one answer, with its codes, counted.
fn answered(name: Option<&str>, response: Response) -> BoxStream<'static, Response> {
    let response = with_codes(response);
    crate::metrics::count_graphql_operation(name, &response);
    stream::once(async move { response }).boxed()
}

impl async_graphql::Executor for Pipeline {
    async fn execute(&self, request: Request) -> Response {
        Pipeline::execute(self, request, None).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        self.stream(request, session_data)
    }
}

/// The name and type of the operation the request runs (`chosen_operation`);
/// without one, the name the request gave.
fn name_and_kind(
    document: &ExecutableDocument,
    chosen: Option<&str>,
) -> (Option<String>, Option<OperationType>) {
    match super::chosen_operation(document, chosen) {
        Some((name, operation)) => (name.map(|name| name.to_string()), Some(operation.node.ty)),
        None => (chosen.map(str::to_owned), None),
    }
}

/// The caller a WebSocket's session holds once its `connection_init` was accepted.
fn caller_of(session: Option<&Data>) -> Option<&Ctx> {
    session?.get(&TypeId::of::<Ctx>())?.downcast_ref::<Ctx>()
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::json;

    use super::Pipeline;

    /// The `extensions.field` of each error of the answer.
    async fn fields_refused(
        pipeline: &Pipeline,
        query: &str,
        variables: serde_json::Value,
    ) -> Vec<String> {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let response = pipeline.execute(request, None).await;
        response
            .errors
            .iter()
            .filter_map(|error| match error.extensions.as_ref()?.get("field")? {
                async_graphql::Value::String(field) => Some(field.clone()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_kept_document_still_has_its_variables_checked() {
        let pipeline = Pipeline::new(crate::graphql::build_schema(None), None);
        let query = "query($code: String!) { organization(code: $code) { id } }";
        assert!(
            fields_refused(&pipeline, query, json!({ "code": "SL" }))
                .await
                .is_empty()
        );
        assert_eq!(
            pipeline.kept(query).map(|_| ()),
            Some(()),
            "kept once it passed"
        );
        assert_eq!(
            fields_refused(&pipeline, query, json!({ "code": "S\u{0}L" })).await,
            ["code"]
        );
    }

    #[tokio::test]
    async fn refused_and_long_documents_are_not_kept() {
        let pipeline = Pipeline::new(crate::graphql::build_schema(None), None);
        let nul = "{ organization(code: \"S\\u0000L\") { id } }";
        assert_eq!(fields_refused(&pipeline, nul, json!({})).await, ["code"]);
        assert!(pipeline.kept(nul).is_none());
        assert_eq!(
            fields_refused(&pipeline, nul, json!({})).await,
            ["code"],
            "refused again"
        );
        let long = format!("{{ version }} #{}", "x".repeat(super::LONGEST_KEPT));
        assert!(fields_refused(&pipeline, &long, json!({})).await.is_empty());
        assert!(pipeline.kept(&long).is_none());
    }
}
