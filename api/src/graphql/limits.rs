//! The limits of one document: its cost (a list field costs its page size
//! times its children, so the complexity limit bounds the rows one request
//! can make the server read), and its length, nesting and width, checked
//! before anything else looks at it.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError};

use super::error_codes::{refusal, unparsable};
use super::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use super::{MAX_DIRECTIVES, MAX_RECURSIVE_DEPTH};

/// The cost of a paged list field: `first` (default 50, within 1..=500 for
/// costing; out-of-range values are refused when the field runs) times the
/// cost of one item.
pub fn list_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
    rows.saturating_mul(child_complexity.max(1))
}

/// Most fields in one document, aliases included, with its fragments expanded.
pub const MAX_FIELDS: usize = 2_000;
/// Most aliased fields in one document, with its fragments expanded.
pub const MAX_ALIASES: usize = 30;
/// Longest query text; data belongs in variables.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;

/// A document within the limits, parsed; refused LIMIT_EXCEEDED if it is
/// longer than `MAX_QUERY_BYTES`, nests deeper than `MAX_RECURSIVE_DEPTH`
/// (fragments expanded; a cycle of fragments nests without end), has more
/// than `MAX_DIRECTIVES` on a field, or more than `MAX_FIELDS` fields or
/// `MAX_ALIASES` aliases with its fragments expanded (async-graphql has no
/// alias limit and its complexity counts rows, not fields). Counting with
/// fragments expanded, each fragment once, keeps every later walk of the
/// document small: fragments spread ten times over nine levels make 10^9
/// fields out of a few hundred bytes. Unparsable text is BAD_USER_INPUT.
pub fn document_within_limits(query: &str) -> Result<ExecutableDocument, ServerError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(limit_error(format!(
            "query text is longer than {MAX_QUERY_BYTES} bytes; pass data in variables"
        )));
    }
    let document = async_graphql::parser::parse_query(query).map_err(unparsable)?;
    let mut shapes = Shapes {
        document: &document,
        fragments: HashMap::new(),
    };
    let mut total = Shape::default();
    for (_, operation) in document.operations.iter() {
        let shape = shapes.of(&operation.node.selection_set.node)?;
        total.fields = total.fields.saturating_add(shape.fields);
        total.aliases = total.aliases.saturating_add(shape.aliases);
        total.depth = total.depth.max(shape.depth);
    }
    for fragment in document.fragments.values() {
        // Those no operation spreads are refused by validation, but their
        // fields are checked here like the others.
        shapes.of(&fragment.node.selection_set.node)?;
    }
    if total.depth > MAX_RECURSIVE_DEPTH {
        return Err(too_deep());
    }
    if total.fields > MAX_FIELDS {
        return Err(limit_error(format!(
            "the query has {} fields; the limit is {MAX_FIELDS}",
            total.fields
        )));
    }
    if total.aliases > MAX_ALIASES {
        return Err(limit_error(format!(
            "the query has {} aliases; the limit is {MAX_ALIASES}",
            total.aliases
        )));
    }
    Ok(document)
}

fn limit_error(message: String) -> ServerError {
    refusal(&crate::error::AppError::LimitExceeded(message))
}

fn too_deep() -> ServerError {
    limit_error(format!(
        "the query nests deeper than {MAX_RECURSIVE_DEPTH} levels"
    ))
}

/// A selection set with its fragments expanded: its fields and aliases, and
/// how deep it nests (as async-graphql counts it: each field with a
/// selection, each fragment, inline or spread, one level).
#[derive(Clone, Copy, Default)]
struct Shape {
    fields: usize,
    aliases: usize,
    depth: usize,
}

struct Shapes<'d> {
    document: &'d ExecutableDocument,
    /// Each fragment's shape once known; `None` while it is being measured,
    /// so that a cycle is found rather than followed.
    fragments: HashMap<&'d str, Option<Shape>>,
}

