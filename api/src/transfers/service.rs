//! Transfers: applying one (the domain operation every entry point uses, in
//! one unit of work, idempotent per submitter and key) and batches (one unit
//! of work for the whole batch, a savepoint per transfer).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, TransferReason};
use entity::{letter, member, member_hold, membership, organization, transfer_event};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};

use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission};
use crate::domain::{DecisionRef, ExternalId, OrganizationCode, has_left_the_party};
use crate::error::{AppError, ErrorOwner};
use crate::members::lookup::{self as members, MemberLookup, MemberRef};
use crate::memberships::record::{self, NewEvent, close_membership, record_event};
use crate::organizations::service::{self as organizations, Lookup};
use crate::unit_of_work::{self, Done, Mutation};

/// One transfer as the API layers hand it over (GraphQL `TransferInput`, REST events).
#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub external_id: String,
    /// `None` when the caller named no member (or both ways): refused as bad input.
    pub member: Option<MemberRef>,
    pub from_code: Option<String>,
    pub to_code: String,
    pub kind: MembershipKind,
    pub reason: TransferReason,
    pub decision_ref: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
    /// TEMPORARY activity: the day it ends and what it is for (both or neither).
    pub ends_on: Option<chrono::NaiveDate>,
    pub purpose: Option<entity::enums::TemporaryPurpose>,
    /// How long temporary activity may last.
    pub rules: crate::config::LetterRules,
}

/// What happened to one transfer.
#[derive(Debug, Clone)]
pub enum TransferOutcome {
    /// Applied now.
    Applied(transfer_event::Model),
    /// The same key and content were applied before: nothing changed.
    Duplicate(transfer_event::Model),
}

impl TransferOutcome {
    pub fn event(&self) -> &transfer_event::Model {
        match self {
            Self::Applied(event) | Self::Duplicate(event) => event,
        }
    }
}

/// The answer for one submitted transfer, as GraphQL and REST both render it.
#[derive(Debug)]
pub struct ItemResult {
    pub external_id: String,
    pub outcome: ItemOutcome,
}

/// What became of one transfer of a submission.
#[derive(Debug)]
pub enum ItemOutcome {
    /// Applied now.
    Applied(transfer_event::Model),
    /// The same key and content were applied before: nothing changed.
    Duplicate(transfer_event::Model),
    /// Refused for a reason of the caller's (`ErrorOwner::Caller`): nothing changed.
    Rejected(AppError),
}

impl ItemResult {
    /// The item for a transfer's result; an error of the service's is no
    /// item's answer but the request's, so it is handed back as the error.
    fn answer(
        external_id: String,
        result: Result<TransferOutcome, AppError>,
    ) -> Result<Self, AppError> {
        let outcome = match result {
            Ok(TransferOutcome::Applied(event)) => ItemOutcome::Applied(event),
            Ok(TransferOutcome::Duplicate(event)) => ItemOutcome::Duplicate(event),
            Err(err) => match err.code().owner() {
                ErrorOwner::Caller => ItemOutcome::Rejected(err),
                ErrorOwner::Service => return Err(err),
            },
        };
        Ok(Self {
            external_id,
            outcome,
        })
    }
}

/// Most transfers in one batch.
pub const MAX_BATCH: usize = 500;

/// Hash of the request as given, defaults filled in (an absent `effectiveAt`
/// stays absent: "now" differs on every retry). Byte-exact: look-alike keys
/// and values are different requests.
fn request_hash(request: &TransferRequest) -> String {
    let member = match &request.member {
        Some(MemberRef::Id(id)) => serde_json::json!({ "id": id }),
        Some(MemberRef::NationalId(national_id)) => {
            serde_json::json!({ "nationalId": national_id })
        }
        None => serde_json::Value::Null,
    };
    let mut canonical = serde_json::json!([
        "transfer",
        member,
        request.from_code,
        request.to_code,
        request.kind,
        request.reason,
        request.decision_ref,
        request
            .effective_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    ]);
    // Only when given, so requests from before end dates hash as they did.
    if request.ends_on.is_some() || request.purpose.is_some() {
        if let Some(items) = canonical.as_array_mut() {
            items.push(serde_json::json!([request.ends_on, request.purpose]));
        }
    }
    record::request_hash(&canonical)
}

