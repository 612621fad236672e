//! GraphQL for plans: `Plan` with its progress and committee rows,
//! `plan`, `plans` and `createPlan`. A plan's report is computed once per
//! plan object, however many of its fields a query asks for.

use async_graphql::{Context, ErrorExtensions, InputObject, Object, SimpleObject};
use tokio::sync::OnceCell;

use super::service::{self, CreatePlan, PlanView, Report};
use crate::graphql::scalars::{Date, Instant};
use crate::graphql::{caller, db};
use crate::organizations::graphql::{CellType, Organization};

/// A reorganization plan (Kế hoạch / Đề án), e.g. DA04.
pub struct Plan {
    view: PlanView,
    report: OnceCell<Report>,
}

impl Plan {
    fn new(view: PlanView) -> Self {
        Self {
            view,
            report: OnceCell::new(),
        }
    }

    async fn report(&self, ctx: &Context<'_>) -> async_graphql::Result<&Report> {
        self.report
            .get_or_try_init(|| async {
                service::report(db(ctx)?, &self.view)
                    .await
                    .map_err(|e| e.extend())
            })
            .await
    }
}

#[Object]
impl Plan {
    /// e.g. DA04
    async fn code(&self) -> &str {
        &self.view.plan.code
    }

    async fn title(&self) -> &str {
        &self.view.plan.title
    }

    async fn issued_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let principal = &caller(ctx)?.principal;
        Ok(Organization::seen_by(
            principal,
            self.view.issued_by.clone(),
        ))
    }

    async fn issued_on(&self) -> Date {
        Date(self.view.plan.issued_on)
    }

    async fn deadline(&self) -> Option<Date> {
        self.view.plan.deadline.map(Date)
    }

    /// Cells of these types under issuedBy, active on issuedOn, are to be dissolved.
    async fn target_cell_types(&self) -> Vec<CellType> {
        self.view
            .target_cell_types
            .iter()
            .map(|t| (*t).into())
            .collect()
    }

    /// Totals, computed from the data now.
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<PlanProgress> {
        let progress = self.report(ctx).await?.progress;
        Ok(PlanProgress {
            committees_total: count(progress.committees_total),
            committees_completed: count(progress.committees_completed),
            cells_targeted: count(progress.cells_targeted),
            cells_dissolved: count(progress.cells_dissolved),
            members_transferred: count(progress.members_transferred),
            members_remaining: count(progress.members_remaining),
        })
    }

    /// One row per grassroots committee under issuedBy, by code.
    async fn committees(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PlanCommitteeProgress>> {
        let principal = &caller(ctx)?.principal;
        Ok(self
            .report(ctx)
            .await?
            .committees
            .iter()
            .map(|row| PlanCommitteeProgress {
                committee: Organization::seen_by(principal, row.committee.clone()),
                cells_targeted: count(row.cells_targeted),
                cells_dissolved: count(row.cells_dissolved),
                members_transferred: count(row.members_transferred),
                members_remaining: count(row.members_remaining),
                completed: row.completed,
                completed_at: row.completed_at.map(Instant),
            })
            .collect())
    }
}

/// Counts fit an `Int` for any registry of this country's size.
fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[derive(SimpleObject)]
pub struct PlanProgress {
    committees_total: i32,
    committees_completed: i32,
    cells_targeted: i32,
    cells_dissolved: i32,
    /// Members who left a targeted cell since the issue date and are in none now.
    members_transferred: i32,
    /// Members still active in a targeted cell.
    members_remaining: i32,
}

#[derive(SimpleObject)]
pub struct PlanCommitteeProgress {
    committee: Organization,
    cells_targeted: i32,
    cells_dissolved: i32,
    members_transferred: i32,
    members_remaining: i32,
    /// All targeted cells dissolved and none of their members remain.
    completed: bool,
    /// When the committee's last targeted cell was dissolved.
    completed_at: Option<Instant>,
}

#[derive(InputObject)]
pub struct CreatePlanInput {
    code: String,
    title: String,
    issued_by_code: String,
    issued_on: Date,
    deadline: Option<Date>,
    target_cell_types: Vec<CellType>,
}

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// A plan by code; null if absent or issued outside the caller's scope.
    async fn plan(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<Option<Plan>> {
        let found = service::find(db(ctx)?, caller(ctx)?, &code)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Plan::new))
    }

    /// Every plan issued in the caller's scope, by code.
    async fn plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plan>> {
        let found = service::list(db(ctx)?, caller(ctx)?)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.into_iter().map(Plan::new).collect())
    }
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// Records a plan: which cell types a committee ordered dissolved.
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        input: CreatePlanInput,
    ) -> async_graphql::Result<Plan> {
        let input = CreatePlan {
            code: input.code,
            title: input.title,
            issued_by_code: input.issued_by_code,
            issued_on: input.issued_on.0,
            deadline: input.deadline.map(|d| d.0),
            target_cell_types: input
                .target_cell_types
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let created = service::create(db(ctx)?, caller(ctx)?, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Plan::new(created))
    }
}
