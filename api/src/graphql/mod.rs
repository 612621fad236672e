//! The GraphQL API: schema assembly from each area's query and mutation
//! roots, its limits, and the `/graphql` routes.

pub mod error_codes;
pub mod limits;
pub mod loaders;
pub mod pagination;
mod pipeline;
mod routes;
pub mod scalars;
pub mod storable;
mod validation;
mod websocket;

use async_graphql::{Context, ErrorExtensions, MergedObject, MergedSubscription, Object, Schema};
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicI64, Ordering};

pub use pipeline::Pipeline;
pub use routes::configure;

use crate::audit::graphql::AuditQuery;
use crate::auth::Ctx;
use crate::auth::graphql::AuthQuery;
use crate::error::AppError;
use crate::holds::graphql::{HoldMutation, HoldQuery};
use crate::letters::graphql::{LetterMutation, LetterQuery};
use crate::members::graphql_operations::{MemberMutation, MemberQuery};
use crate::organizations::graphql::{OrganizationMutation, OrganizationQuery};
use crate::plans::graphql::{PlanMutation, PlanQuery};
use crate::reorganization::graphql::ReorganizationMutation;
use crate::state::AppState;
use crate::transfers::graphql::{TransferMutation, TransferQuery, TransferSubscription};

/// Deepest query accepted; the standard introspection query needs 15.
pub const MAX_DEPTH: usize = 16;
/// The row budget of one request: a list field costs its page size times
/// its children (`limits::list_cost`); fields and aliases are limited apart
/// (`limits::RequestLimits`).
pub const MAX_ROWS: usize = 25_000;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Parser nesting limit, against deeply nested lists and selections.
pub const MAX_RECURSIVE_DEPTH: usize = 32;

/// Facts about the service itself.
#[derive(Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// The version of the running cellreg.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    ServiceQuery,
    AuthQuery,
    OrganizationQuery,
    MemberQuery,
    TransferQuery,
    PlanQuery,
    AuditQuery,
    HoldQuery,
    LetterQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    OrganizationMutation,
    ReorganizationMutation,
    MemberMutation,
    TransferMutation,
    PlanMutation,
    HoldMutation,
    LetterMutation,
);

#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(TransferSubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with its limits; with state when it will serve requests,
/// without when it is only exported. It serves through `Pipeline`, which
/// holds every request's other checks.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    // Checked with the rest of validation; `error_codes` gives them their code.
    .limit_complexity(MAX_ROWS)
    .limit_depth(MAX_DEPTH)
    // The pipeline checks these two first, with fragments expanded; these
    // are async-graphql's own, kept behind them.
    .limit_directives(MAX_DIRECTIVES)
    .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
    .disable_suggestions();
    if let Some(state) = state {
        if !state.config.introspection {
            // `__schema` and `__type` leave the schema: asking for them is an
            // unknown field, refused before execution. Suggestions are off
            // in every mode, so no "Did you mean" gives names away either.
            builder = builder.disable_introspection();
        }
        builder = builder.data(state.db.clone()).data(state);
    }
    builder.finish()
}

/// The schema in SDL, as `cellreg export-schema` writes it and `schema.graphql` holds it.
pub fn sdl() -> String {
    sdl_of(&build_schema(None))
}

/// The SDL of a schema, with the `@specifiedBy` of its scalars.
pub fn sdl_of(schema: &AppSchema) -> String {
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// The authenticated caller of this request.
pub fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Ctx> {
    ctx.data::<Ctx>()
        .map_err(|_| AppError::Unauthenticated("missing bearer token".to_owned()).extend())
}

/// The connection pool.
pub fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("no database in the schema")).extend())
}

/// The instant a request reads "now" as: one per request, so every field
/// answers about the same moment (and loaders batch on it). A mutation
/// moves it past its write (`after_write`), so the answer shows the change.
#[derive(Debug)]
pub struct RequestTime(AtomicI64);

impl RequestTime {
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(AtomicI64::new(at.timestamp_micros()))
    }

    fn get(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst))
            .unwrap_or_else(crate::clock::now)
    }
}

/// `asOf`, or the request's instant.
pub fn as_of(ctx: &Context<'_>, as_of: Option<scalars::Instant>) -> chrono::DateTime<chrono::Utc> {
    as_of.map(Into::into).unwrap_or_else(|| {
        ctx.data::<RequestTime>()
            .map_or_else(|_| crate::clock::now(), RequestTime::get)
    })
}

/// Called by a mutation once its write has committed: the rest of the
/// answer reads the registry as it is now, the write included.
pub fn after_write(ctx: &Context<'_>) {
    if let Ok(time) = ctx.data::<RequestTime>() {
        time.0
            .store(crate::clock::now().timestamp_micros(), Ordering::SeqCst);
    }
    if let Ok(loaders) = ctx.data::<loaders::Loaders>() {
        loaders::forget_all(loaders);
    }
}

/// The configured clocks of letters and temporary activity.
pub fn letter_rules(ctx: &Context<'_>) -> crate::config::LetterRules {
    ctx.data::<AppState>()
        .map(|state| state.config.letters)
        .unwrap_or_default()
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a loaders::Loaders> {
    ctx.data::<loaders::Loaders>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("no loaders in the request")).extend())
}

/// The operation a request runs: the one it names, or the document's only
/// one when it names none (async-graphql chooses the same way).
pub(crate) fn chosen_operation<'d>(
    document: &'d async_graphql::parser::types::ExecutableDocument,
    chosen: Option<&str>,
) -> Option<(
    Option<&'d async_graphql::Name>,
    &'d async_graphql::Positioned<async_graphql::parser::types::OperationDefinition>,
)> {
    let mut operations = document.operations.iter();
    match chosen {
        Some(chosen) => operations.find(|(name, _)| name.map(|name| name.as_str()) == Some(chosen)),
        None => {
            let only = operations.next();
            operations.next().is_none().then_some(only).flatten()
        }
    }
}

/// An `ID` as the registry's numeric id; `None` when it cannot be one (then nothing has it).
pub fn parse_id(id: &async_graphql::ID) -> Option<i64> {
    id.parse::<i64>().ok().filter(|id| *id > 0)
}