/// Checks what needs no database.
fn validate(request: &TransferRequest, now: DateTime<Utc>) -> Result<(), AppError> {
    ExternalId::parse("externalId", &request.external_id)?;
    MemberRef::check(request.member.as_ref(), "memberId")?;
    OrganizationCode::parse("toOrganizationCode", &request.to_code)?;
    if let Some(from) = &request.from_code {
        OrganizationCode::parse("fromOrganizationCode", from)?;
    }
    match request.reason {
        TransferReason::Admission => {
            return Err(AppError::invalid(
                "reason",
                "ADMISSION is recorded by registerMember",
            ));
        }
        TransferReason::Removal | TransferReason::Death => {
            return Err(AppError::invalid(
                "reason",
                "REMOVAL and DEATH are recorded by updateMember's status change",
            ));
        }
        _ => {}
    }
    if request.reason == TransferReason::Return && request.kind != MembershipKind::Temporary {
        return Err(AppError::invalid(
            "reason",
            "RETURN ends a temporary activity: use kind TEMPORARY",
        ));
    }
    if let Some(decision) = &request.decision_ref {
        DecisionRef::parse("decisionRef", decision)?;
    }
    crate::clock::not_in_future("effectiveAt", request.effective_at, now)?;
    // A TEMPORARY transfer may carry its end (a RETURN ends one and carries none).
    let carries_end = request.ends_on.is_some() || request.purpose.is_some();
    if carries_end {
        if request.kind != MembershipKind::Temporary || request.reason == TransferReason::Return {
            return Err(AppError::invalid(
                "endsOn",
                "endsOn and purpose go with a TEMPORARY transfer other than RETURN",
            ));
        }
        let starts = request.effective_at.unwrap_or(now).date_naive();
        crate::memberships::temporary::check_temporary(
            request.kind,
            starts,
            request.ends_on,
            request.purpose,
            &request.rules,
        )?;
    }
    Ok(())
}

async fn earlier_event<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    external_id: &str,
) -> Result<Option<transfer_event::Model>, AppError> {
    Ok(transfer_event::Entity::find()
        .filter(transfer_event::Column::Submitter.eq(&ctx.principal.subject))
        .filter(transfer_event::Column::ExternalId.eq(external_id))
        .one(conn)
        .await?)
}

/// The caller's events under any of these keys, one statement per hundred.
/// Each key is its own lookup of the whole unique key, joined by UNION ALL:
/// given as one `external_id IN (…)` beside the submitter, PostgreSQL may
/// look up the submitter alone and filter every event of theirs (as it does
/// while its statistics do not yet know a new submitter's many events).
async fn earlier_events<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    external_ids: &[&str],
) -> Result<Vec<transfer_event::Model>, AppError> {
    use sea_orm::sea_query::{Query, SelectStatement, UnionType};
    use sea_orm::{EntityName, Iterable};
    let lookup = |external_id: &str| -> SelectStatement {
        Query::select()
            .columns(transfer_event::Column::iter())
            .from(transfer_event::Entity.table_ref())
            .and_where(transfer_event::Column::Submitter.eq(&ctx.principal.subject))
            .and_where(transfer_event::Column::ExternalId.eq(external_id))
            .to_owned()
    };
    let mut found = Vec::new();
    for keys in external_ids.chunks(100) {
        let Some((first, rest)) = keys.split_first() else {
            continue;
        };
        let mut select = lookup(first);
        select.unions(rest.iter().map(|key| (UnionType::All, lookup(key))));
        let statement = conn.get_database_backend().build(&select);
        found.extend(
            transfer_event::Entity::find()
                .from_raw_sql(statement)
                .all(conn)
                .await?,
        );
    }
    Ok(found)
}

