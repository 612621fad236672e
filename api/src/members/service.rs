//! Rules and transactions for members. A member is visible to a caller when
//! the cell of their latest OFFICIAL membership lies in the caller's scope.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use entity::enums::{CellType, MemberStatus, MembershipKind, TransferReason};
use entity::{member, membership, organization, transfer_event};
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use crate::audit::service::audited;
use crate::auth::{Ctx, Permission, mask_national_id};
use crate::error::AppError;
use crate::organizations::service::validate_code;
use crate::organizations::service::{self as organizations, Lookup};
use crate::page::{Page, PageOf};

/// How a caller names a member.
#[derive(Debug, Clone)]
pub enum MemberLookup {
    Id(i64),
    NationalId(String),
    PartyCardNumber(String),
}

/// A member as one caller may see them: personal data present only for
/// roles that may see it. Every API view of a member is built from this.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub model: member::Model,
    personal_data: bool,
}

impl MemberView {
    pub fn new(model: member::Model, ctx: &Ctx) -> Self {
        Self {
            model,
            personal_data: ctx.principal.may(Permission::PersonalData),
        }
    }

    /// Full for roles with personal-data access, else all but the last 4 digits masked.
    pub fn national_id(&self) -> String {
        if self.personal_data {
            self.model.national_id.clone()
        } else {
            mask_national_id(&self.model.national_id)
        }
    }

    /// Null for roles without personal-data access.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        self.model.birth_date.filter(|_| self.personal_data)
    }
}

/// Input of `registerMember`.
#[derive(Debug, Clone)]
pub struct RegisterMember {
    pub national_id: String,
    pub party_card_number: Option<String>,
    pub full_name: String,
    pub birth_date: Option<NaiveDate>,
    pub admitted_on: Option<NaiveDate>,
    pub official_on: Option<NaiveDate>,
    pub status: MemberStatus,
    pub organization_code: String,
    pub residence_cell_code: Option<String>,
    pub external_id: String,
}

/// Exactly 12 ASCII digits (CCCD).
pub fn validate_national_id(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::invalid(field, "must be exactly 12 digits"))
    }
}

/// 4 to 32 of A-Z 0-9 . -, starting with a letter or digit.
pub fn validate_party_card_number(value: &str) -> Result<(), AppError> {
    let ok = (4..=32).contains(&value.len())
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "partyCardNumber",
            "must be 4 to 32 of A-Z 0-9 . - starting with a letter or digit",
        ))
    }
}

/// Idempotency keys: 1 to 128 of A-Z a-z 0-9 . _ : -, compared byte for byte.
pub fn validate_external_id(value: &str) -> Result<(), AppError> {
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "externalId",
            "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
        ))
    }
}

pub(super) fn years_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// Checks every field of a registration that needs no database, and fills defaults.
fn validate_registration(input: &mut RegisterMember, today: NaiveDate) -> Result<(), AppError> {
    validate_national_id("nationalId", &input.national_id)?;
    if let Some(card) = &input.party_card_number {
        validate_party_card_number(card)?;
    }
    input.full_name = organizations::validate_name("fullName", &input.full_name)?;
    validate_external_id(&input.external_id)?;
    validate_code("organizationCode", &input.organization_code)?;
    if let Some(code) = &input.residence_cell_code {
        validate_code("residenceCellCode", code)?;
    }
    if matches!(input.status, MemberStatus::Removed | MemberStatus::Deceased) {
        return Err(AppError::invalid(
            "status",
            "a new member is PROBATIONARY or OFFICIAL",
        ));
    }
    let admitted_on = input.admitted_on.unwrap_or(today);
    if admitted_on > today {
        return Err(AppError::invalid("admittedOn", "must not be in the future"));
    }
    input.admitted_on = Some(admitted_on);
    if let Some(birth) = input.birth_date {
        if birth >= today {
            return Err(AppError::invalid("birthDate", "must be in the past"));
        }
        if years_between(birth, admitted_on) < 18 {
            return Err(AppError::invalid(
                "birthDate",
                "must be at least 18 years before admission",
            ));
        }
    }
    if let Some(official) = input.official_on {
        if official < admitted_on {
            return Err(AppError::invalid(
                "officialOn",
                "must not precede admittedOn",
            ));
        }
        if official > today {
            return Err(AppError::invalid("officialOn", "must not be in the future"));
        }
    }
    Ok(())
}

