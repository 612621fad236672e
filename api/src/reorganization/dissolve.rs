//! `dissolveOrganization` as one unit of work with its audit row: a cell
//! (`cell`) or a committee (`committee`).

use entity::enums::OrganizationKind;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::cell::dissolve_cell;
use super::committee::dissolve_committee;
use super::dissolution::{Dissolution, Dissolve, validate};
use crate::auth::{Ctx, Permission};
use crate::error::AppError;
use crate::organizations::service::{self as organizations, Lookup};
use crate::unit_of_work::{self, Done, Mutation};

/// `dissolveOrganization`, as one unit of work with its audit row.
pub async fn dissolve(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: Dissolve,
) -> Result<Dissolution, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for Dissolve {
    type Output = Dissolution;
    const ACTION: &'static str = "dissolveOrganization";

    fn target(&self) -> String {
        format!("{}:{}", self.organization_code, self.decision_ref)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<Dissolution>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        let now = crate::clock::now();
        validate(self, now)?;
        let org = organizations::find(txn, ctx, Lookup::Code(self.organization_code.clone()))
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let dissolution = if org.kind == OrganizationKind::Cell {
            dissolve_cell(txn, ctx, org.into_inner(), self, now).await?
        } else {
            dissolve_committee(txn, org.into_inner(), self, now).await?
        };
        let concerns = dissolution.organization.path.clone();
        Ok(Done::new(dissolution, concerns))
    }
}