fn replay(earlier: transfer_event::Model, hash: &str) -> Result<TransferOutcome, AppError> {
    if earlier.request_hash == hash {
        Ok(TransferOutcome::Duplicate(earlier))
    } else {
        Err(AppError::Conflict(
            "externalId: already used for a different request".to_owned(),
        ))
    }
}

/// Applies one transfer in one transaction: closes the member's open
/// membership of that kind at `effectiveAt`, opens the new one, appends the
/// event with the next feed sequence and the audit row. Every rule refuses
/// with its code and nothing changed. A retry with the same key and content
/// answers DUPLICATE with the original event.
pub async fn submit(
    db: &DatabaseConnection,
    ctx: &Ctx,
    request: TransferRequest,
) -> Result<TransferOutcome, AppError> {
    let outcome = match unit_of_work::run(db, ctx, &request).await {
        // Two submissions of one key raced past the check: the loser reads the winner's event.
        Err(AppError::Conflict(message)) => {
            match earlier_event(db, ctx, &request.external_id).await? {
                Some(earlier) => replay(earlier, &request_hash(&request)),
                None => Err(AppError::Conflict(message)),
            }
        }
        other => other,
    };
    count_transfer(&outcome);
    outcome
}

impl Mutation for TransferRequest {
    type Output = TransferOutcome;
    const ACTION: &'static str = "submitTransfer";

    fn target(&self) -> String {
        format!("{}:{}", self.to_code, self.external_id)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<TransferOutcome>, AppError> {
        apply(txn, ctx, self.clone(), request_hash(self), Unit::Alone).await
    }
}

/// How a transfer runs: alone (`submit`), or as an item of a batch, with
/// what the batch locked and read ahead for all its items.
#[derive(Clone, Copy)]
enum Unit<'a> {
    Alone,
    Batch(&'a Ahead),
}

/// What a batch of transfers locked and read ahead, in a few statements for
/// all its items, instead of each item reading it for itself. The locks
/// keep it true: a member's holds and letters change only under the
/// member's lock, an organization only under a lock that waits for the
/// share lock held here.
#[derive(Debug, Default)]
struct Ahead {
    /// The members the batch names, locked.
    members: HashSet<i64>,
    /// The destinations the batch names, by code, under a share lock,
    /// whatever the caller's scope (the policy decides what the caller sees).
    destinations: HashMap<String, organization::Model>,
    /// The oldest open hold of each locked member under one.
    holds: HashMap<i64, member_hold::Model>,
    /// The open introduction letter of each locked member holding one.
    letters: HashMap<i64, letter::Model>,
    /// The caller's events under the batch's keys: applied before the batch,
    /// or by its items so far.
    events: HashMap<String, transfer_event::Model>,
}

impl Unit<'_> {
    /// One transfer of a member at a time (PostgreSQL; SQLite writers are serial already).
    async fn lock_member(self, txn: &DatabaseTransaction, member_id: i64) -> Result<(), AppError> {
        if let Unit::Batch(ahead) = self
            && ahead.members.contains(&member_id)
        {
            return Ok(());
        }
        member::Entity::find_by_id(member_id)
            .lock_exclusive()
            .one(txn)
            .await?;
        Ok(())
    }

    async fn earlier_event(
        self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        external_id: &str,
    ) -> Result<Option<transfer_event::Model>, AppError> {
        match self {
            Unit::Batch(ahead) => Ok(ahead.events.get(external_id).cloned()),
            Unit::Alone => earlier_event(txn, ctx, external_id).await,
        }
    }

    async fn refuse_if_held(
        self,
        txn: &DatabaseTransaction,
        member_id: i64,
    ) -> Result<(), AppError> {
        match self {
            Unit::Batch(ahead) if ahead.members.contains(&member_id) => {
                match ahead.holds.get(&member_id) {
                    Some(hold) => Err(crate::holds::service::refusal(hold)),
                    None => Ok(()),
                }
            }
            _ => crate::holds::service::refuse_if_held(txn, member_id).await,
        }
    }

