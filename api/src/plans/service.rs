//! Plans (e.g. Đề án 04) and their progress. Progress is computed from the
//! data at query time, never stored: targeted cells are the cells of the
//! plan's types under the issuing committee (its subtree now) that were
//! active on the issue date (established before its end, or with no date;
//! not dissolved before its start, UTC); a grassroots committee is complete
//! when all its targeted cells are dissolved and none of their members
//! remain. A report costs six statements however many committees it has.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use entity::enums::{CellType, OrganizationKind, TransferReason};
use entity::{membership, organization, plan, plan_target_cell_type, transfer_event};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::{BTreeSet, HashMap};

use crate::auth::{Ctx, Permission};
use crate::domain::{Name, OrganizationCode};
use crate::error::AppError;
use crate::organizations::service::{self as organizations, Lookup, subtree_range};
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `createPlan`.
#[derive(Debug, Clone)]
pub struct CreatePlan {
    pub code: String,
    pub title: String,
    pub issued_by_code: String,
    pub issued_on: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub target_cell_types: Vec<CellType>,
}

/// A plan with its issuer and targets.
#[derive(Debug, Clone)]
pub struct PlanView {
    pub plan: plan::Model,
    pub issued_by: organization::Model,
    /// In the order of the `CellType` enum.
    pub target_cell_types: Vec<CellType>,
}

/// Totals of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub committees_total: i64,
    pub committees_completed: i64,
    pub cells_targeted: i64,
    pub cells_dissolved: i64,
    /// Members who left a targeted cell on or after the issue date and are
    /// in none now (removals and deaths are not transfers).
    pub members_transferred: i64,
    /// Members with an open membership in a targeted cell.
    pub members_remaining: i64,
}

/// One grassroots committee's part of a plan.
#[derive(Debug, Clone)]
pub struct CommitteeProgress {
    pub committee: organization::Model,
    pub cells_targeted: i64,
    pub cells_dissolved: i64,
    pub members_transferred: i64,
    pub members_remaining: i64,
    pub completed: bool,
    /// When the last targeted cell was dissolved; null while incomplete or
    /// when the committee had nothing to do.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A plan's progress, with one row per grassroots committee in code order.
#[derive(Debug, Clone)]
pub struct Report {
    pub progress: Progress,
    pub committees: Vec<CommitteeProgress>,
}

fn validate(input: &mut CreatePlan, today: NaiveDate) -> Result<(), AppError> {
    OrganizationCode::parse("code", &input.code)?;
    input.title = Name::parse("title", &input.title)?.into_inner();
    OrganizationCode::parse("issuedByCode", &input.issued_by_code)?;
    if input.issued_on > today {
        return Err(AppError::invalid("issuedOn", "must not be in the future"));
    }
    if input
        .deadline
        .is_some_and(|deadline| deadline < input.issued_on)
    {
        return Err(AppError::invalid("deadline", "must not precede issuedOn"));
    }
    if input.target_cell_types.is_empty() {
        return Err(AppError::invalid(
            "targetCellTypes",
            "name at least one cell type",
        ));
    }
    let distinct: BTreeSet<_> = input.target_cell_types.iter().copied().collect();
    if distinct.len() != input.target_cell_types.len() {
        return Err(AppError::invalid(
            "targetCellTypes",
            "must not repeat a cell type",
        ));
    }
    input.target_cell_types = distinct.into_iter().collect();
    Ok(())
}

/// `createPlan`: by a committee in the caller's scope.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CreatePlan,
) -> Result<PlanView, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for CreatePlan {
    type Output = PlanView;
    const ACTION: &'static str = "createPlan";

    fn target(&self) -> String {
        self.code.clone()
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<PlanView>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        let now = crate::clock::now();
        let mut input = self.clone();
        validate(&mut input, now.date_naive())?;
        let issuer = organizations::find(txn, ctx, Lookup::Code(input.issued_by_code.clone()))
            .await?
            .ok_or(AppError::NotFound("issuing organization"))?;
        if issuer.kind == OrganizationKind::Cell {
            return Err(AppError::invalid(
                "issuedByCode",
                "a plan is issued by a committee, not a cell",
            ));
        }
        let taken = plan::Entity::find()
            .filter(plan::Column::Code.eq(&input.code))
            .one(txn)
            .await?;
        if taken.is_some() {
            return Err(AppError::Conflict("code: already in use".to_owned()));
        }
        let created = plan::ActiveModel {
            code: Set(input.code.clone()),
            title: Set(input.title.clone()),
            issued_by_id: Set(issuer.id),
            issued_on: Set(input.issued_on),
            deadline: Set(input.deadline),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        plan_target_cell_type::Entity::insert_many(input.target_cell_types.iter().map(
            |cell_type| plan_target_cell_type::ActiveModel {
                plan_id: Set(created.id),
                cell_type: Set(*cell_type),
            },
        ))
        .exec(txn)
        .await?;
        let concerns = issuer.path.clone();
        let view = PlanView {
            plan: created,
            issued_by: issuer.into_inner(),
            target_cell_types: input.target_cell_types,
        };
        Ok(Done::new(view, concerns))
    }
}

/// Plans with their issuers and targets, keeping those the caller may see
/// (issued by an organization in scope): three statements.
async fn views<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    plans: Vec<plan::Model>,
) -> Result<Vec<PlanView>, AppError> {
    let issuer_ids: Vec<i64> = plans.iter().map(|p| p.issued_by_id).collect();
    let issuers: HashMap<i64, organization::Model> = organizations::by_ids(conn, &issuer_ids)
        .await?
        .into_iter()
        .filter(|org| ctx.principal.sees_path(&org.path))
        .map(|org| (org.id, org))
        .collect();
    let plans: Vec<plan::Model> = plans
        .into_iter()
        .filter(|p| issuers.contains_key(&p.issued_by_id))
        .collect();
    let mut targets: HashMap<i64, Vec<CellType>> = HashMap::new();
    if !plans.is_empty() {
        for row in plan_target_cell_type::Entity::find()
            .filter(plan_target_cell_type::Column::PlanId.is_in(plans.iter().map(|p| p.id)))
            .all(conn)
            .await?
        {
            targets.entry(row.plan_id).or_default().push(row.cell_type);
        }
    }
    Ok(plans
        .into_iter()
        .filter_map(|plan| {
            let issued_by = issuers.get(&plan.issued_by_id)?.clone();
            let mut target_cell_types = targets.remove(&plan.id).unwrap_or_default();
            target_cell_types.sort();
            Some(PlanView {
                plan,
                issued_by,
                target_cell_types,
            })
        })
        .collect())
}

