//! The GraphQL API: schema assembly, its limits, and the `/graphql` routes.

mod routes;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

pub use routes::configure;

use crate::state::AppState;

/// Deepest query accepted; the standard introspection query needs 15.
pub const MAX_DEPTH: usize = 16;
/// Most fields (aliases included) in one operation.
pub const MAX_COMPLEXITY: usize = 2_000;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Parser nesting limit, against deeply nested lists and selections.
pub const MAX_RECURSIVE_DEPTH: usize = 32;

pub type AppSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The root of every read.
#[derive(Default)]
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// The version of the running cellreg.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

/// The schema with its limits; with state when it will serve requests,
/// without when it is only exported.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(MAX_DIRECTIVES)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .disable_suggestions();
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as `cellreg export-schema` writes it and `schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None).sdl()
}