    async fn open_letter(
        self,
        txn: &DatabaseTransaction,
        member_id: i64,
    ) -> Result<Option<letter::Model>, AppError> {
        match self {
            Unit::Batch(ahead) if ahead.members.contains(&member_id) => {
                Ok(ahead.letters.get(&member_id).cloned())
            }
            _ => Ok(crate::memberships::read::open_letter(txn, member_id)
                .await?
                .map(|(letter, _)| letter)),
        }
    }

    /// The destination in the caller's scope, under a share lock.
    async fn destination(
        self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        code: &str,
    ) -> Result<Option<organization::Model>, AppError> {
        if let Unit::Batch(ahead) = self
            && let Some(locked) = ahead.destinations.get(code)
        {
            return Ok(ctx
                .principal
                .organization(locked.clone())
                .map(Visible::into_inner));
        }
        organizations::find_for_new_members(txn, ctx, Lookup::Code(code.to_owned())).await
    }

    async fn record_event(
        self,
        txn: &DatabaseTransaction,
        event: NewEvent,
        member: &member::Model,
    ) -> Result<transfer_event::Model, AppError> {
        match self {
            // Numbered with the batch's other events when it finishes.
            Unit::Batch(_) => record::record_event_unnumbered(txn, event, member.into()).await,
            Unit::Alone => record_event(txn, event, member.into()).await,
        }
    }
}

/// Applies one transfer and answers it as an item: refused for the
/// caller's reasons in the item, failed for the service's as the error.
pub async fn submit_item(
    db: &DatabaseConnection,
    ctx: &Ctx,
    request: TransferRequest,
) -> Result<ItemResult, AppError> {
    let external_id = request.external_id.clone();
    ItemResult::answer(external_id, submit(db, ctx, request).await)
}

/// Applies a batch of transfers in one unit of work: one transaction, one
/// commit, each transfer in a savepoint of its own, answered per item in
/// input order. An item refused for the caller's reasons changes nothing
/// and the others go on; an item whose key an earlier item of the batch
/// used answers as a second request would (DUPLICATE or CONFLICT). More
/// than 500 is refused whole, with nothing applied. An error of the
/// service's (UNAVAILABLE, INTERNAL) is the answer and nothing of the batch
/// is applied: a retry of the whole batch applies it.
pub async fn submit_batch(
    db: &DatabaseConnection,
    ctx: &Ctx,
    requests: Vec<TransferRequest>,
) -> Result<Vec<ItemResult>, AppError> {
    if requests.len() > MAX_BATCH {
        return Err(AppError::LimitExceeded(format!(
            "a batch holds at most {MAX_BATCH} transfers; this one has {}",
            requests.len()
        )));
    }
    if requests.is_empty() {
        return Err(AppError::BadInput(
            "a batch holds at least one transfer".to_owned(),
        ));
    }
    let batch = Transfers(requests);
    let answers = match unit_of_work::run_batch(db, ctx, &batch).await {
        Ok(answers) => answers,
        Err(err) => {
            crate::metrics::count::transfer_done("REJECTED", Some(err.code().as_str()));
            return Err(err);
        }
    };
    let mut results = Vec::with_capacity(answers.len());
    for (request, answer) in batch.0.into_iter().zip(answers) {
        count_transfer(&answer);
        results.push(ItemResult::answer(request.external_id, answer)?);
    }
    Ok(results)
}

/// Counts one answered transfer: APPLIED, DUPLICATE or REJECTED with its code.
fn count_transfer(outcome: &Result<TransferOutcome, AppError>) {
    match outcome {
        Ok(TransferOutcome::Applied(_)) => crate::metrics::count::transfer_done("APPLIED", None),
        Ok(TransferOutcome::Duplicate(_)) => {
            crate::metrics::count::transfer_done("DUPLICATE", None)
        }
        Err(err) => crate::metrics::count::transfer_done("REJECTED", Some(err.code().as_str())),
    }
}