/// `plan(code)`: null when absent or issued outside the caller's scope.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    code: &str,
) -> Result<Option<PlanView>, AppError> {
    OrganizationCode::parse("code", code)?;
    let Some(found) = plan::Entity::find()
        .filter(plan::Column::Code.eq(code))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(views(conn, ctx, vec![found]).await?.pop())
}

/// `plans`: every plan the caller may see, by code.
pub async fn list<C: ConnectionTrait>(conn: &C, ctx: &Ctx) -> Result<Vec<PlanView>, AppError> {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Code)
        .all(conn)
        .await?;
    views(conn, ctx, plans).await
}

/// The plan's window: the UTC instants its issue date starts and ends.
fn issue_day(view: &PlanView) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = view.plan.issued_on.and_time(NaiveTime::MIN).and_utc();
    let end = view
        .plan
        .issued_on
        .checked_add_days(Days::new(1))
        .map_or(start, |next| next.and_time(NaiveTime::MIN).and_utc());
    (start, end)
}

/// Organizations under the issuer that existed on the issue date.
fn under_issuer_on_issue_day(view: &PlanView) -> Condition {
    let subtree = subtree_range(&view.issued_by.path);
    let (start, end) = issue_day(view);
    let col = |c: organization::Column| Expr::col((organization::Entity, c));
    Condition::all()
        .add(crate::tree::path_in(
            col(organization::Column::Path),
            &subtree,
        ))
        .add(
            Condition::any()
                .add(col(organization::Column::EstablishedAt).is_null())
                .add(col(organization::Column::EstablishedAt).lt(end)),
        )
        .add(
            Condition::any()
                .add(col(organization::Column::DissolvedAt).is_null())
                .add(col(organization::Column::DissolvedAt).gte(start)),
        )
}

/// The plan's targeted cells, as a condition on `organization`.
fn targeted(view: &PlanView) -> Condition {
    let col = |c: organization::Column| Expr::col((organization::Entity, c));
    under_issuer_on_issue_day(view)
        .add(col(organization::Column::Kind).eq(OrganizationKind::Cell))
        .add(col(organization::Column::CellType).is_in(view.target_cell_types.iter().copied()))
}

/// Memberships in targeted cells: `membership JOIN organization`.
fn memberships_in_targeted(view: &PlanView) -> SelectStatement {
    Query::select()
        .from(membership::Entity)
        .inner_join(
            organization::Entity,
            Expr::col((organization::Entity, organization::Column::Id))
                .equals((membership::Entity, membership::Column::OrganizationId)),
        )
        .cond_where(targeted(view))
        .to_owned()
}

fn member_count(mut query: SelectStatement, by_committee: bool) -> SelectStatement {
    query.expr(Func::count_distinct(Expr::col((
        membership::Entity,
        membership::Column::MemberId,
    ))));
    if by_committee {
        query
            .column((organization::Entity, organization::Column::ParentId))
            .group_by_col((organization::Entity, organization::Column::ParentId));
    }
    query
}

