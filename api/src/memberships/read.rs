//! Reading memberships: a member's latest OFFICIAL membership (which decides
//! who may see them), the memberships open at an instant, histories, and the
//! counts and pages of organizations' members, each batched for many keys.
//! Scope is the callers' business: nothing here filters by it.

use chrono::{DateTime, Utc};
use entity::enums::LetterStatus;
use entity::enums::MembershipKind;
use entity::{letter, member, membership, organization};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

use crate::error::AppError;
use crate::page::{Page, PageOf};

/// The member's latest OFFICIAL membership, open or not.
pub async fn latest_official<C: ConnectionTrait>(
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

/// The member's open introduction letter, if any, with the organization it
/// goes to: while it is open the receiving side sees the member too.
pub async fn open_letter<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<Option<(letter::Model, organization::Model)>, AppError> {
    let Some(open) = letter::Entity::find()
        .filter(letter::Column::MemberId.eq(member_id))
        .filter(letter::Column::Status.eq(LetterStatus::Open))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let destination = organization::Entity::find_by_id(open.to_organization_id)
        .one(conn)
        .await?;
    Ok(destination.map(|destination| (open, destination)))
}

/// The open introduction letters of several members, in one query.
pub async fn open_letters<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
) -> Result<Vec<letter::Model>, AppError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(letter::Column::Status.eq(LetterStatus::Open))
        .all(conn)
        .await?)
}