/// Transfers submitted together.
struct Transfers(Vec<TransferRequest>);

impl unit_of_work::Batch for Transfers {
    type Item = TransferRequest;
    type Ahead = Ahead;

    fn items(&self) -> &[TransferRequest] {
        &self.0
    }

    /// The members (by id), then the destinations (shared); the feed and
    /// audit counters come last, in `finish` and with the audit rows: the
    /// order of a single transfer, which locks its member, then its
    /// destination, then bumps the counters. Then what the items would each
    /// read of the members and their keys.
    async fn prepare(&self, txn: &DatabaseTransaction, ctx: &Ctx) -> Result<Ahead, AppError> {
        // Every item will be refused: nothing to lock or read for them.
        if ctx.principal.require(Permission::SubmitTransfers).is_err() {
            return Ok(Ahead::default());
        }
        let named: Vec<MemberRef> = self.0.iter().filter_map(|r| r.member.clone()).collect();
        let members = members::lock_in_id_order(txn, &named).await?;
        let codes: Vec<&str> = self.0.iter().map(|r| r.to_code.as_str()).collect();
        let destinations = organizations::lock_codes_for_new_members(txn, &codes)
            .await?
            .into_iter()
            .map(|org| (org.code.clone(), org))
            .collect();
        let mut holds = HashMap::new();
        for hold in crate::holds::service::open_holds_of(txn, &members).await? {
            holds.entry(hold.member_id).or_insert(hold);
        }
        let letters = crate::memberships::read::open_letters(txn, &members)
            .await?
            .into_iter()
            .map(|letter| (letter.member_id, letter))
            .collect();
        let keys: BTreeSet<&str> = self.0.iter().map(|r| r.external_id.as_str()).collect();
        let keys: Vec<&str> = keys.into_iter().collect();
        let events = earlier_events(txn, ctx, &keys)
            .await?
            .into_iter()
            .map(|event| (event.external_id.clone(), event))
            .collect();
        Ok(Ahead {
            members: members.into_iter().collect(),
            destinations,
            holds,
            letters,
            events,
        })
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        ahead: &Ahead,
        request: &TransferRequest,
    ) -> Result<Done<TransferOutcome>, AppError> {
        let hash = request_hash(request);
        apply(txn, ctx, request.clone(), hash, Unit::Batch(ahead)).await
    }

    /// The key is taken: a later item with it answers as a second request would.
    fn applied(&self, ahead: &mut Ahead, outcome: &TransferOutcome) {
        let event = outcome.event();
        ahead
            .events
            .entry(event.external_id.clone())
            .or_insert_with(|| event.clone());
    }

    /// A transfer refused on its key, which a concurrent submission took
    /// first (the unique index made it wait for that one's commit), is
    /// answered with the winner's event, as `submit` does.
    async fn reconsider(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        request: &TransferRequest,
        refusal: AppError,
    ) -> Result<Done<TransferOutcome>, AppError> {
        if !matches!(refusal, AppError::Conflict(_)) {
            return Err(refusal);
        }
        let Some(earlier) = earlier_event(txn, ctx, &request.external_id).await? else {
            return Err(refusal);
        };
        replayed(txn, ctx, earlier, &request_hash(request)).await
    }

