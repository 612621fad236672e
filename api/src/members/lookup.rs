//! Finding members: by id, national ID or party card number, where they are
//! now (one statement) or at an instant, always as the caller may see them:
//! a member is visible when the cell of their latest OFFICIAL membership lies
//! in the caller's scope.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::MembershipKind;
use entity::{member, membership, organization};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission, mask_national_id};
use crate::domain::NationalId;
use crate::error::AppError;
use crate::memberships::read::{self as memberships, latest_official};
use crate::organizations::service::{self as organizations, Lookup};

/// How a caller names a member.
#[derive(Debug, Clone)]
pub enum MemberLookup {
    Id(i64),
    NationalId(String),
    PartyCardNumber(String),
}

/// A member as one caller may see them: someone the policy let them see
/// (`Visible`), with personal data present only for roles that may see it.
/// Every full API view of a member is built from this.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub model: member::Model,
    personal_data: bool,
}

impl MemberView {
    pub fn new(member: Visible<member::Model>, ctx: &Ctx) -> Self {
        Self {
            model: member.into_inner(),
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

/// The member, if the caller may see them (the policy decides by the cell
/// of their latest OFFICIAL membership).
pub async fn visible<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    member: member::Model,
) -> Result<Option<Visible<member::Model>>, AppError> {
    let cell = match latest_official(conn, member.id).await? {
        Some(latest) if ctx.principal.scope.is_some() => {
            organization::Entity::find_by_id(latest.organization_id)
                .one(conn)
                .await?
        }
        _ => None,
    };
    let awaited = (ctx.principal.scope.is_some()).then(|| member.clone());
    if let Some(seen) = ctx.principal.member(member, cell.as_ref()) {
        return Ok(Some(seen));
    }
    // Not where they were last placed: perhaps on their way to the caller.
    let Some(member) = awaited else {
        return Ok(None);
    };
    Ok(match memberships::open_letter(conn, member.id).await? {
        Some((letter, destination)) => ctx.principal.member_awaited(member, &letter, &destination),
        None => None,
    })
}

/// How a member appears where the caller sees an event or membership of
/// theirs but not the member: their id and national ID (masked as the role
/// requires), nothing of their life.
#[derive(Debug, Clone)]
pub struct MemberIdentity {
    pub id: i64,
    pub national_id: String,
}

impl MemberIdentity {
    pub fn new(member: &member::Model, ctx: &Ctx) -> Self {
        let national_id = if ctx.principal.may(Permission::PersonalData) {
            member.national_id.clone()
        } else {
            mask_national_id(&member.national_id)
        };
        Self {
            id: member.id,
            national_id,
        }
    }
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
            NationalId::parse("nationalId", &national_id)?;
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
    let Some(member) = found else {
        return Ok(None);
    };
    Ok(visible(conn, ctx, member)
        .await?
        .map(|member| MemberView::new(member, ctx)))
}

/// Members by id, whatever the scope: for loaders; only the policy
/// (`Principal::member`) turns one into something a caller sees.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<member::Model>, AppError> {
    Ok(member::Entity::find()
        .filter(member::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// Locks the members these references name until commit, in id order as
/// every writer does (PostgreSQL; SQLite writers are serial), whatever the
/// caller's scope, and answers their ids: only a lock, nothing is read out.
/// Names of nobody lock nothing.
pub async fn lock_in_id_order<C: ConnectionTrait>(
    conn: &C,
    members: &[MemberRef],
) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::new();
    let mut national_ids = Vec::new();
    for reference in members {
        match reference {
            MemberRef::Id(id) => ids.push(*id),
            MemberRef::NationalId(national_id) => national_ids.push(national_id.as_str()),
        }
    }
    let mut named = Condition::any();
    if !ids.is_empty() {
        named = named.add(member::Column::Id.is_in(ids));
    }
    if !national_ids.is_empty() {
        named = named.add(member::Column::NationalId.is_in(national_ids));
    }
    if named.is_empty() {
        return Ok(Vec::new());
    }
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(named)
        .order_by_asc(member::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// Where a member is at an instant: the membership, its cell and the committee above.
pub struct Placement {
    pub member: MemberView,
    pub membership: membership::Model,
    pub cell: organization::Model,
    pub committee: Option<organization::Model>,
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
            NationalId::parse("nationalId", national_id)?;
            (member::Column::NationalId, national_id.clone().into())
        }
        MemberLookup::PartyCardNumber(card) => {
            (member::Column::PartyCardNumber, card.clone().into())
        }
    };
    let (m, ms, cell, parent) = ("m", "ms", "cell", "parent");
    let mut query = Query::select();
    crate::columns::columns_as::<member::Entity>(&mut query, m, "m_");
    crate::columns::columns_as::<membership::Entity>(&mut query, ms, "ms_");
    crate::columns::columns_as::<organization::Entity>(&mut query, cell, "c_");
    crate::columns::columns_as::<organization::Entity>(&mut query, parent, "p_");
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
    // The open OFFICIAL membership is the latest: its cell decides.
    let person = member::Model::from_query_result(&row, "m_")?;
    let Some(person) = ctx.principal.member(person, Some(&cell)) else {
        return Ok(CurrentPlacement::Unseen);
    };
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
    let as_of = as_of.unwrap_or_else(crate::clock::now);
    let Some(membership) = memberships::official_at(conn, member.model.id, as_of).await? else {
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
        cell: cell.into_inner(),
        committee: committee.map(Visible::into_inner),
    }))
}

/// How a transfer names its member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(i64),
    NationalId(String),
}

impl MemberRef {
    /// Refuses a request that named no member (or both ways) and a
    /// malformed national ID; `field` is where the member is named.
    pub fn check(member: Option<&Self>, field: &'static str) -> Result<(), AppError> {
        match member {
            None => Err(AppError::invalid(
                field,
                "give exactly one of memberId or memberNationalId",
            )),
            Some(Self::NationalId(national_id)) => {
                NationalId::parse("memberNationalId", national_id).map(drop)
            }
            Some(Self::Id(_)) => Ok(()),
        }
    }

    /// The member a request names: exactly one of an id and a national ID,
    /// else `None` (refused as bad input).
    pub fn one_of(id: Option<i64>, national_id: Option<String>) -> Option<Self> {
        match (id, national_id) {
            (Some(id), None) => Some(Self::Id(id)),
            (None, Some(national_id)) => Some(Self::NationalId(national_id)),
            _ => None,
        }
    }
}