/// A member's official periods, oldest first, each with the transit of the
/// letter that ended it, if one did: what party age is computed from.
pub async fn party_age_periods<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
) -> Result<Vec<super::party_age::Period>, AppError> {
    use super::party_age::{Period, Transit};
    let officials = membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .order_by_asc(membership::Column::StartedAt)
        .order_by_asc(membership::Column::Id)
        .all(conn)
        .await?;
    let letters = letter::Entity::find()
        .filter(letter::Column::MemberId.eq(member_id))
        .filter(letter::Column::Kind.eq(MembershipKind::Official))
        .all(conn)
        .await?;
    Ok(officials
        .into_iter()
        .map(|m| Period {
            start: m.started_at.date_naive(),
            end: m.ended_at.map(|at| at.date_naive()),
            left_by_letter: letters
                .iter()
                .find(|l| Some(l.issued_event_id) == m.closed_by_event_id)
                .map(|l| Transit {
                    present_by: l.present_by,
                    late_reason_accepted: l.status == LetterStatus::Received
                        && l.late_reason.is_some(),
                }),
        })
        .collect())
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

/// The member's OFFICIAL membership open at `as_of`, wherever it is.
pub async fn official_at<C: ConnectionTrait>(
    conn: &C,
    member_id: i64,
    as_of: DateTime<Utc>,
) -> Result<Option<membership::Model>, AppError> {
    Ok(membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .filter(open_at(as_of))
        .one(conn)
        .await?)
}

/// Memberships open at an instant: started at or before it, not ended by then.
pub fn open_at(as_of: DateTime<Utc>) -> Condition {
    open_at_in(membership::Entity, as_of)
}

/// `open_at` for the memberships of a table or alias of a larger statement.
pub fn open_at_in(
    memberships: impl sea_orm::sea_query::IntoIden + Clone,
    as_of: DateTime<Utc>,
) -> Condition {
    let col = |column: membership::Column| Expr::col((memberships.clone(), column));
    Condition::all()
        .add(col(membership::Column::StartedAt).lte(as_of))
        .add(
            Condition::any()
                .add(col(membership::Column::EndedAt).is_null())
                .add(col(membership::Column::EndedAt).gt(as_of)),
        )
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
    let mut kept = open_at_in(ms.clone(), filter.as_of);
    if let Some(kind) = filter.kind {
        kept = kept.add(Expr::col((ms.clone(), membership::Column::Kind)).eq(kind));
    }
    let mut query = Query::select();
    query.from_as(organization::Entity, org.clone());
    let holder = if filter.include_descendants {
        query.join_as(
            JoinType::InnerJoin,
            organization::Entity,
            within.clone(),
            crate::tree::path_under(
                Expr::col((within.clone(), organization::Column::Path)),
                Expr::col((org.clone(), organization::Column::Path)),
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
        // COUNT(*), not of a column: an index can answer it alone.
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("members"))
        .group_by_col((Alias::new("o"), organization::Column::Id));
    let mut counts = HashMap::new();
    for row in conn.query_all(&query).await? {
        let id: i64 = row.try_get("", "organization_id")?;
        let members: i64 = row.try_get("", "members")?;
        counts.insert(id, u64::try_from(members).unwrap_or(0));
    }
    Ok(counts)
}

/// What a page of memberships brings besides its rows: the size of each
/// whole list (a count the page itself does not need), and each
/// membership's member, read in the same statement as the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Along {
    pub total: bool,
    pub members: bool,
}

/// A membership of a page, with its member's record when asked along.
#[derive(Debug, Clone)]
pub struct Listed {
    pub membership: membership::Model,
    pub member: Option<member::Model>,
}

impl sea_orm::FromQueryResult for Listed {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        // The member's columns are there (prefixed) only when asked along;
        // an absent column reads as null.
        let joined = matches!(
            row.try_get::<Option<i64>>("", MEMBER_PREFIX_ID),
            Ok(Some(_))
        );
        Ok(Self {
            membership: membership::Model::from_query_result(row, pre)?,
            member: if joined {
                Some(member::Model::from_query_result(row, MEMBER_PREFIX)?)
            } else {
                None
            },
        })
    }
}

const MEMBER_PREFIX: &str = "m_";
const MEMBER_PREFIX_ID: &str = "m_id";

/// The same page of memberships (membership-id order) of each of several
/// organizations: one statement for the rows (`page::fetch_pages`), with
/// each member joined when `along.members`; one more before it for the
/// totals when `along.total`. Without totals, a page's `total` is 0.
/// Organizations that have none get an empty page.
pub async fn membership_pages<C: ConnectionTrait>(
    conn: &C,
    organization_ids: &[i64],
    filter: MembershipFilter,
    page: Page,
    along: Along,
) -> Result<HashMap<i64, PageOf<Listed>>, AppError> {
    use sea_orm::Iterable;
    use sea_orm::sea_query::{Alias, JoinType};
    let totals: HashMap<i64, u64> = if along.total {
        let mut totals = membership_counts(conn, organization_ids, filter).await?;
        for id in organization_ids {
            totals.entry(*id).or_insert(0);
        }
        totals
    } else {
        // Unknown sizes: every list is read (the count only saved reading empty ones).
        organization_ids.iter().map(|id| (*id, u64::MAX)).collect()
    };
    let listed: Vec<i64> = totals
        .iter()
        .filter(|(_, total)| **total > 0)
        .map(|(id, _)| *id)
        .collect();
    let mut rows = memberships_of_listed(&listed, &filter);
    for column in membership::Column::iter() {
        rows.column((Alias::new("ms"), column));
    }
    if along.members {
        rows.join_as(
            JoinType::InnerJoin,
            member::Entity,
            Alias::new("m"),
            Expr::col((Alias::new("m"), member::Column::Id))
                .equals((Alias::new("ms"), membership::Column::MemberId)),
        );
        crate::columns::columns_as::<member::Entity>(&mut rows, "m", MEMBER_PREFIX);
    }
    let pages = crate::page::fetch_pages(
        conn,
        rows,
        Expr::col((Alias::new("o"), organization::Column::Id)),
        Expr::col((Alias::new("ms"), membership::Column::Id)),
        page,
        &totals,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(id, mut found)| {
            if !along.total {
                found.total = 0;
            }
            (id, found)
        })
        .collect())
}