    /// Numbers the applied events in input order, consecutively, and puts
    /// the sequences in every answer naming them (a duplicate of an earlier
    /// item included).
    async fn finish(
        &self,
        txn: &DatabaseTransaction,
        answers: &mut unit_of_work::Answers<TransferRequest>,
    ) -> Result<(), AppError> {
        let applied: Vec<i64> = answers
            .iter()
            .filter_map(|answer| match answer {
                Ok(TransferOutcome::Applied(event)) => Some(event.id),
                _ => None,
            })
            .collect();
        let sequences = record::number_events(txn, &applied).await?;
        let numbered: HashMap<i64, i64> = applied.into_iter().zip(sequences).collect();
        for event in answers.iter_mut().filter_map(|answer| match answer {
            Ok(TransferOutcome::Applied(event) | TransferOutcome::Duplicate(event)) => Some(event),
            Err(_) => None,
        }) {
            if let Some(sequence) = numbered.get(&event.id) {
                event.sequence = *sequence;
            }
        }
        Ok(())
    }
}

/// An earlier event under the same key, as the answer to a request: the
/// same content is its DUPLICATE, other content a CONFLICT.
async fn replayed(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    earlier: transfer_event::Model,
    hash: &str,
) -> Result<Done<TransferOutcome>, AppError> {
    let outcome = replay(earlier, hash)?;
    let path = organizations::find(txn, ctx, Lookup::Id(outcome.event().to_organization_id))
        .await?
        .map(|org| org.path.clone())
        .unwrap_or_default();
    Ok(Done::new(outcome, path))
}

