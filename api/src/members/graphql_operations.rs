//! GraphQL queries and mutations of members: `member`, `members`,
//! `registerMember`, `updateMember`. Thin: each calls the service and hands
//! back what the policy lets the caller see.

use async_graphql::{Context, ErrorExtensions, ID, InputObject, Object};

use super::list::{self, MemberFilter};
use super::lookup::{self as service, MemberLookup, MemberRef};
use super::registration::{self, RegisterMember};
use super::update::{UpdateMember, update};
use crate::error::AppError;
use crate::graphql::loaders::{MembershipsAt, OrganizationId};
use crate::graphql::pagination::{connection, page_arg};
use crate::graphql::scalars::{Date, Instant};
use crate::graphql::{caller, db, loaders, parse_id};

use super::graphql::{LIST, Member, MemberConnection, MemberStatus, written_member};

#[derive(InputObject)]
pub struct RegisterMemberInput {
    national_id: String,
    party_card_number: Option<String>,
    full_name: String,
    birth_date: Option<Date>,
    admitted_on: Option<Date>,
    official_on: Option<Date>,
    #[graphql(default_with = "Some(MemberStatus::Probationary)")]
    status: Option<MemberStatus>,
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
        let (db, caller) = (db(ctx)?, caller(ctx)?);
        // Usually one statement: the member where they are now, handed to
        // the loaders so `membership { organization { parent } }` reads no more.
        let now = crate::graphql::as_of(ctx, None);
        let placed = service::current_placement(db, caller, &lookup, now)
            .await
            .map_err(|e| e.extend())?;
        if let service::CurrentPlacement::Placed(placed) = placed {
            let loaders = loaders(ctx)?;
            let key = MembershipsAt {
                member_id: placed.member.model.id,
                as_of: now,
                kind: Some(entity::enums::MembershipKind::Official),
            };
            loaders.feed_one(key, vec![placed.membership]).await;
            loaders
                .feed_many(
                    std::iter::once(placed.cell)
                        .chain(placed.committee)
                        .map(|org| (OrganizationId(org.id), org)),
                )
                .await;
            return Ok(Some(Member::visible(placed.member)));
        }
        if let service::CurrentPlacement::Unseen = placed {
            return Ok(None);
        }
        let found = service::find(db, caller, lookup)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Member::visible))
    }

    /// Members with an open OFFICIAL membership in the caller's scope (or in
    /// the subtree `within`), in id order. With `asOf`: members whose
    /// OFFICIAL membership was open then in the subtree as it stood then
    /// (the tree remembers moves and merges), as far as the caller's scope
    /// reaches today.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        status: Option<MemberStatus>,
        name_contains: Option<String>,
        as_of: Option<crate::graphql::scalars::Instant>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MemberConnection> {
        let page = page_arg(LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let filter = MemberFilter {
            within,
            status: status.map(Into::into),
            name_contains,
            as_of: as_of.map(Into::into),
        };
        let found = list::list(db(ctx)?, caller(ctx)?, filter, page)
            .await
            .map_err(|e| e.extend())?;
        Ok(connection(
            LIST,
            found,
            page.after,
            |m| m.model.id,
            Member::visible,
        ))
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
            status: input.status.unwrap_or(MemberStatus::Probationary).into(),
            organization_code: input.organization_code,
            residence_cell_code: input.residence_cell_code,
            external_id: input.external_id,
        };
        let created = registration::register(db(ctx)?, caller, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        written_member(ctx, created).await
    }

    /// Corrects a member's record or changes their status: PROBATIONARY to
    /// OFFICIAL (with officialOn), or to REMOVED or DECEASED, which are final
    /// and close every open membership with an event in the feed.
    async fn update_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberInput,
    ) -> async_graphql::Result<Member> {
        let caller = caller(ctx)?;
        let member_id = input.member_id.map(|id| parse_id(&id).unwrap_or(0));
        let input = UpdateMember {
            member: MemberRef::one_of(member_id, input.member_national_id),
            full_name: input.full_name,
            party_card_number: input.party_card_number,
            birth_date: input.birth_date.map(|d| d.0),
            residence_cell_code: input.residence_cell_code,
            status: input.status.map(Into::into),
            official_on: input.official_on.map(|d| d.0),
            effective_at: input
                .effective_at
                .map(|at| crate::clock::truncate(at.into())),
            decision_ref: input.decision_ref,
        };
        let updated = update(db(ctx)?, caller, input)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        written_member(ctx, updated).await
    }
}

/// A member named by id or national ID, and only the fields to change.
#[derive(InputObject)]
pub struct UpdateMemberInput {
    member_id: Option<ID>,
    member_national_id: Option<String>,
    full_name: Option<String>,
    party_card_number: Option<String>,
    birth_date: Option<Date>,
    /// A RESIDENTIAL cell.
    residence_cell_code: Option<String>,
    status: Option<MemberStatus>,
    /// Required when the status becomes OFFICIAL.
    official_on: Option<Date>,
    /// When REMOVED or DECEASED takes effect (default: now).
    effective_at: Option<Instant>,
    /// The decision behind REMOVED or DECEASED.
    decision_ref: Option<String>,
}
