//! Plans (e.g. Đề án 04) and their progress. Progress is computed from the
//! data at query time, never stored: targeted cells are the cells of the
//! plan's types under the issuing committee that were active on the issue
//! date (established before its end, or with no date; not dissolved before
//! its start, UTC). "Under" is the tree as it stood at the end of the issue
//! date (the organization history), and a cell founded later counts where it
//! was founded; so a reorganization after the plan (a move, a merge) does
//! not change what was targeted, nor which committee a cell counts for. A
//! grassroots committee is complete when all its targeted cells are
//! dissolved and none of their members remain. A report costs seven
//! statements however many committees it has.

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

/// A plan with the issuer's subtree as it stood at the end of the issue date.
struct Placed<'a> {
    view: &'a PlanView,
    subtree: (String, String),
}

/// The alias of `organization_version` joined as each organization's place
/// for the plan.
fn placed_as() -> sea_orm::sea_query::Alias {
    sea_orm::sea_query::Alias::new("pv")
}

/// The id of the version that places an organization for the plan: the one
/// valid at the end of the issue date or, for one founded later, its first.
fn placement(view: &PlanView, organization_id: Expr) -> SelectStatement {
    use entity::organization_version as version;
    use sea_orm::sea_query::{Alias, CaseStatement};
    let (_, end) = issue_day(view);
    let w = Alias::new("w");
    let from = || Expr::col((w.clone(), version::Column::ValidFrom));
    let before_end = || from().lt(end);
    Query::select()
        .column((w.clone(), version::Column::Id))
        .from_as(version::Entity, w.clone())
        .and_where(Expr::col((w.clone(), version::Column::OrganizationId)).eq(organization_id))
        .order_by_expr(
            CaseStatement::new().case(before_end(), 0).finally(1).into(),
            sea_orm::Order::Asc,
        )
        .order_by_expr(
            CaseStatement::new()
                .case(before_end(), from())
                .finally(Expr::cust("NULL"))
                .into(),
            sea_orm::Order::Desc,
        )
        .order_by_expr(from(), sea_orm::Order::Asc)
        .limit(1)
        .to_owned()
}

/// Joins each organization's place for the plan as "pv".
fn join_placement(query: &mut SelectStatement, view: &PlanView) {
    use entity::organization_version as version;
    query.join_as(
        sea_orm::sea_query::JoinType::InnerJoin,
        version::Entity,
        placed_as(),
        Expr::col((placed_as(), version::Column::Id)).in_subquery(placement(
            view,
            Expr::col((organization::Entity, organization::Column::Id)),
        )),
    );
}

/// The issuer's subtree as it stood at the end of the issue date.
async fn place<'a, C: ConnectionTrait>(
    conn: &C,
    view: &'a PlanView,
) -> Result<Placed<'a>, AppError> {
    use entity::organization_version as version;
    let query = Query::select()
        .column(version::Column::Path)
        .from(version::Entity)
        .and_where(
            Expr::col(version::Column::Id)
                .in_subquery(placement(view, Expr::val(view.issued_by.id))),
        )
        .to_owned();
    let path: Option<String> = match conn.query_one(&query).await? {
        Some(row) => Some(row.try_get_by_index(0)?),
        None => None,
    };
    let path = path.unwrap_or_else(|| view.issued_by.path.clone());
    Ok(Placed {
        view,
        subtree: subtree_range(&path),
    })
}

/// Organizations under the issuer that existed on the issue date (with
/// their place for the plan joined as "pv").
fn under_issuer_on_issue_day(placed: &Placed<'_>) -> Condition {
    use entity::organization_version as version;
    let (start, end) = issue_day(placed.view);
    let col = |c: organization::Column| Expr::col((organization::Entity, c));
    Condition::all()
        .add(crate::tree::path_in(
            Expr::col((placed_as(), version::Column::Path)),
            &placed.subtree,
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

/// The plan's targeted cells, as a condition on `organization` (with "pv").
fn targeted(placed: &Placed<'_>) -> Condition {
    let view = placed.view;
    let col = |c: organization::Column| Expr::col((organization::Entity, c));
    under_issuer_on_issue_day(placed)
        .add(col(organization::Column::Kind).eq(OrganizationKind::Cell))
        .add(col(organization::Column::CellType).is_in(view.target_cell_types.iter().copied()))
}

/// Memberships in targeted cells: `membership JOIN organization JOIN pv`.
fn memberships_in_targeted(placed: &Placed<'_>) -> SelectStatement {
    let mut query = Query::select()
        .from(membership::Entity)
        .inner_join(
            organization::Entity,
            Expr::col((organization::Entity, organization::Column::Id))
                .equals((membership::Entity, membership::Column::OrganizationId)),
        )
        .to_owned();
    join_placement(&mut query, placed.view);
    query.cond_where(targeted(placed));
    query
}

fn member_count(mut query: SelectStatement, by_committee: bool) -> SelectStatement {
    query.expr(Func::count_distinct(Expr::col((
        membership::Entity,
        membership::Column::MemberId,
    ))));
    if by_committee {
        use entity::organization_version as version;
        query
            .column((placed_as(), version::Column::ParentId))
            .group_by_col((placed_as(), version::Column::ParentId));
    }
    query
}

/// Members with an open membership in a targeted cell.
fn remaining(placed: &Placed<'_>, by_committee: bool) -> SelectStatement {
    let mut query = memberships_in_targeted(placed);
    query.and_where(Expr::col((membership::Entity, membership::Column::EndedAt)).is_null());
    member_count(query, by_committee)
}

/// Members who left a targeted cell on or after the issue date, by a
/// transfer (not a removal or death), and remain in none.
fn transferred<'a>(placed: &'a Placed<'a>) -> impl Fn(bool) -> SelectStatement + 'a {
    move |by_committee| {
        let (start, _) = issue_day(placed.view);
        let still_there = {
            let mut open = memberships_in_targeted(placed);
            open.column((membership::Entity, membership::Column::MemberId))
                .and_where(Expr::col((membership::Entity, membership::Column::EndedAt)).is_null());
            open
        };
        let mut query = memberships_in_targeted(placed);
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
    use entity::organization_version as version;
    let placed = place(conn, view).await?;
    let mut committee_ids = Query::select()
        .column((organization::Entity, organization::Column::Id))
        .from(organization::Entity)
        .to_owned();
    join_placement(&mut committee_ids, view);
    committee_ids.cond_where(under_issuer_on_issue_day(&placed));
    let committees = organization::Entity::find()
        .filter(organization::Column::Id.in_subquery(committee_ids))
        .filter(organization::Column::Kind.eq(OrganizationKind::GrassrootsCommittee))
        .order_by_asc(organization::Column::Code)
        .all(conn)
        .await?;

    let col = |c: organization::Column| Expr::col((organization::Entity, c));
    let mut cells_query = Query::select()
        .column((placed_as(), version::Column::ParentId))
        .expr(Func::count(col(organization::Column::Id)))
        .expr(Func::count(col(organization::Column::DissolvedAt)))
        .expr(Func::max(col(organization::Column::DissolvedAt)))
        .from(organization::Entity)
        .to_owned();
    join_placement(&mut cells_query, view);
    cells_query
        .cond_where(targeted(&placed))
        .group_by_col((placed_as(), version::Column::ParentId));
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
    let (remaining_by, remaining_total) = counts(conn, |by| remaining(&placed, by)).await?;
    let (transferred_by, transferred_total) = counts(conn, transferred(&placed)).await?;

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