/// Hash of the normalized registration: a retry with the same key and the
/// same content is recognised, a different content under the same key is not.
fn request_hash(input: &RegisterMember) -> String {
    let canonical = serde_json::json!([
        "registerMember",
        input.national_id,
        input.party_card_number,
        input.full_name,
        input.birth_date,
        input.admitted_on,
        input.official_on,
        input.status,
        input.organization_code,
        input.residence_cell_code,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

pub(super) async fn active_cell<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    field: &'static str,
    code: &str,
) -> Result<organization::Model, AppError> {
    let cell = organizations::find_for_new_members(conn, ctx, Lookup::Code(code.to_owned()))
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if !organizations::is_active_cell(&cell) {
        return Err(AppError::invalid(field, "must be an ACTIVE CELL"));
    }
    Ok(cell)
}

/// `registerMember`: the admission. Opens the first OFFICIAL membership and
/// records the admission as the member's first transfer event (from = null),
/// in one transaction. A retry with the same `externalId` and content returns the member.
pub async fn register(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: RegisterMember,
) -> Result<member::Model, AppError> {
    let target = format!("{}:{}", input.organization_code, input.external_id);
    let caller = ctx.clone();
    audited(db, ctx, "registerMember", &target, move |txn| {
        let caller = caller.clone();
        let mut input = input.clone();
        Box::pin(async move {
            let ctx = &caller;
            ctx.principal.require(Permission::Organize)?;
            let now = crate::clock::now();
            validate_registration(&mut input, now.date_naive())?;
            let hash = request_hash(&input);

            let earlier = transfer_event::Entity::find()
                .filter(transfer_event::Column::Submitter.eq(&ctx.principal.subject))
                .filter(transfer_event::Column::ExternalId.eq(&input.external_id))
                .one(txn)
                .await?;
            if let Some(earlier) = earlier {
                if earlier.request_hash != hash {
                    return Err(AppError::Conflict(
                        "externalId: already used for a different request".to_owned(),
                    ));
                }
                let member = member::Entity::find_by_id(earlier.member_id)
                    .one(txn)
                    .await?
                    .ok_or_else(|| {
                        AppError::Internal(anyhow::anyhow!("admission event without its member"))
                    })?;
                let cell_path = organization::Entity::find_by_id(earlier.to_organization_id)
                    .one(txn)
                    .await?
                    .map(|cell| cell.path)
                    .unwrap_or_default();
                return Ok((member, cell_path));
            }

            let cell = active_cell(txn, ctx, "organizationCode", &input.organization_code).await?;
            let residence = match &input.residence_cell_code {
                None => None,
                Some(code) => {
                    let residence = active_cell(txn, ctx, "residenceCellCode", code).await?;
                    if residence.cell_type != Some(CellType::Residential) {
                        return Err(AppError::invalid(
                            "residenceCellCode",
                            "must be a RESIDENTIAL cell",
                        ));
                    }
                    Some(residence)
                }
            };
            let mut duplicate =
                Condition::any().add(member::Column::NationalId.eq(&input.national_id));
            if let Some(card) = &input.party_card_number {
                duplicate = duplicate.add(member::Column::PartyCardNumber.eq(card));
            }
            if let Some(existing) = member::Entity::find().filter(duplicate).one(txn).await? {
                let field = if existing.national_id == input.national_id {
                    "nationalId"
                } else {
                    "partyCardNumber"
                };
                return Err(AppError::Conflict(format!("{field}: already registered")));
            }

            let created = member::ActiveModel {
                national_id: Set(input.national_id.clone()),
                party_card_number: Set(input.party_card_number.clone()),
                full_name: Set(input.full_name.clone()),
                birth_date: Set(input.birth_date),
                admitted_on: Set(input.admitted_on),
                official_on: Set(input.official_on),
                status: Set(input.status),
                residence_cell_id: Set(residence.map(|r| r.id)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;

            // The membership starts on the admission day (00:00 UTC), or now when admitted today.
            let effective_at = input
                .admitted_on
                .map(|day| day.and_time(NaiveTime::MIN).and_utc())
                .filter(|at| *at < now)
                .unwrap_or(now);
            let event = crate::transfers::service::record_event(
                txn,
                transfer_event::ActiveModel {
                    submitter: Set(ctx.principal.subject.clone()),
                    external_id: Set(input.external_id.clone()),
                    request_hash: Set(hash),
                    member_id: Set(created.id),
                    from_organization_id: Set(None),
                    to_organization_id: Set(cell.id),
                    kind: Set(MembershipKind::Official),
                    reason: Set(TransferReason::Admission),
                    decision_ref: Set(None),
                    effective_at: Set(effective_at),
                    recorded_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            crate::transfers::service::open_membership(txn, &event).await?;
            Ok((created, cell.path))
        })
    })
    .await
}

/// The member's latest OFFICIAL membership, open or not.
async fn latest_official<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<Option<membership::Model>, AppError> {
    Ok(membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .order_by_desc(membership::Column::StartedAt)
        .order_by_desc(membership::Column::Id)
        .one(conn)
        .await?)
}

/// The materialized path of the member's latest official cell (empty if none):
/// where an audit row about the member belongs.
pub async fn latest_official_path<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<String, AppError> {
    let Some(latest) = latest_official(conn, member_id).await? else {
        return Ok(String::new());
    };
    Ok(organization::Entity::find_by_id(latest.organization_id)
        .one(conn)
        .await?
        .map(|cell| cell.path)
        .unwrap_or_default())
}

/// Whether the caller may see this member.
async fn visible<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    member: &member::Model,
) -> Result<bool, AppError> {
    if ctx.principal.scope.is_none() {
        return Ok(true);
    }
    let Some(latest) = latest_official(conn, member.id).await? else {
        return Ok(false);
    };
    Ok(
        organizations::find(conn, ctx, Lookup::Id(latest.organization_id))
            .await?
            .is_some(),
    )
}

/// One member, if they exist and the caller may see them. Looking up by
/// national ID needs personal-data access: otherwise it would tell a caller
/// whether a citizen is a member.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: MemberLookup,
) -> Result<Option<MemberView>, AppError> {
    let query = member::Entity::find();
    let found = match lookup {
        MemberLookup::Id(id) => query.filter(member::Column::Id.eq(id)).one(conn).await?,
        MemberLookup::NationalId(national_id) => {
            ctx.principal.require(Permission::PersonalData)?;
            validate_national_id("nationalId", &national_id)?;
            query
                .filter(member::Column::NationalId.eq(national_id))
                .one(conn)
                .await?
        }
        MemberLookup::PartyCardNumber(card) => {
            query
                .filter(member::Column::PartyCardNumber.eq(card))
                .one(conn)
                .await?
        }
    };
    match found {
        Some(member) if visible(conn, ctx, &member).await? => {
            Ok(Some(MemberView::new(member, ctx)))
        }
        _ => Ok(None),
    }
}

/// The OFFICIAL membership open at `as_of` (default now), if its cell is in scope.
pub async fn membership_at<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    member_id: i64,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<membership::Model>, AppError> {
    let as_of = as_of.unwrap_or_else(crate::clock::now);
    let found = membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .filter(membership::Column::StartedAt.lte(as_of))
        .filter(
            Condition::any()
                .add(membership::Column::EndedAt.is_null())
                .add(membership::Column::EndedAt.gt(as_of)),
        )
        .one(conn)
        .await?;
    match found {
        Some(found)
            if organizations::find(conn, ctx, Lookup::Id(found.organization_id))
                .await?
                .is_some() =>
        {
            Ok(Some(found))
        }
        _ => Ok(None),
    }
}

/// Filters of the `members` list.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Code of the subtree whose active members to list.
    pub within: Option<String>,
    pub status: Option<MemberStatus>,
    pub name_contains: Option<String>,
}

/// Memberships open at an instant: started at or before it, not ended by then.
fn open_at(as_of: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(membership::Column::StartedAt.lte(as_of))
        .add(
            Condition::any()
                .add(membership::Column::EndedAt.is_null())
                .add(membership::Column::EndedAt.gt(as_of)),
        )
}

/// Ids of organizations in a range of materialized paths, as a subquery.
fn organizations_in(range: &(String, String)) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(organization::Column::Id)
        .from(organization::Entity)
        .and_where(Expr::col(organization::Column::Path).gte(range.0.clone()))
        .and_where(Expr::col(organization::Column::Path).lt(range.1.clone()))
        .to_owned()
}

/// `members(...)`: members with an open OFFICIAL membership in the subtree
/// (the caller's scope, or `within`), in id order.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: MemberFilter,
    page: Page,
) -> Result<PageOf<MemberView>, AppError> {
    let name = filter
        .name_contains
        .as_deref()
        .map(|n| organizations::name_filter("nameContains", n))
        .transpose()?;
    let Some(range) = organizations::search_range(conn, ctx, filter.within.as_deref()).await?
    else {
        return Ok(PageOf::empty());
    };
    let mut query = member::Entity::find();
    if let Some(range) = range {
        let active_here = Query::select()
            .column(membership::Column::MemberId)
            .from(membership::Entity)
            .and_where(Expr::col(membership::Column::Kind).eq(MembershipKind::Official.to_value()))
            .and_where(Expr::col(membership::Column::EndedAt).is_null())
            .and_where(
                Expr::col(membership::Column::OrganizationId).in_subquery(organizations_in(&range)),
            )
            .to_owned();
        query = query.filter(member::Column::Id.in_subquery(active_here));
    }
    if let Some(status) = filter.status {
        query = query.filter(member::Column::Status.eq(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(member::Column::FullName)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let found = crate::page::fetch_page(conn, query, member::Column::Id, page).await?;
    Ok(found.map(|m| MemberView::new(m, ctx)))
}

/// Members by id, whatever the scope: for loaders, whose callers check it with `member_visible`.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<member::Model>, AppError> {
    Ok(member::Entity::find()
        .filter(member::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The rule of visibility, given where the member's latest OFFICIAL membership is.
pub fn member_visible(ctx: &Ctx, latest_cell: Option<&organization::Model>) -> bool {
    ctx.principal.scope.is_none()
        || latest_cell.is_some_and(|cell| ctx.principal.sees_path(&cell.path))
}

/// Each member's latest OFFICIAL membership, open or not, in one query.
pub async fn latest_officials<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
) -> Result<HashMap<i64, membership::Model>, AppError> {
    let rows = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .order_by_asc(membership::Column::StartedAt)
        .order_by_asc(membership::Column::Id)
        .all(conn)
        .await?;
    // Later rows overwrite earlier ones: the last is the latest.
    Ok(rows.into_iter().map(|row| (row.member_id, row)).collect())
}

/// Memberships of several members open at one instant, optionally of one kind.
pub async fn memberships_at<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
    as_of: DateTime<Utc>,
    kind: Option<MembershipKind>,
) -> Result<HashMap<i64, Vec<membership::Model>>, AppError> {
    let mut query = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(open_at(as_of));
    if let Some(kind) = kind {
        query = query.filter(membership::Column::Kind.eq(kind));
    }
    let mut found: HashMap<i64, Vec<membership::Model>> = HashMap::new();
    for row in query.order_by_asc(membership::Column::Id).all(conn).await? {
        found.entry(row.member_id).or_default().push(row);
    }
    Ok(found)
}

/// Every membership of several members, oldest first.
pub async fn histories<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
) -> Result<HashMap<i64, Vec<membership::Model>>, AppError> {
    let rows = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in(member_ids.iter().copied()))
        .order_by_asc(membership::Column::StartedAt)
        .order_by_asc(membership::Column::Id)
        .all(conn)
        .await?;
    let mut found: HashMap<i64, Vec<membership::Model>> = HashMap::new();
    for row in rows {
        found.entry(row.member_id).or_default().push(row);
    }
    Ok(found)
}

/// Which memberships of an organization are listed or counted: open at
/// `as_of`, in it alone or in its whole subtree, of one kind or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipFilter {
    pub as_of: DateTime<Utc>,
    pub include_descendants: bool,
    pub kind: Option<MembershipKind>,
}

/// The memberships the filter keeps of each of several organizations (of
/// each one's subtree with `include_descendants`): `organization` as "o",
/// joined to `membership` as "ms"; a membership in the subtrees of two listed
/// organizations comes once for each.
fn memberships_of_listed(
    organization_ids: &[i64],
    filter: &MembershipFilter,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, JoinType};
    let (org, within, ms) = (Alias::new("o"), Alias::new("d"), Alias::new("ms"));
    let mut kept = Condition::all()
        .add(Expr::col((ms.clone(), membership::Column::StartedAt)).lte(filter.as_of))
        .add(
            Condition::any()
                .add(Expr::col((ms.clone(), membership::Column::EndedAt)).is_null())
                .add(Expr::col((ms.clone(), membership::Column::EndedAt)).gt(filter.as_of)),
        );
    if let Some(kind) = filter.kind {
        kept = kept.add(Expr::col((ms.clone(), membership::Column::Kind)).eq(kind));
    }
    let mut query = Query::select();
    query.from_as(organization::Entity, org.clone());
    let holder = if filter.include_descendants {
        // The subtree of path P is the half-open range [P, P without its
        // last '/' followed by '0'), as `organizations::subtree_range` says.
        query.join_as(
            JoinType::InnerJoin,
            organization::Entity,
            within.clone(),
            Condition::all()
                .add(
                    Expr::col((within.clone(), organization::Column::Path))
                        .gte(Expr::col((org.clone(), organization::Column::Path))),
                )
                .add(
                    Expr::col((within.clone(), organization::Column::Path)).lt(Expr::cust(
                        r#"substr("o"."path", 1, length("o"."path") - 1) || '0'"#,
                    )),
                ),
        );
        within
    } else {
        org.clone()
    };
    query
        .join_as(
            JoinType::InnerJoin,
            membership::Entity,
            ms.clone(),
            kept.add(
                Expr::col((ms, membership::Column::OrganizationId))
                    .equals((holder, organization::Column::Id)),
            ),
        )
        .and_where(
            Expr::col((org, organization::Column::Id)).is_in(organization_ids.iter().copied()),
        );
    query
}

