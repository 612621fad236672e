//! GraphQL for introduction letters: `issueLetter`, `receiveLetter`,
//! `cancelLetter`, `letter`, `letters` and `temporaryMembershipsEnding`.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object, SimpleObject};
use entity::letter;

use super::issue::{self, IssueLetter, Issued};
use super::read::{self, LetterFilter};
use super::rules;
use super::steps::{self, CancelLetter, ReceiveLetter};
use crate::auth::policy::Visible;
use crate::graphql::pagination::{connection, connection_type, page_arg};
use crate::graphql::scalars::{Date, Instant};
use crate::graphql::{caller, db, parse_id};
use crate::members::graphql::{
    EventRecord, Member, Membership, MembershipKind, TemporaryPurpose, load_member_of_event,
};
use crate::members::lookup::MemberRef;
use crate::organizations::graphql::{Organization, load_endpoint};
use crate::transfers::graphql::TransferReason;

const LETTER_LIST: &str = "letter";

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::LetterStatus")]
pub enum LetterStatus {
    /// Issued, not yet presented: an OFFICIAL letter's member is in transit.
    Open,
    /// The receiving side placed the member in one of its cells.
    Received,
    /// The sending side withdrew it; the member returned.
    Cancelled,
}

/// An introduction letter (giấy giới thiệu sinh hoạt đảng), as either side sees it.
pub struct Letter(Visible<letter::Model>);

connection_type!(LetterConnection, LetterEdge, Letter);

#[Object]
impl Letter {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Unique within the issuing committee.
    async fn number(&self) -> &str {
        &self.0.number
    }

    async fn kind(&self) -> MembershipKind {
        self.0.kind.into()
    }

    async fn status(&self) -> LetterStatus {
        self.0.status.into()
    }

    /// The member (masked as the caller's role requires): seen in full by
    /// both sides while the letter is open; afterwards by the side where
    /// the member is, and by the other as the letter's issue recorded them.
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        load_member_of_event(
            ctx,
            self.0.member_id,
            EventRecord::Id(self.0.issued_event_id),
        )
        .await
    }

    /// The grassroots committee that issued it.
    async fn issuing_committee(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        load_endpoint(ctx, self.0.issuing_committee_id).await
    }

    /// The cell the member left.
    async fn from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        load_endpoint(ctx, self.0.from_cell_id).await
    }

    /// The receiving committee or cell.
    async fn to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        load_endpoint(ctx, self.0.to_organization_id).await
    }

    /// The cell the receiving side placed the member in.
    async fn received_cell(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        match self.0.received_cell_id {
            Some(id) => load_endpoint(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn reason(&self) -> TransferReason {
        self.0.reason.into()
    }

    async fn decision_ref(&self) -> Option<&str> {
        self.0.decision_ref.as_deref()
    }

    /// Party dues paid through this month (YYYY-MM).
    async fn dues_paid_through(&self) -> Option<&str> {
        self.0.dues_paid_through.as_deref()
    }

    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }

    /// The last day to present the letter without a late reason.
    async fn present_by(&self) -> Date {
        Date(self.0.present_by)
    }

    /// Days an OPEN letter is past presentBy today; 0 otherwise.
    async fn days_overdue(&self) -> i64 {
        if self.0.status == entity::enums::LetterStatus::Open {
            rules::days_overdue(self.0.present_by, crate::clock::now().date_naive())
        } else {
            0
        }
    }

    /// TEMPORARY letters: the day the temporary activity ends.
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }

    async fn purpose(&self) -> Option<TemporaryPurpose> {
        self.0.purpose.map(Into::into)
    }

    /// Why the letter was presented after presentBy, as the receiving side recorded it.
    async fn late_reason(&self) -> Option<&str> {
        self.0.late_reason.as_deref()
    }

    /// When it was received or cancelled.
    async fn closed_at(&self) -> Option<Instant> {
        self.0.closed_at.map(Instant)
    }

    /// The issuer's idempotency key.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    /// The issuing token's subject.
    async fn issued_by(&self) -> &str {
        &self.0.submitter
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum IssueStatus {
    /// Issued now.
    Applied,
    /// Same externalId and content as a letter issued earlier: nothing changed, that letter is returned.
    Duplicate,
}

#[derive(SimpleObject)]
pub struct IssueLetterResult {
    status: IssueStatus,
    letter: Letter,
}

#[derive(InputObject)]
pub struct IssueLetterInput {
    /// Idempotency key, unique per submitter: 1 to 128 of A-Z a-z 0-9 . _ : -
    external_id: String,
    member_id: Option<ID>,
    member_national_id: Option<String>,
    #[graphql(default_with = "Some(MembershipKind::Official)")]
    kind: Option<MembershipKind>,
    /// The receiving committee or cell: any in the registry.
    to_organization_code: String,
    /// Unique within the issuing grassroots committee: 1 to 64 of A-Z a-z 0-9 / . - _
    number: String,
    reason: TransferReason,
    decision_ref: Option<String>,
    /// Party dues paid through this month, YYYY-MM.
    dues_paid_through: Option<String>,
    /// Default: today.
    issued_on: Option<Date>,
    /// TEMPORARY letters: the day the activity ends (at most 1 year for WORK or RESIDENCE, 2 for STUDY).
    ends_on: Option<Date>,
    purpose: Option<TemporaryPurpose>,
}

#[derive(InputObject)]
pub struct ReceiveLetterInput {
    letter_id: ID,
    /// The ACTIVE CELL of the destination's subtree the member joins.
    cell_code: String,
    /// The day the member presented the letter. Default: today.
    received_on: Option<Date>,
    /// Required when receivedOn is after the letter's presentBy.
    late_reason: Option<String>,
}

#[derive(InputObject)]
pub struct CancelLetterInput {
    letter_id: ID,
    /// Where an OFFICIAL letter's member returns if the cell they left has
    /// been dissolved since. Default: the cell left.
    return_cell_code: Option<String>,
    /// The day of the cancellation. Default: today.
    cancelled_on: Option<Date>,
}

#[derive(Default)]
pub struct LetterQuery;

#[Object]
impl LetterQuery {
    /// One letter, if the caller is on its sending or receiving side.
    async fn letter(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Letter>> {
        let Some(id) = parse_id(&id) else {
            return Ok(None);
        };
        let found = read::find(db(ctx)?, caller(ctx)?, id)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Letter))
    }

    /// Letters leaving or reaching the subtree of `within` (default: the
    /// caller's scope), by id. `inTransit`: OPEN OFFICIAL letters, whose
    /// members no cell counts. `overdue`: OPEN letters past presentBy.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn letters(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        status: Option<LetterStatus>,
        #[graphql(default = false)] in_transit: bool,
        #[graphql(default = false)] overdue: bool,
        member_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<LetterConnection> {
        let page = page_arg(LETTER_LIST, first, after.as_deref()).map_err(|e| e.extend())?;
        let filter = LetterFilter {
            within,
            status: status.map(Into::into),
            in_transit,
            overdue,
            member_id: member_id.map(|id| parse_id(&id).unwrap_or(0)),
        };
        let today = crate::clock::now().date_naive();
        let found = read::list(db(ctx)?, caller(ctx)?, &filter, today, page)
            .await
            .map_err(|e| e.extend())?;
        Ok(connection(LETTER_LIST, found, page.after, |l| l.id, Letter))
    }

    /// Temporary memberships in the subtree of `within` ending within
    /// `days` days from today, or already past their end: soonest first.
    async fn temporary_memberships_ending(
        &self,
        ctx: &Context<'_>,
        within: Option<String>,
        #[graphql(default = 30)] days: i32,
    ) -> async_graphql::Result<Vec<Membership>> {
        if !(0..=3660).contains(&days) {
            return Err(crate::error::AppError::invalid("days", "0 to 3660").extend());
        }
        let by = crate::clock::now().date_naive() + chrono::Days::new(days as u64);
        let found = read::temporary_ending(db(ctx)?, caller(ctx)?, within.as_deref(), by)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.into_iter().map(Membership::new).collect())
    }
}

