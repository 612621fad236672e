//! Every GraphQL operation, over HTTP and over WebSocket, goes through the
//! same stages around the schema, in this order:
//!
//! 1. the document's limits: length, nesting, directives per field, fields
//!    and aliases (`limits`), and the parser's own (LIMIT_EXCEEDED);
//! 2. text the databases cannot store (`storable`, BAD_USER_INPUT);
//! 3. what async-graphql's validation leaves out (`validation`);
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
use std::sync::Arc;

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

/// The schema with the stages around it; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    schema: AppSchema,
    state: Option<AppState>,
    directives: Arc<KnownDirectives>,
    introspection: bool,
}

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
        let document =
            limits::document_within_limits(&request.query).map_err(|error| vec![error])?;
        let chosen = request.operation_name.as_deref();
        if let Some(nul) = storable::nul_in_variables(&request.variables)
            .or_else(|| storable::nul_in_document(&document))
        {
            return Err(vec![self.refuse_nul(nul, &document, chosen, caller).await]);
        }
        let skipped = validation::skipped_checks(&self.directives, self.introspection, &document);
        if !skipped.is_empty() {
            return Err(skipped);
        }
        let (name, kind) = chosen_operation(&document, chosen);
        if kind == Some(OperationType::Mutation)
            && let Err(limited) = self.take_mutation(caller)
        {
            return Err(vec![refusal(&limited)]);
        }
        request.set_parsed_query(document);
        Ok(Checked { name, kind })
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
        let caller = session
            .as_deref()
            .and_then(|session| session.get(&TypeId::of::<Ctx>()))
            .and_then(|caller| caller.downcast_ref::<Ctx>());
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
            let caller = session
                .as_deref()
                .and_then(|session| session.get(&TypeId::of::<Ctx>()))
                .and_then(|caller| caller.downcast_ref::<Ctx>());
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

/// The name and type of the operation the request runs: the one named, or
/// the only one when none is named.
fn chosen_operation(
    document: &ExecutableDocument,
    chosen: Option<&str>,
) -> (Option<String>, Option<OperationType>) {
    let mut operations = document.operations.iter();
    let operation = match chosen {
        Some(chosen) => operations.find(|(name, _)| name.map(|name| name.as_str()) == Some(chosen)),
        None => {
            let only = operations.next();
            if operations.next().is_some() {
                None
            } else {
                only
            }
        }
    };
    match operation {
        Some((name, operation)) => (name.map(|name| name.to_string()), Some(operation.node.ty)),
        None => (chosen.map(str::to_owned), None),
    }
}
