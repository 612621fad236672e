//! Query cost: a list field costs its page size times its children, so the
//! complexity limit bounds the rows one request can make the server read.

use super::error_codes::refusal;
use super::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The cost of a paged list field: `first` (default 50, within 1..=500 for
/// costing; out-of-range values are refused when the field runs) times the
/// cost of one item.
pub fn list_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
    rows.saturating_mul(child_complexity.max(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_cost_their_rows() {
        assert_eq!(super::list_cost(None, 3), 150);
        assert_eq!(super::list_cost(Some(500), 50 * 2), 50_000);
        assert_eq!(super::list_cost(Some(-5), 2), 2);
    }
}

/// Most fields in one document (operations and fragments), aliases included.
pub const MAX_FIELDS: usize = 2_000;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;
/// Longest query text; data belongs in variables.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;

/// The limits of one request. Before validation, refuses documents that are
/// too long or have too many fields or aliases (async-graphql has no alias
/// limit and its complexity counts rows, not fields). Before execution,
/// counts a mutation against its caller's rate limit (`auth::rate`); past
/// it the mutation runs not at all and the answer is RATE_LIMITED with
/// `extensions.retryAfter` (HTTP 429 and `Retry-After`, set by the route).
/// Queries are not counted. A subscription takes one of its subject's
/// slots (`auth::rate::SubscriptionSlots`) for as long as it streams; with
/// none free it is answered LIMIT_EXCEEDED and ends.
pub struct RequestLimits;

impl async_graphql::extensions::ExtensionFactory for RequestLimits {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(RequestLimitsCheck::default())
    }
}

/// Per request: which operations of the document are mutations, by name.
#[derive(Default)]
struct RequestLimitsCheck {
    mutations: std::sync::Mutex<Vec<Option<String>>>,
    operations: std::sync::atomic::AtomicUsize,
}

impl RequestLimitsCheck {
    fn remember_mutations(&self, document: &async_graphql::parser::types::ExecutableDocument) {
        use async_graphql::parser::types::OperationType;
        let mut mutations = match self.mutations.lock() {
            Ok(mutations) => mutations,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut operations = 0;
        for (name, operation) in document.operations.iter() {
            operations += 1;
            if operation.node.ty == OperationType::Mutation {
                mutations.push(name.map(|name| name.to_string()));
            }
        }
        self.operations
            .store(operations, std::sync::atomic::Ordering::Relaxed);
    }

    fn runs_a_mutation(&self, operation_name: Option<&str>) -> bool {
        let mutations = match self.mutations.lock() {
            Ok(mutations) => mutations,
            Err(poisoned) => poisoned.into_inner(),
        };
        let single = self.operations.load(std::sync::atomic::Ordering::Relaxed) == 1;
        mutations
            .iter()
            .any(|name| single || name.as_deref() == operation_name)
    }
}

fn limit_error(message: String) -> async_graphql::ServerError {
    refusal(&crate::error::AppError::LimitExceeded(message))
}

#[derive(Default)]
struct Counts {
    fields: usize,
    aliases: usize,
}

fn count(selection_set: &async_graphql::parser::types::SelectionSet, counts: &mut Counts) {
    use async_graphql::parser::types::Selection;
    for item in &selection_set.items {
        match &item.node {
            Selection::Field(field) => {
                counts.fields += 1;
                if field.node.alias.is_some() {
                    counts.aliases += 1;
                }
                count(&field.node.selection_set.node, counts);
            }
            Selection::InlineFragment(fragment) => count(&fragment.node.selection_set.node, counts),
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for RequestLimitsCheck {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(limit_error(format!(
                "query text is longer than {MAX_QUERY_BYTES} bytes; pass data in variables"
            )));
        }
        let document = next.run(ctx, query, variables).await?;
        let mut counts = Counts::default();
        for (_, operation) in document.operations.iter() {
            count(&operation.node.selection_set.node, &mut counts);
        }
        for fragment in document.fragments.values() {
            count(&fragment.node.selection_set.node, &mut counts);
        }
        if counts.fields > MAX_FIELDS {
            return Err(limit_error(format!(
                "the query has {} fields; the limit is {MAX_FIELDS}",
                counts.fields
            )));
        }
        if counts.aliases > MAX_ALIASES {
            return Err(limit_error(format!(
                "the query has {} aliases; the limit is {MAX_ALIASES}",
                counts.aliases
            )));
        }
        self.remember_mutations(&document);
        Ok(document)
    }

    fn subscribe<'s>(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        stream: async_graphql::futures_util::stream::BoxStream<'s, async_graphql::Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> async_graphql::futures_util::stream::BoxStream<'s, async_graphql::Response> {
        use async_graphql::futures_util::StreamExt;
        let stream = next.run(ctx, stream);
        let (Some(state), Some(caller)) = (
            ctx.data_opt::<crate::state::AppState>(),
            ctx.data_opt::<crate::auth::Ctx>(),
        ) else {
            return stream;
        };
        match state.subscriptions.open(&caller.principal.subject) {
            // The slot lives as long as the stream, and is given back when it is dropped.
            Ok(slot) => stream
                .map(move |response| {
                    let _open = &slot;
                    response
                })
                .boxed(),
            Err(refused) => {
                tracing::info!(subject = %caller.principal.subject, "subscription limit reached");
                let refusal = refusal(&refused);
                async_graphql::futures_util::stream::once(async move {
                    async_graphql::Response::from_errors(vec![refusal])
                })
                .boxed()
            }
        }
    }

    async fn execute(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: async_graphql::extensions::NextExecute<'_>,
    ) -> async_graphql::Response {
        if self.runs_a_mutation(operation_name)
            && let (Some(state), Some(caller)) = (
                ctx.data_opt::<crate::state::AppState>(),
                ctx.data_opt::<crate::auth::Ctx>(),
            )
            && let Err(refused) = state.rate_limits.mutation(&caller.principal.subject)
        {
            tracing::info!(subject = %caller.principal.subject, "mutation rate limit reached");
            return async_graphql::Response::from_errors(vec![refusal(&refused)]);
        }
        if self.runs_a_mutation(operation_name) {
            // A mutation is never cut short from outside: it commits or rolls
            // back whole, and its items answer for themselves.
            return next.run(ctx, operation_name).await;
        }
        let deadline = ctx
            .data_opt::<crate::state::AppState>()
            .and_then(|state| state.config.query_deadline());
        let response = match deadline {
            Some(deadline) => {
                match tokio::time::timeout(deadline, next.run(ctx, operation_name)).await {
                    Ok(response) => response,
                    Err(_) => {
                        tracing::warn!(?deadline, "query abandoned at its deadline");
                        let gave_up = crate::error::AppError::Unavailable(format!(
                            "the query did not finish within {} ms; retry later",
                            deadline.as_millis()
                        ));
                        return async_graphql::Response::from_errors(vec![refusal(&gave_up)]);
                    }
                }
            }
            None => next.run(ctx, operation_name).await,
        };
        give_up_whole(response)
    }
}

/// A query that could not read part of its answer (pool exhausted, statement
/// cancelled, database gone) gives up as a whole: partial data would pass for
/// the truth. Only the UNAVAILABLE errors are kept; the route answers 503.
fn give_up_whole(response: async_graphql::Response) -> async_graphql::Response {
    if !response.errors.iter().any(is_unavailable) {
        return response;
    }
    let errors = response.errors.into_iter().filter(is_unavailable).collect();
    async_graphql::Response::from_errors(errors)
}

/// Whether a GraphQL error carries the code UNAVAILABLE.
pub fn is_unavailable(error: &async_graphql::ServerError) -> bool {
    super::error_codes::code_of(error) == Some(crate::error::ErrorCode::Unavailable)
}
