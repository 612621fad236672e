//! GraphQL for members and memberships: the `Member` and `Membership` types,
//! built only from what the access policy sealed, and how nested fields load
//! them. The queries and mutations are in `graphql_operations`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, Object};
use entity::{membership, transfer_event};

use super::lookup::{MemberIdentity, MemberView};
use crate::auth::policy::{Subtree, Visible};
use crate::error::AppError;
use crate::graphql::loaders::{
    EventId, History, LatestOfficial, MemberId, MembershipsAt, OpenLetter, OrganizationId,
    loader_error,
};
use crate::graphql::pagination::{connection, connection_type, page_arg};
use crate::graphql::scalars::{Date, Instant};
use crate::graphql::{caller, loaders};
use crate::organizations::graphql::{Organization, load_endpoint, load_visible};
use crate::transfers::graphql::{EVENT_LIST, TransferEvent, TransferEventConnection};

pub(super) const LIST: &str = "member";
pub const MEMBERSHIP_LIST: &str = "membership";

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::MemberStatus")]
pub enum MemberStatus {
    /// Probationary member (đảng viên dự bị).
    Probationary,
    /// Full member (đảng viên chính thức).
    Official,
    Removed,
    Deceased,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::MembershipKind")]
pub enum MembershipKind {
    /// Where the member officially belongs; exactly one open at a time.
    Official,
    /// Temporary activity elsewhere (sinh hoạt tạm thời), beside the official one.
    Temporary,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::TemporaryPurpose")]
pub enum TemporaryPurpose {
    /// Up to 1 year (configurable).
    Work,
    /// Up to 1 year (configurable).
    Residence,
    /// Up to 2 years (configurable).
    Study,
}

/// A party member, with personal data masked for roles without access to it.
///
/// Reached through an event or a membership of the caller's subtree after
/// the member has left it, a member is shown as that event recorded them
/// (`Sight::Recorded`): identity only, never their life after leaving. Built
/// only from what the access policy sealed (`Visible`) or from that record.
pub struct Member(Sight);

enum Sight {
    Full(MemberView),
    Recorded {
        identity: MemberIdentity,
        full_name: String,
        status: entity::enums::MemberStatus,
        admitted_on: Option<chrono::NaiveDate>,
    },
}

impl Member {
    /// A member the caller may see where they are now.
    pub fn visible(view: MemberView) -> Self {
        Self(Sight::Full(view))
    }

    fn member_id(&self) -> i64 {
        match &self.0 {
            Sight::Full(view) => view.model.id,
            Sight::Recorded { identity, .. } => identity.id,
        }
    }