#[derive(Default)]
pub struct LetterMutation;

#[Object]
impl LetterMutation {
    /// The sending side issues a letter; an OFFICIAL one puts the member in
    /// transit. Safe to retry with the same externalId.
    async fn issue_letter(
        &self,
        ctx: &Context<'_>,
        input: IssueLetterInput,
    ) -> async_graphql::Result<IssueLetterResult> {
        let member_id = input.member_id.map(|id| parse_id(&id).unwrap_or(0));
        let request = IssueLetter {
            external_id: input.external_id,
            member: MemberRef::one_of(member_id, input.member_national_id),
            kind: input.kind.unwrap_or(MembershipKind::Official).into(),
            to_code: input.to_organization_code,
            number: input.number,
            reason: input.reason.into(),
            decision_ref: input.decision_ref,
            dues_paid_through: input.dues_paid_through,
            issued_on: input.issued_on.map(|d| d.0),
            ends_on: input.ends_on.map(|d| d.0),
            purpose: input.purpose.map(Into::into),
            rules: crate::graphql::letter_rules(ctx),
        };
        let outcome = issue::issue(db(ctx)?, caller(ctx)?, request)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        let status = match &outcome {
            Issued::Issued(_) => IssueStatus::Applied,
            Issued::Duplicate(_) => IssueStatus::Duplicate,
        };
        Ok(IssueLetterResult {
            status,
            letter: Letter(outcome.letter()),
        })
    }

    /// The receiving side places the member in one of its ACTIVE CELLs
    /// (refused with CONFLICT on `hold` while the member is under a hold).
    async fn receive_letter(
        &self,
        ctx: &Context<'_>,
        input: ReceiveLetterInput,
    ) -> async_graphql::Result<Letter> {
        let request = ReceiveLetter {
            letter_id: parse_id(&input.letter_id).unwrap_or(0),
            cell_code: input.cell_code,
            received_on: input.received_on.map(|d| d.0),
            late_reason: input.late_reason,
        };
        let received = steps::receive(db(ctx)?, caller(ctx)?, request)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Letter(received))
    }

    /// The sending side withdraws a letter not yet received; the member returns.
    async fn cancel_letter(
        &self,
        ctx: &Context<'_>,
        input: CancelLetterInput,
    ) -> async_graphql::Result<Letter> {
        let request = CancelLetter {
            letter_id: parse_id(&input.letter_id).unwrap_or(0),
            return_cell_code: input.return_cell_code,
            cancelled_on: input.cancelled_on.map(|d| d.0),
        };
        let cancelled = steps::cancel(db(ctx)?, caller(ctx)?, request)
            .await
            .map_err(|e| e.extend())?;
        crate::graphql::after_write(ctx);
        Ok(Letter(cancelled))
    }
}