/// How many memberships the filter keeps in each of several organizations,
/// in one statement. Organizations without any are left out.
pub async fn membership_counts<C: ConnectionTrait>(
    conn: &C,
    organization_ids: &[i64],
    filter: MembershipFilter,
) -> Result<HashMap<i64, u64>, AppError> {
    use sea_orm::sea_query::Alias;
    if organization_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = memberships_of_listed(organization_ids, &filter);
    query
        .expr_as(
            Expr::col((Alias::new("o"), organization::Column::Id)),
            Alias::new("organization_id"),
        )
        .expr_as(
            Expr::col((Alias::new("ms"), membership::Column::Id)).count(),
            Alias::new("members"),
        )
        .group_by_col((Alias::new("o"), organization::Column::Id));
    let mut counts = HashMap::new();
    for row in conn.query_all(&query).await? {
        let id: i64 = row.try_get("", "organization_id")?;
        let members: i64 = row.try_get("", "members")?;
        counts.insert(id, u64::try_from(members).unwrap_or(0));
    }
    Ok(counts)
}

/// The same page of memberships (membership-id order) of each of several
/// organizations, in two statements: the counts, then the rows
/// (`page::fetch_pages`). Organizations that have none get an empty page.
pub async fn membership_pages<C: ConnectionTrait>(
    conn: &C,
    organization_ids: &[i64],
    filter: MembershipFilter,
    page: Page,
) -> Result<HashMap<i64, PageOf<membership::Model>>, AppError> {
    use sea_orm::Iterable;
    use sea_orm::sea_query::Alias;
    let mut totals = membership_counts(conn, organization_ids, filter).await?;
    let listed: Vec<i64> = totals.keys().copied().collect();
    let mut rows = memberships_of_listed(&listed, &filter);
    for column in membership::Column::iter() {
        rows.column((Alias::new("ms"), column));
    }
    for id in organization_ids {
        totals.entry(*id).or_insert(0);
    }
    Ok(crate::page::fetch_pages(
        conn,
        rows,
        Expr::col((Alias::new("o"), organization::Column::Id)),
        Expr::col((Alias::new("ms"), membership::Column::Id)),
        page,
        &totals,
    )
    .await?)
}

