//! GraphQL for members and memberships: the `Member` and `Membership` types,
//! the `member` lookup and `registerMember`. Thin: each resolver calls the service.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::membership;

use super::service::{self, MemberLookup, MemberView, RegisterMember};
use crate::error::AppError;
use crate::graphql::scalars::Date;
use crate::graphql::{caller, db, parse_id};
use crate::organizations::graphql::Organization;
use crate::organizations::service::{self as organizations, Lookup};

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

/// A party member, with personal data masked for roles without access to it.
pub struct Member(pub MemberView);

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.0.model.id.to_string())
    }

    /// 12-digit citizen ID. Masked (all but the last 4 digits) for roles without personal-data access.
    async fn national_id(&self) -> String {
        self.0.national_id()
    }

    async fn party_card_number(&self) -> Option<&str> {
        self.0.model.party_card_number.as_deref()
    }

    async fn full_name(&self) -> &str {
        &self.0.model.full_name
    }

    /// Null for roles without personal-data access.
    async fn birth_date(&self) -> Option<Date> {
        self.0.birth_date().map(Date)
    }

    async fn admitted_on(&self) -> Option<Date> {
        self.0.model.admitted_on.map(Date)
    }

    async fn official_on(&self) -> Option<Date> {
        self.0.model.official_on.map(Date)
    }

    async fn status(&self) -> MemberStatus {
        self.0.model.status.into()
    }

    /// The residential cell of the place the member lives.
    async fn residence_cell(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        let Some(id) = self.0.model.residence_cell_id else {
            return Ok(None);
        };
        let found = organizations::find(db(ctx)?, caller(ctx)?, Lookup::Id(id))
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Organization))
    }

    /// The official membership open at asOf (default: now).
    async fn membership(
        &self,
        ctx: &Context<'_>,
        as_of: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Option<Membership>> {
        let found = service::membership_at(db(ctx)?, caller(ctx)?, self.0.model.id, as_of)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Membership))
    }
}

/// A member's activity in a cell over a time interval.
pub struct Membership(pub membership::Model);

#[Object]
impl Membership {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        let found = service::find(db(ctx)?, caller(ctx)?, MemberLookup::Id(self.0.member_id))
            .await
            .map_err(|e| e.extend())?;
        found
            .map(Member)
            .ok_or_else(|| AppError::NotFound("member").extend())
    }

    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let found = organizations::find(db(ctx)?, caller(ctx)?, Lookup::Id(self.0.organization_id))
            .await
            .map_err(|e| e.extend())?;
        found
            .map(Organization)
            .ok_or_else(|| AppError::NotFound("organization").extend())
    }

    async fn kind(&self) -> MembershipKind {
        self.0.kind.into()
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
}

#[derive(InputObject)]
pub struct RegisterMemberInput {
    national_id: String,
    party_card_number: Option<String>,
    full_name: String,
    birth_date: Option<Date>,
    admitted_on: Option<Date>,
    official_on: Option<Date>,
    #[graphql(default_with = "MemberStatus::Probationary")]
    status: MemberStatus,
    /// The cell the member is admitted into.
    organization_code: String,
    residence_cell_code: Option<String>,
    /// Idempotency key of the admission event.
    external_id: String,
}

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// One member by id, national ID (needs personal-data access) or party
    /// card number; null if absent or outside the caller's scope.
    async fn member(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        national_id: Option<String>,
        party_card_number: Option<String>,
    ) -> async_graphql::Result<Option<Member>> {
        let lookup = match (id, national_id, party_card_number) {
            (Some(id), None, None) => match parse_id(&id) {
                Some(id) => MemberLookup::Id(id),
                None => return Ok(None),
            },
            (None, Some(national_id), None) => MemberLookup::NationalId(national_id),
            (None, None, Some(card)) => MemberLookup::PartyCardNumber(card),
            _ => {
                return Err(AppError::BadInput(
                    "give exactly one of id, nationalId or partyCardNumber".to_owned(),
                )
                .extend());
            }
        };
        let found = service::find(db(ctx)?, caller(ctx)?, lookup)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Member))
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Admits a member into a cell: opens the first OFFICIAL membership and
    /// records the admission as the member's first transfer event.
    async fn register_member(
        &self,
        ctx: &Context<'_>,
        input: RegisterMemberInput,
    ) -> async_graphql::Result<Member> {
        let caller = caller(ctx)?;
        let input = RegisterMember {
            national_id: input.national_id,
            party_card_number: input.party_card_number,
            full_name: input.full_name,
            birth_date: input.birth_date.map(|d| d.0),
            admitted_on: input.admitted_on.map(|d| d.0),
            official_on: input.official_on.map(|d| d.0),
            status: input.status.into(),
            organization_code: input.organization_code,
            residence_cell_code: input.residence_cell_code,
            external_id: input.external_id,
        };
        let created = service::register(db(ctx)?, caller, input)
            .await
            .map_err(|e| e.extend())?;
        Ok(Member(MemberView::new(created, caller)))
    }
}
