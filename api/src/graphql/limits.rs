//! Query cost: a list field costs its page size times its children, so the
//! complexity limit bounds the rows one request can make the server read.

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

/// Refuses, before validation and execution, documents that are too long or
/// have too many fields or aliases (async-graphql has no alias limit and its
/// complexity counts rows, not fields).
pub struct DocumentLimits;

impl async_graphql::extensions::ExtensionFactory for DocumentLimits {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(DocumentLimitsCheck)
    }
}

struct DocumentLimitsCheck;

fn limit_error(message: String) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", crate::error::ErrorCode::LimitExceeded.as_str());
    error.extensions = Some(extensions);
    error
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
impl async_graphql::extensions::Extension for DocumentLimitsCheck {
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
        Ok(document)
    }
}