/// Where a member is at an instant: the membership, its cell and the committee above.
pub struct Placement {
    pub member: MemberView,
    pub membership: membership::Model,
    pub cell: organization::Model,
    pub committee: Option<organization::Model>,
}

/// Selects every column of an entity from a table alias, each named `{prefix}{column}`.
fn columns_as<E: EntityTrait>(
    query: &mut sea_orm::sea_query::SelectStatement,
    table: &'static str,
    prefix: &str,
) {
    use sea_orm::sea_query::Alias;
    use sea_orm::{IdenStatic, Iterable};
    for column in E::Column::iter() {
        query.expr_as(
            Expr::col((Alias::new(table), column)),
            Alias::new(format!("{prefix}{}", column.as_str())),
        );
    }
}

/// Where a member is now, in one statement: the member, their open OFFICIAL
/// membership, its cell and the cell's parent. `None` when the member is
/// absent, out of the caller's scope, or has no open official membership
/// (callers then take the general path, `find` and `membership_at`).
/// The member lookups of GraphQL and REST both start here.
pub async fn current_placement<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: &MemberLookup,
    now: DateTime<Utc>,
) -> Result<CurrentPlacement, AppError> {
    use sea_orm::sea_query::{Alias, JoinType};
    use sea_orm::{FromQueryResult, QueryResult};
    let (column, value) = match lookup {
        MemberLookup::Id(id) => (member::Column::Id, sea_orm::Value::from(*id)),
        MemberLookup::NationalId(national_id) => {
            ctx.principal.require(Permission::PersonalData)?;
            validate_national_id("nationalId", national_id)?;
            (member::Column::NationalId, national_id.clone().into())
        }
        MemberLookup::PartyCardNumber(card) => {
            (member::Column::PartyCardNumber, card.clone().into())
        }
    };
    let (m, ms, cell, parent) = ("m", "ms", "cell", "parent");
    let mut query = Query::select();
    columns_as::<member::Entity>(&mut query, m, "m_");
    columns_as::<membership::Entity>(&mut query, ms, "ms_");
    columns_as::<organization::Entity>(&mut query, cell, "c_");
    columns_as::<organization::Entity>(&mut query, parent, "p_");
    query
        .from_as(member::Entity, Alias::new(m))
        // Left joins: the member's row comes back whether or not they are
        // placed, so telling "absent" from "placed elsewhere" needs no
        // second statement (which would take measurably longer).
        .join_as(
            JoinType::LeftJoin,
            membership::Entity,
            Alias::new(ms),
            Condition::all()
                .add(
                    Expr::col((Alias::new(ms), membership::Column::MemberId))
                        .equals((Alias::new(m), member::Column::Id)),
                )
                .add(
                    Expr::col((Alias::new(ms), membership::Column::Kind))
                        .eq(MembershipKind::Official),
                )
                // Open, so it is also the latest, the one that decides visibility.
                .add(Expr::col((Alias::new(ms), membership::Column::EndedAt)).is_null())
                .add(Expr::col((Alias::new(ms), membership::Column::StartedAt)).lte(now)),
        )
        .join_as(
            JoinType::LeftJoin,
            organization::Entity,
            Alias::new(cell),
            Expr::col((Alias::new(cell), organization::Column::Id))
                .equals((Alias::new(ms), membership::Column::OrganizationId)),
        )
        .join_as(
            JoinType::LeftJoin,
            organization::Entity,
            Alias::new(parent),
            Expr::col((Alias::new(parent), organization::Column::Id))
                .equals((Alias::new(cell), organization::Column::ParentId)),
        )
        .and_where(Expr::col((Alias::new(m), column)).eq(value));
    let Some(row): Option<QueryResult> = conn.query_one(&query).await? else {
        return Ok(CurrentPlacement::Unseen);
    };
    let membership = membership::Model::from_query_result_optional(&row, "ms_")?;
    let cell = organization::Model::from_query_result_optional(&row, "c_")?;
    let (Some(membership), Some(cell)) = (membership, cell) else {
        return Ok(CurrentPlacement::Unplaced);
    };
    if !member_visible(ctx, Some(&cell)) {
        return Ok(CurrentPlacement::Unseen);
    }
    let person = member::Model::from_query_result(&row, "m_")?;
    let committee = organization::Model::from_query_result_optional(&row, "p_")?
        .filter(|parent| ctx.principal.sees_path(&parent.path));
    Ok(CurrentPlacement::Placed(Box::new(Placement {
        member: MemberView::new(person, ctx),
        membership,
        cell,
        committee,
    })))
}