/// Members with an open membership in a targeted cell.
fn remaining(view: &PlanView, by_committee: bool) -> SelectStatement {
    let mut query = memberships_in_targeted(view);
    query.and_where(Expr::col((membership::Entity, membership::Column::EndedAt)).is_null());
    member_count(query, by_committee)
}

/// Members who left a targeted cell on or after the issue date, by a
/// transfer (not a removal or death), and remain in none.
fn transferred(view: &PlanView) -> impl Fn(bool) -> SelectStatement + '_ {
    move |by_committee| {
        let (start, _) = issue_day(view);
        let still_there = {
            let mut open = memberships_in_targeted(view);
            open.column((membership::Entity, membership::Column::MemberId))
                .and_where(Expr::col((membership::Entity, membership::Column::EndedAt)).is_null());
            open
        };
        let mut query = memberships_in_targeted(view);
        query
            .inner_join(
                transfer_event::Entity,
                Expr::col((transfer_event::Entity, transfer_event::Column::Id))
                    .equals((membership::Entity, membership::Column::ClosedByEventId)),
            )
            .and_where(Expr::col((membership::Entity, membership::Column::EndedAt)).gte(start))
            .and_where(
                Expr::col((transfer_event::Entity, transfer_event::Column::Reason))
                    .is_not_in([TransferReason::Removal, TransferReason::Death]),
            )
            .and_where(
                Expr::col((membership::Entity, membership::Column::MemberId))
                    .not_in_subquery(still_there),
            );
        member_count(query, by_committee)
    }
}

/// Per-committee counts keyed by the cells' parent, and the plan's total.
async fn counts<C: ConnectionTrait>(
    conn: &C,
    build: impl Fn(bool) -> SelectStatement,
) -> Result<(HashMap<i64, i64>, i64), AppError> {
    let mut by_parent = HashMap::new();
    for row in conn.query_all(&build(true)).await? {
        let count: i64 = row.try_get_by_index(0)?;
        if let Some(parent) = row.try_get_by_index::<Option<i64>>(1)? {
            by_parent.insert(parent, count);
        }
    }
    let total = match conn.query_one(&build(false)).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok((by_parent, total))
}

#[derive(Default)]
struct CellCounts {
    targeted: i64,
    dissolved: i64,
    last_dissolved_at: Option<DateTime<Utc>>,
}

/// The plan's progress and its committees' rows, from the data as it is now.
pub async fn report<C: ConnectionTrait>(conn: &C, view: &PlanView) -> Result<Report, AppError> {
    let committees = organization::Entity::find()
        .filter(under_issuer_on_issue_day(view))
        .filter(organization::Column::Kind.eq(OrganizationKind::GrassrootsCommittee))
        .order_by_asc(organization::Column::Code)
        .all(conn)
        .await?;

    let cells_query = Query::select()
        .column(organization::Column::ParentId)
        .expr(Func::count(Expr::col(organization::Column::Id)))
        .expr(Func::count(Expr::col(organization::Column::DissolvedAt)))
        .expr(Func::max(Expr::col(organization::Column::DissolvedAt)))
        .from(organization::Entity)
        .cond_where(targeted(view))
        .group_by_col(organization::Column::ParentId)
        .to_owned();
    let mut cells: HashMap<Option<i64>, CellCounts> = HashMap::new();
    for row in conn.query_all(&cells_query).await? {
        cells.insert(
            row.try_get_by_index(0)?,
            CellCounts {
                targeted: row.try_get_by_index(1)?,
                dissolved: row.try_get_by_index(2)?,
                last_dissolved_at: row.try_get_by_index(3)?,
            },
        );
    }
    let (remaining_by, remaining_total) = counts(conn, |by| remaining(view, by)).await?;
    let (transferred_by, transferred_total) = counts(conn, transferred(view)).await?;

    let rows: Vec<CommitteeProgress> = committees
        .into_iter()
        .map(|committee| {
            let own = cells.get(&Some(committee.id));
            let cells_targeted = own.map_or(0, |c| c.targeted);
            let cells_dissolved = own.map_or(0, |c| c.dissolved);
            let members_remaining = remaining_by.get(&committee.id).copied().unwrap_or(0);
            let completed = cells_dissolved == cells_targeted && members_remaining == 0;
            CommitteeProgress {
                cells_targeted,
                cells_dissolved,
                members_transferred: transferred_by.get(&committee.id).copied().unwrap_or(0),
                members_remaining,
                completed,
                completed_at: own.and_then(|c| c.last_dissolved_at).filter(|_| completed),
                committee,
            }
        })
        .collect();
    let progress = Progress {
        committees_total: rows.len() as i64,
        committees_completed: rows.iter().filter(|row| row.completed).count() as i64,
        cells_targeted: cells.values().map(|c| c.targeted).sum(),
        cells_dissolved: cells.values().map(|c| c.dissolved).sum(),
        members_transferred: transferred_total,
        members_remaining: remaining_total,
    };
    Ok(Report {
        progress,
        committees: rows,
    })
}