async fn apply(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    request: TransferRequest,
    hash: String,
    unit: Unit<'_>,
) -> Result<Done<TransferOutcome>, AppError> {
    ctx.principal.require(Permission::SubmitTransfers)?;
    let now = crate::clock::now();
    validate(&request, now)?;

    let member_ref = request.member.clone().ok_or(AppError::NotFound("member"))?;
    let lookup = match member_ref {
        MemberRef::Id(id) => MemberLookup::Id(id),
        MemberRef::NationalId(national_id) => MemberLookup::NationalId(national_id),
    };
    let member = members::find(txn, ctx, lookup)
        .await?
        .ok_or(AppError::NotFound("member"))?
        .model;
    unit.lock_member(txn, member.id).await?;

    if let Some(earlier) = unit.earlier_event(txn, ctx, &request.external_id).await? {
        return replayed(txn, ctx, earlier, &hash).await;
    }

    if has_left_the_party(member.status) {
        let status = member.status.to_value();
        return Err(AppError::Conflict(format!("the member is {status}")));
    }
    unit.refuse_if_held(txn, member.id).await?;
    if let Some(letter) = unit.open_letter(txn, member.id).await? {
        return Err(AppError::conflict_on(
            "letter",
            format!(
                "the member holds open introduction letter {} (number {}): receive or cancel it first",
                letter.id, letter.number
            ),
        ));
    }
    // Under a share lock: a dissolution of the destination either waits for
    // this transfer or has already made it DISSOLVED.
    let destination = unit
        .destination(txn, ctx, &request.to_code)
        .await?
        .ok_or(AppError::NotFound("destination organization"))?;
    if !organizations::is_active_cell(&destination) {
        return Err(AppError::Conflict(
            "toOrganizationCode: the destination is not an ACTIVE CELL".to_owned(),
        ));
    }

    let official = membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member.id))
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .filter(membership::Column::EndedAt.is_null())
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("the member has no open official membership".to_owned())
        })?;

    // Which membership closes (if any), and which cell the event comes from.
    let (closing, from_id) = match (request.kind, request.reason) {
        (MembershipKind::Official, _) => {
            if official.organization_id == destination.id {
                return Err(AppError::Conflict(
                    "toOrganizationCode: the member is already in this cell".to_owned(),
                ));
            }
            (Some(official.clone()), official.organization_id)
        }
        (MembershipKind::Temporary, TransferReason::Return) => {
            if destination.id != official.organization_id {
                return Err(AppError::Conflict(
                    "toOrganizationCode: a RETURN goes back to the member's official cell"
                        .to_owned(),
                ));
            }
            let open_temporary = membership::Entity::find()
                .filter(membership::Column::MemberId.eq(member.id))
                .filter(membership::Column::Kind.eq(MembershipKind::Temporary))
                .filter(membership::Column::EndedAt.is_null())
                .all(txn)
                .await?;
            let from = match &request.from_code {
                Some(code) => organizations::find(txn, ctx, Lookup::Code(code.clone()))
                    .await?
                    .map(|org| org.id),
                None if open_temporary.len() == 1 => {
                    open_temporary.first().map(|m| m.organization_id)
                }
                None => None,
            };
            let closing = open_temporary
                .into_iter()
                .find(|m| Some(m.organization_id) == from)
                .ok_or_else(|| {
                    AppError::Conflict(
                        "fromOrganizationCode: no open temporary membership to return from"
                            .to_owned(),
                    )
                })?;
            let from_id = closing.organization_id;
            (Some(closing), from_id)
        }
        (MembershipKind::Temporary, _) => {
            if destination.id == official.organization_id {
                return Err(AppError::Conflict(
                    "toOrganizationCode: the member is already in this cell".to_owned(),
                ));
            }
            let already = membership::Entity::find()
                .filter(membership::Column::MemberId.eq(member.id))
                .filter(membership::Column::OrganizationId.eq(destination.id))
                .filter(membership::Column::Kind.eq(MembershipKind::Temporary))
                .filter(membership::Column::EndedAt.is_null())
                .one(txn)
                .await?;
            if already.is_some() {
                return Err(AppError::Conflict(
                    "toOrganizationCode: the member is already active there temporarily".to_owned(),
                ));
            }
            (None, official.organization_id)
        }
    };
    // The optimistic check: the caller says where the member is now.
    if request.reason != TransferReason::Return {
        if let Some(from_code) = &request.from_code {
            let current = organizations::find(txn, ctx, Lookup::Id(from_id)).await?;
            if current.is_none_or(|cell| &cell.code != from_code) {
                return Err(AppError::Conflict(
                    "fromOrganizationCode: the member is not in that cell now".to_owned(),
                ));
            }
        }
    }
    // "Now" is read after the member's lock: a transfer that waited for
    // another of the same member starts after it, never before.
    let effective_at =
        record::effective_instant(request.effective_at, closing.as_ref().map(|c| c.started_at));
    if let Some(closing) = &closing {
        if effective_at < closing.started_at {
            return Err(AppError::invalid(
                "effectiveAt",
                "must not precede the start of the current membership",
            ));
        }
    }

    let transfer = NewEvent {
        submitter: ctx.principal.subject.clone(),
        external_id: request.external_id.clone(),
        request_hash: hash,
        from: Some(from_id),
        to: destination.id,
        kind: request.kind,
        reason: request.reason,
        decision_ref: request.decision_ref.clone(),
        effective_at,
        recorded_at: now,
    };
    let event = unit.record_event(txn, transfer, &member).await?;
    if let Some(closing) = closing {
        close_membership(txn, &closing, &event).await?;
    }
    let opens =
        !(request.kind == MembershipKind::Temporary && request.reason == TransferReason::Return);
    if opens {
        record::open_membership_until(txn, &event, request.ends_on).await?;
    }
    Ok(Done::new(TransferOutcome::Applied(event), destination.path))
}

#[cfg(test)]
mod tests {
    use super::{ItemOutcome, ItemResult};
    use crate::error::AppError;

    #[test]
    fn the_callers_errors_are_items_and_the_services_fail_the_request() {
        let refused = ItemResult::answer("a".to_owned(), Err(AppError::NotFound("member")));
        assert!(matches!(
            refused,
            Ok(ItemResult {
                outcome: ItemOutcome::Rejected(AppError::NotFound(_)),
                ..
            })
        ));
        let contended = ItemResult::answer("b".to_owned(), Err(AppError::Contention("x".into())));
        assert!(matches!(contended, Err(AppError::Contention(_))));
        let broken = ItemResult::answer(
            "c".to_owned(),
            Err(AppError::Internal(anyhow::anyhow!("x"))),
        );
        assert!(matches!(broken, Err(AppError::Internal(_))));
    }
}