/// Where a looked-up member stands now, as far as the caller may know.
pub enum CurrentPlacement {
    /// In an open OFFICIAL membership of a cell the caller sees.
    Placed(Box<Placement>),
    /// Exists, with no open OFFICIAL membership (removed, deceased, or not
    /// yet started): whether the caller sees them follows their latest
    /// membership (`find`).
    Unplaced,
    /// Absent, or placed in a cell outside the caller's scope: the same
    /// answer after the same one statement, so neither the answer nor its
    /// time tells which.
    Unseen,
}

/// The member with this national ID, their OFFICIAL membership open at
/// `as_of` (default now) and its cell and committee; `None` if any is absent
/// or out of scope.
pub async fn placement<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    national_id: &str,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<Placement>, AppError> {
    let lookup = MemberLookup::NationalId(national_id.to_owned());
    if as_of.is_none() {
        let now = crate::clock::now();
        match current_placement(conn, ctx, &lookup, now).await? {
            CurrentPlacement::Placed(placed) => return Ok(Some(*placed)),
            CurrentPlacement::Unseen => return Ok(None),
            CurrentPlacement::Unplaced => {}
        }
    }
    let Some(member) = find(conn, ctx, lookup).await? else {
        return Ok(None);
    };
    let Some(membership) = membership_at(conn, ctx, member.model.id, as_of).await? else {
        return Ok(None);
    };
    let Some(cell) = organizations::find(conn, ctx, Lookup::Id(membership.organization_id)).await?
    else {
        return Ok(None);
    };
    let committee = match cell.parent_id {
        Some(parent) => organizations::find(conn, ctx, Lookup::Id(parent)).await?,
        None => None,
    };
    Ok(Some(Placement {
        member,
        membership,
        cell,
        committee,
    }))
}