impl<'d> Shapes<'d> {
    fn of(&mut self, selection_set: &'d SelectionSet) -> Result<Shape, ServerError> {
        let mut shape = Shape::default();
        let mut add = |inner: Shape, fields: usize, aliases: usize, nests: bool| {
            shape.fields = shape
                .fields
                .saturating_add(fields)
                .saturating_add(inner.fields);
            shape.aliases = shape
                .aliases
                .saturating_add(aliases)
                .saturating_add(inner.aliases);
            if nests {
                shape.depth = shape.depth.max(inner.depth + 1);
            }
        };
        for item in &selection_set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.directives.len() > MAX_DIRECTIVES {
                        return Err(limit_error(format!(
                            "the field `{}` has {} directives; the limit is {MAX_DIRECTIVES}",
                            field.name.node,
                            field.directives.len()
                        )));
                    }
                    let inner = self.of(&field.selection_set.node)?;
                    let nests = !field.selection_set.node.items.is_empty();
                    add(inner, 1, usize::from(field.alias.is_some()), nests);
                }
                Selection::InlineFragment(fragment) => {
                    let inner = self.of(&fragment.node.selection_set.node)?;
                    add(inner, 0, 0, true);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let inner = match self.fragments.get(name) {
                        Some(Some(known)) => *known,
                        Some(None) => return Err(too_deep()),
                        None => {
                            match self.document.fragments.get(&spread.node.fragment_name.node) {
                                // Unknown fragments are refused by validation.
                                None => Shape::default(),
                                Some(fragment) => {
                                    self.fragments.insert(name, None);
                                    let known = self.of(&fragment.node.selection_set.node)?;
                                    self.fragments.insert(name, Some(known));
                                    known
                                }
                            }
                        }
                    };
                    add(inner, 0, 0, true);
                }
            }
        }
        Ok(shape)
    }
}

/// A query that could not read part of its answer (pool exhausted, statement
/// cancelled, database gone) gives up as a whole: partial data would pass for
/// the truth. Only the UNAVAILABLE errors are kept; the route answers 503.
pub(super) fn give_up_whole(response: Response) -> Response {
    if !response.errors.iter().any(is_unavailable) {
        return response;
    }
    let errors = response.errors.into_iter().filter(is_unavailable).collect();
    Response::from_errors(errors)
}

/// Whether a GraphQL error carries the code UNAVAILABLE.
pub fn is_unavailable(error: &ServerError) -> bool {
    super::error_codes::code_of(error) == Some(crate::error::ErrorCode::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::{MAX_ALIASES, MAX_FIELDS, document_within_limits};
    use crate::error::ErrorCode;
    use crate::graphql::MAX_RECURSIVE_DEPTH;

    fn refused(query: &str) -> Option<String> {
        document_within_limits(query).err().map(|error| {
            assert_eq!(
                super::super::error_codes::code_of(&error),
                Some(ErrorCode::LimitExceeded),
                "{error:?}"
            );
            error.message
        })
    }

    #[test]
    fn lists_cost_their_rows() {
        assert_eq!(super::list_cost(None, 3), 150);
        assert_eq!(super::list_cost(Some(500), 50 * 2), 50_000);
        assert_eq!(super::list_cost(Some(-5), 2), 2);
    }

    /// Fragments spread `fan` times per level over `levels` levels.
    fn fanned(fan: usize, levels: usize) -> String {
        let mut query = String::from("{ ...f0 }");
        for level in 0..levels {
            let spreads = format!(" ...f{}", level + 1).repeat(fan);
            query.push_str(&format!(" fragment f{level} on Query {{{spreads} }}"));
        }
        query.push_str(&format!(" fragment f{levels} on Query {{ version }}"));
        query
    }

    #[test]
    fn fields_are_counted_with_fragments_expanded_each_once() {
        // 10^9 fields from a few hundred bytes: refused at once.
        let bomb = fanned(10, 9);
        assert!(bomb.len() < 1_000);
        let message = refused(&bomb).expect("refused");
        assert!(message.contains("fields"), "{message}");
        // 2^10 = 1,024 fields is within the limit, 2^11 is not.
        assert_eq!(refused(&fanned(2, 10)), None);
        assert!(refused(&fanned(2, 11)).is_some_and(|m| m.contains(&MAX_FIELDS.to_string())));
    }

    #[test]
    fn aliases_spread_by_fragments_count_each_time() {
        let aliases: String = (0..10).map(|i| format!(" a{i}: version")).collect();
        let thrice = format!("{{ ...a ...a ...a }} fragment a on Query {{{aliases} }}");
        assert_eq!(refused(&thrice), None);
        let four_times = format!("{{ ...a ...a ...a ...a }} fragment a on Query {{{aliases} }}");
        assert!(
            refused(&four_times).is_some_and(|m| m.contains(&MAX_ALIASES.to_string())),
            "40 aliases"
        );
    }

    #[test]
    fn nesting_counts_fragments_and_finds_cycles() {
        let chain = fanned(1, MAX_RECURSIVE_DEPTH);
        assert!(refused(&chain).is_some_and(|m| m.contains("nests")));
        assert_eq!(refused(&fanned(1, MAX_RECURSIVE_DEPTH - 1)), None);
        let cycle = "{ ...a } fragment a on Query { ...b } fragment b on Query { ...a }";
        assert!(refused(cycle).is_some_and(|m| m.contains("nests")));
    }

    #[test]
    fn unparsable_text_is_not_a_limit() {
        let error = document_within_limits("{ version ").expect_err("refused");
        assert_eq!(
            super::super::error_codes::code_of(&error),
            Some(ErrorCode::BadUserInput)
        );
    }
}