    /// The full record, when the caller sees the member where they are now.
    fn full(&self) -> Option<&MemberView> {
        match &self.0 {
            Sight::Full(view) => Some(view),
            Sight::Recorded { .. } => None,
        }
    }
}

connection_type!(MemberConnection, MemberEdge, Member);
connection_type!(MembershipConnection, MembershipEdge, Membership);

/// The member as the policy lets this caller see them where they are now:
/// by the cell of their latest OFFICIAL membership, through the loaders.
async fn seal(
    ctx: &Context<'_>,
    member: entity::member::Model,
) -> async_graphql::Result<Option<Visible<entity::member::Model>>> {
    let caller = caller(ctx)?;
    let loaders = loaders(ctx)?;
    let cell = match caller.principal.scope {
        None => None,
        Some(_) => match loaders
            .load_one(LatestOfficial(member.id))
            .await
            .map_err(loader_error)?
        {
            Some(latest) => loaders
                .load_one(OrganizationId(latest.organization_id))
                .await
                .map_err(loader_error)?,
            None => None,
        },
    };
    let awaited = caller.principal.scope.is_some().then(|| member.clone());
    if let Some(seen) = caller.principal.member(member, cell.as_ref()) {
        return Ok(Some(seen));
    }
    // Not where they were last placed: perhaps on their way to the caller.
    let Some(member) = awaited else {
        return Ok(None);
    };
    let Some(letter) = loaders
        .load_one(OpenLetter(member.id))
        .await
        .map_err(loader_error)?
    else {
        return Ok(None);
    };
    let destination = loaders
        .load_one(OrganizationId(letter.to_organization_id))
        .await
        .map_err(loader_error)?;
    Ok(destination.and_then(|destination| {
        caller
            .principal
            .member_awaited(member, &letter, &destination)
    }))
}

/// The member a mutation of the caller's just wrote, as they may see it.
pub async fn written_member(
    ctx: &Context<'_>,
    member: entity::member::Model,
) -> async_graphql::Result<Member> {
    let caller = caller(ctx)?;
    let sealed = seal(ctx, member)
        .await?
        .ok_or_else(|| AppError::NotFound("member").extend())?;
    Ok(Member::visible(MemberView::new(sealed, caller)))
}

/// A member by id through the request's loaders, if the caller may see them.
pub async fn load_visible_member(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<Member>> {
    let caller = caller(ctx)?;
    let Some(found) = loaders(ctx)?
        .load_one(MemberId(id))
        .await
        .map_err(loader_error)?
    else {
        return Ok(None);
    };
    Ok(seal(ctx, found)
        .await?
        .map(|sealed| Member::visible(MemberView::new(sealed, caller))))
}

/// The member an event moved, for a caller who sees the event: in full if
/// the caller sees the member where they are now, else as the event
/// recorded them.
pub async fn load_member_of_event(
    ctx: &Context<'_>,
    member_id: i64,
    event: EventRecord<'_>,
) -> async_graphql::Result<Member> {
    let caller = caller(ctx)?;
    let loaders = loaders(ctx)?;
    let found = loaders
        .load_one(MemberId(member_id))
        .await
        .map_err(loader_error)?
        .ok_or_else(|| AppError::NotFound("member").extend())?;
    let identity = MemberIdentity::new(&found, caller);
    let (name_now, status_now, admitted_on) =
        (found.full_name.clone(), found.status, found.admitted_on);
    if let Some(sealed) = seal(ctx, found).await? {
        return Ok(Member::visible(MemberView::new(sealed, caller)));
    }
    let recorded = match event {
        EventRecord::Loaded(event) => event.clone(),
        EventRecord::Id(id) => loaders
            .load_one(EventId(id))
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::NotFound("transfer event").extend())?,
    };
    Ok(Member(Sight::Recorded {
        identity,
        // Events written before the record was kept fall back to the member now.
        full_name: recorded.member_full_name.unwrap_or(name_now),
        status: recorded.member_status.unwrap_or(status_now),
        admitted_on,
    }))
}

/// The event whose record of a member is shown: at hand, or by id.
pub enum EventRecord<'a> {
    Loaded(&'a transfer_event::Model),
    Id(i64),
}

/// Memberships whose organization the caller may see, in the order given.
async fn visible_memberships(
    ctx: &Context<'_>,
    rows: Vec<membership::Model>,
) -> async_graphql::Result<Vec<Membership>> {
    let caller = caller(ctx)?;
    let orgs = loaders(ctx)?
        .load_many(rows.iter().map(|m| OrganizationId(m.organization_id)))
        .await
        .map_err(loader_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            let cell = orgs.get(&OrganizationId(m.organization_id))?;
            caller.principal.membership(m, cell)
        })
        .map(Membership)
        .collect())
}

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.member_id().to_string())
    }

    /// 12-digit citizen ID. Masked (all but the last 4 digits) for roles without personal-data access.
    async fn national_id(&self) -> String {
        match &self.0 {
            Sight::Full(view) => view.national_id(),
            Sight::Recorded { identity, .. } => identity.national_id.clone(),
        }
    }

    /// Null for a member shown only as an event of the caller's subtree recorded them.
    async fn party_card_number(&self) -> Option<&str> {
        self.full()?.model.party_card_number.as_deref()
    }

    /// For a member who has left the caller's subtree: the name the event recorded.
    async fn full_name(&self) -> &str {
        match &self.0 {
            Sight::Full(view) => &view.model.full_name,
            Sight::Recorded { full_name, .. } => full_name,
        }
    }

    /// Null for roles without personal-data access, and for a member who
    /// has left the caller's subtree.
    async fn birth_date(&self) -> Option<Date> {
        self.full()?.birth_date().map(Date)
    }

    async fn admitted_on(&self) -> Option<Date> {
        match &self.0 {
            Sight::Full(view) => view.model.admitted_on.map(Date),
            Sight::Recorded { admitted_on, .. } => admitted_on.map(Date),
        }
    }

    /// Null for a member who has left the caller's subtree.
    async fn official_on(&self) -> Option<Date> {
        self.full()?.model.official_on.map(Date)
    }

    /// For a member who has left the caller's subtree: the status the event recorded.
    async fn status(&self) -> MemberStatus {
        match &self.0 {
            Sight::Full(view) => view.model.status.into(),
            Sight::Recorded { status, .. } => (*status).into(),
        }
    }

    /// The residential cell of the place the member lives (null for a
    /// member who has left the caller's subtree).
    async fn residence_cell(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        match self.full().and_then(|view| view.model.residence_cell_id) {
            Some(id) => load_visible(ctx, id).await,
            None => Ok(None),
        }
    }

    /// The official membership open at asOf (default: now).
    async fn membership(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
    ) -> async_graphql::Result<Option<Membership>> {
        let key = MembershipsAt {
            member_id: self.member_id(),
            as_of: crate::graphql::as_of(ctx, as_of),
            kind: Some(entity::enums::MembershipKind::Official),
        };
        let rows = loaders(ctx)?
            .load_one(key)
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        Ok(visible_memberships(ctx, rows).await?.into_iter().next())
    }

    /// Temporary memberships open at asOf (default: now).
    async fn temporary_memberships(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Instant>,
    ) -> async_graphql::Result<Vec<Membership>> {
        let key = MembershipsAt {
            member_id: self.member_id(),
            as_of: crate::graphql::as_of(ctx, as_of),
            kind: Some(entity::enums::MembershipKind::Temporary),
        };
        let rows = loaders(ctx)?
            .load_one(key)
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        visible_memberships(ctx, rows).await
    }

    /// Every membership, oldest first (those in cells the caller may see).
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Membership>> {
        let rows = loaders(ctx)?
            .load_one(History(self.member_id()))
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        visible_memberships(ctx, rows).await
    }

    /// Party age on asOf (default: today): from admission, minus the days
    /// with no official membership (removal, and a letter's transit beyond
    /// its presentation window without an accepted late reason). Null
    /// before admission, without an admission date, and for a member who
    /// has left the caller's subtree.
    async fn party_age(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> async_graphql::Result<Option<super::party_age::PartyAge>> {
        let Some(view) = self.full() else {
            return Ok(None);
        };
        let Some(admitted_on) = view.model.admitted_on else {
            return Ok(None);
        };
        let as_of = as_of.map_or_else(|| crate::clock::now().date_naive(), |d| d.0);
        let periods =
            crate::memberships::read::party_age_periods(crate::graphql::db(ctx)?, view.model.id)
                .await
                .map_err(|e| e.extend())?;
        Ok(
            crate::memberships::party_age::party_age(admitted_on, &periods, as_of)
                .map(super::party_age::PartyAge),
        )
    }

    /// The member's transfer events whose source or destination the caller
    /// may see, by feed sequence.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<TransferEventConnection> {
        let page = page_arg(EVENT_LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        // Through the loader: a list of members pages all their events at once.
        let key = crate::graphql::loaders::TransfersPage {
            member: MemberId(self.member_id()),
            scope: caller(ctx)?.principal.scope_range(),
            page,
        };
        let found = loaders(ctx)?
            .load_one(key)
            .await
            .map_err(loader_error)?
            .unwrap_or_else(crate::page::PageOf::empty);
        // The loader's query kept the events touching the caller's scope.
        let scope = Subtree::of_scope(&caller(ctx)?.principal);
        Ok(connection(
            EVENT_LIST,
            found.map(|event| scope.event(event)),
            page.after,
            |e| e.sequence,
            TransferEvent::new,
        ))
    }
}

/// A member's activity in a cell over a time interval.
pub struct Membership(Visible<membership::Model>);

impl Membership {
    pub fn new(membership: Visible<membership::Model>) -> Self {
        Self(membership)
    }
}

#[Object]
impl Membership {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The member; if they have since left the caller's subtree, as the
    /// event that ended this membership recorded them.
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        let recorded = self
            .0
            .closed_by_event_id
            .unwrap_or(self.0.opened_by_event_id);
        load_member_of_event(ctx, self.0.member_id, EventRecord::Id(recorded)).await
    }

    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        load_endpoint(ctx, self.0.organization_id)
            .await?
            .ok_or_else(|| AppError::NotFound("organization").extend())
    }

    async fn kind(&self) -> MembershipKind {
        self.0.kind.into()
    }

    async fn started_at(&self) -> Instant {
        Instant(self.0.started_at)
    }

    async fn ended_at(&self) -> Option<Instant> {
        self.0.ended_at.map(Instant)
    }

    /// Temporary activity: the day it is due to end.
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }
}