/// A page of an organization's open OFFICIAL memberships with their members.
pub async fn active_members_of<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    org: &organization::Model,
    page: Page,
) -> Result<PageOf<(membership::Model, MemberView)>, AppError> {
    let filter = MembershipFilter {
        as_of: crate::clock::now(),
        include_descendants: false,
        kind: Some(MembershipKind::Official),
    };
    let memberships = membership_pages(conn, &[org.id], filter, page)
        .await?
        .remove(&org.id)
        .unwrap_or_else(PageOf::empty);
    let ids: Vec<i64> = memberships.items.iter().map(|m| m.member_id).collect();
    let mut people: HashMap<i64, member::Model> = by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let items = memberships
        .items
        .into_iter()
        .filter_map(|m| {
            people
                .remove(&m.member_id)
                .map(|person| (m, MemberView::new(person, ctx)))
        })
        .collect();
    Ok(PageOf {
        items,
        total: memberships.total,
        has_next: memberships.has_next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RegisterMember {
        RegisterMember {
            national_id: "001234567890".into(),
            party_card_number: Some("93.012345".into()),
            full_name: " Nguyễn Văn A ".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 5, 1),
            admitted_on: NaiveDate::from_ymd_opt(2010, 5, 1),
            official_on: NaiveDate::from_ymd_opt(2011, 5, 1),
            status: MemberStatus::Official,
            organization_code: "SL.BL.1".into(),
            residence_cell_code: None,
            external_id: "adm-1".into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn a_valid_registration_is_normalized() {
        let mut ok = input();
        validate_registration(&mut ok, today()).unwrap();
        assert_eq!(ok.full_name, "Nguyễn Văn A");
    }

    #[test]
    fn each_rule_names_its_field() {
        type Patch = fn(&mut RegisterMember);
        let cases: Vec<(&str, Patch)> = vec![
            ("nationalId", |i| i.national_id = "12345678901".into()),
            ("nationalId", |i| {
                i.national_id = "０１２３４５６７８９０１".into()
            }),
            ("partyCardNumber", |i| {
                i.party_card_number = Some("ab".into())
            }),
            ("fullName", |i| i.full_name = "  ".into()),
            ("externalId", |i| i.external_id = "has space".into()),
            ("status", |i| i.status = MemberStatus::Deceased),
            ("admittedOn", |i| {
                i.admitted_on = NaiveDate::from_ymd_opt(2027, 1, 1)
            }),
            ("birthDate", |i| {
                i.birth_date = NaiveDate::from_ymd_opt(1995, 5, 2)
            }),
            ("birthDate", |i| {
                i.birth_date = NaiveDate::from_ymd_opt(2027, 1, 1)
            }),
            ("officialOn", |i| {
                i.official_on = NaiveDate::from_ymd_opt(2009, 1, 1)
            }),
            ("organizationCode", |i| {
                i.organization_code = "bad code".into()
            }),
        ];
        for (field, patch) in cases {
            let mut bad = input();
            patch(&mut bad);
            match validate_registration(&mut bad, today()) {
                Err(AppError::Invalid { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: expected a field error, got {other:?}"),
            }
        }
    }

    #[test]
    fn eighteen_years_counts_birthdays() {
        let birth = NaiveDate::from_ymd_opt(1992, 5, 1).unwrap();
        assert_eq!(
            years_between(birth, NaiveDate::from_ymd_opt(2010, 4, 30).unwrap()),
            17
        );
        assert_eq!(
            years_between(birth, NaiveDate::from_ymd_opt(2010, 5, 1).unwrap()),
            18
        );
    }

    #[test]
    fn the_request_hash_ignores_nothing_that_matters() {
        let a = input();
        let mut b = input();
        b.full_name = "Someone Else".into();
        assert_ne!(request_hash(&a), request_hash(&b));
        assert_eq!(request_hash(&a), request_hash(&input()));
    }
}
