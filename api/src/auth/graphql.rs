//! `me`: the caller as its token says.

use async_graphql::{Context, Object, SimpleObject};

use super::{Ctx, Role};
use crate::graphql::caller;
use crate::organizations::graphql::Organization;

/// The caller, as its token says.
#[derive(SimpleObject)]
#[graphql(name = "Principal")]
pub struct PrincipalObject {
    subject: String,
    role: Role,
    /// Root of the subtree the caller may see; null means everything.
    scope: Option<Organization>,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The caller: subject, role and scope, nothing more.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<PrincipalObject> {
        let caller: &Ctx = caller(ctx)?;
        let scope = match &caller.principal.scope {
            None => None,
            Some(scope) => crate::organizations::service::find(
                crate::graphql::db(ctx)?,
                caller,
                crate::organizations::service::Lookup::Id(scope.organization_id),
            )
            .await
            .map_err(|err| async_graphql::ErrorExtensions::extend(&err))?
            .map(Organization::in_scope),
        };
        Ok(PrincipalObject {
            subject: caller.principal.subject.clone(),
            role: caller.principal.role,
            scope,
        })
    }
}
