//! Transfers: applying one (the domain operation every entry point uses,
//! in one transaction, idempotent per submitter and key), batches, and
//! reading events: the change feed in sequence order and a member's own
//! events. An event is visible when its source or destination lies in the
//! caller's scope.

use chrono::{DateTime, Utc};
use entity::enums::{MemberStatus, MembershipKind, TransferReason};
use entity::{member, membership, organization, transfer_event};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use crate::audit::service::audited;
use crate::auth::{Ctx, Permission};
use crate::error::AppError;
use crate::members::service::{self as members, MemberLookup};
use crate::organizations::service::{self as organizations, Lookup};
use crate::page::{Page, PageOf};
use std::collections::HashMap;

fn touching(range: &(String, String)) -> Condition {
    let inside = || {
        Query::select()
            .column(organization::Column::Id)
            .from(organization::Entity)
            .and_where(Expr::col(organization::Column::Path).gte(range.0.clone()))
            .and_where(Expr::col(organization::Column::Path).lt(range.1.clone()))
            .to_owned()
    };
    Condition::any()
        .add(transfer_event::Column::ToOrganizationId.in_subquery(inside()))
        .add(transfer_event::Column::FromOrganizationId.in_subquery(inside()))
}

/// The change feed: every event touching the subtree (`within`, else the
/// caller's scope), by sequence, after a sequence number.
pub async fn feed<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
    page: Page,
) -> Result<PageOf<transfer_event::Model>, AppError> {
    let Some(range) = organizations::search_range(conn, ctx, within).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = transfer_event::Entity::find();
    if let Some(range) = range {
        query = query.filter(touching(&range));
    }
    Ok(crate::page::fetch_page(conn, query, transfer_event::Column::Sequence, page).await?)
}

/// The counter feed sequences come from.
const FEED_COUNTER: &str = "transfer_event";

/// Records an event with the next feed sequence. The only place sequences
/// are handed out: the counter row's lock, held to commit, makes commit
/// order equal feed order.
/// The event keeps the member as they are at that moment (name and
/// status): callers who see the event but no longer the member are shown
/// this snapshot. Callers holding the member's row set it themselves
/// (`with_member_snapshot`); otherwise it is read here.
pub(crate) async fn record_event<C: ConnectionTrait>(
    conn: &C,
    mut event: transfer_event::ActiveModel,
) -> Result<transfer_event::Model, AppError> {
    if event.member_full_name.is_not_set() || event.member_status.is_not_set() {
        let member_id = match &event.member_id {
            sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => *id,
            sea_orm::ActiveValue::NotSet => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "an event without its member"
                )));
            }
        };
        let member = member::Entity::find_by_id(member_id)
            .one(conn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an event for an unknown member")))?;
        event = with_member_snapshot(event, &member);
    }
    event.sequence = Set(crate::database::next_counter(conn, FEED_COUNTER).await?);
    Ok(event.insert(conn).await?)
}

/// Sets the event's member and the snapshot of them it keeps.
pub(crate) fn with_member_snapshot(
    mut event: transfer_event::ActiveModel,
    member: &member::Model,
) -> transfer_event::ActiveModel {
    event.member_id = Set(member.id);
    event.member_full_name = Set(Some(member.full_name.clone()));
    event.member_status = Set(Some(member.status));
    event
}

/// Opens the membership an event starts: at its destination, of its kind, from its instant.
pub(crate) async fn open_membership<C: ConnectionTrait>(
    conn: &C,
    event: &transfer_event::Model,
) -> Result<membership::Model, AppError> {
    Ok(membership::ActiveModel {
        member_id: Set(event.member_id),
        organization_id: Set(event.to_organization_id),
        kind: Set(event.kind),
        started_at: Set(event.effective_at),
        ended_at: Set(None),
        opened_by_event_id: Set(event.id),
        closed_by_event_id: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Closes the membership an event ends, at the event's instant.
/// Conditional: if another transaction closed it first, the whole
/// transaction fails and nothing is half-applied.
pub(crate) async fn close_membership<C: ConnectionTrait>(
    conn: &C,
    closing: &membership::Model,
    event: &transfer_event::Model,
) -> Result<(), AppError> {
    let closed = membership::Entity::update_many()
        .col_expr(membership::Column::EndedAt, Expr::value(event.effective_at))
        .col_expr(membership::Column::ClosedByEventId, Expr::value(event.id))
        .filter(membership::Column::Id.eq(closing.id))
        .filter(membership::Column::EndedAt.is_null())
        .exec(conn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "the member was transferred concurrently; retry".to_owned(),
        ));
    }
    Ok(())
}

/// Events by id, in no particular order.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<transfer_event::Model>, AppError> {
    Ok(transfer_event::Entity::find()
        .filter(transfer_event::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The latest feed sequence handed out (0 before the first event).
pub async fn last_sequence<C: ConnectionTrait>(conn: &C) -> Result<i64, AppError> {
    Ok(entity::counter::Entity::find_by_id(FEED_COUNTER.to_owned())
        .one(conn)
        .await?
        .map_or(0, |counter| counter.last_value))
}

/// The same page of several members' events (by sequence) in two
/// statements: counts, then rows (`page::fetch_pages`). Only events touching
/// `scope` (a subtree's path range; `None` for everything), as in the feed:
/// a member's life outside the caller's subtree stays there.
pub async fn of_members<C: ConnectionTrait>(
    conn: &C,
    member_ids: &[i64],
    scope: Option<&(String, String)>,
    page: Page,
) -> Result<HashMap<i64, PageOf<transfer_event::Model>>, AppError> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{EntityName, Iterable};
    let mut totals: HashMap<i64, u64> = member_ids.iter().map(|id| (*id, 0)).collect();
    if member_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut counted = Query::select();
    counted
        .column(transfer_event::Column::MemberId)
        .expr_as(
            Expr::col(transfer_event::Column::Id).count(),
            Alias::new("events"),
        )
        .from(transfer_event::Entity.table_ref())
        .and_where(Expr::col(transfer_event::Column::MemberId).is_in(member_ids.iter().copied()))
        .group_by_col(transfer_event::Column::MemberId);
    if let Some(range) = scope {
        counted.cond_where(touching(range));
    }
    for row in conn.query_all(&counted).await? {
        let member: i64 = row.try_get("", "member_id")?;
        let events: i64 = row.try_get("", "events")?;
        totals.insert(member, u64::try_from(events).unwrap_or(0));
    }
    let mut rows = Query::select();
    rows.columns(transfer_event::Column::iter())
        .from(transfer_event::Entity.table_ref())
        .and_where(Expr::col(transfer_event::Column::MemberId).is_in(member_ids.iter().copied()));
    if let Some(range) = scope {
        rows.cond_where(touching(range));
    }
    Ok(crate::page::fetch_pages(
        conn,
        rows,
        Expr::col(transfer_event::Column::MemberId),
        Expr::col(transfer_event::Column::Sequence),
        page,
        &totals,
    )
    .await?)
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
                members::validate_national_id("memberNationalId", national_id)
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

/// A decision reference (a transfer's, a dissolution's, a removal's):
/// 1–255 characters, not blank, no control characters.
pub fn validate_decision_ref(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() || value.chars().count() > 255 || value.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            field,
            "must be 1 to 255 characters, without control characters",
        ));
    }
    Ok(())
}

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
    let canonical = serde_json::json!([
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
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Checks what needs no database.
fn validate(request: &TransferRequest, now: DateTime<Utc>) -> Result<(), AppError> {
    members::validate_external_id(&request.external_id)?;
    MemberRef::check(request.member.as_ref(), "memberId")?;
    organizations::validate_code("toOrganizationCode", &request.to_code)?;
    if let Some(from) = &request.from_code {
        organizations::validate_code("fromOrganizationCode", from)?;
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
        validate_decision_ref("decisionRef", decision)?;
    }
    crate::clock::not_in_future("effectiveAt", request.effective_at, now)?;
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
    let target = format!("{}:{}", request.to_code, request.external_id);
    let hash = request_hash(&request);
    let caller = ctx.clone();
    let work_hash = hash.clone();
    let external_id = request.external_id.clone();
    let result = audited(db, ctx, "submitTransfer", &target, move |txn| {
        let (caller, request, work_hash) = (caller.clone(), request.clone(), work_hash.clone());
        Box::pin(async move { apply(txn, &caller, request, work_hash).await })
    })
    .await;
    match result {
        // Two submissions of one key raced past the check: the loser reads the winner's event.
        Err(AppError::Conflict(message)) => match earlier_event(db, ctx, &external_id).await? {
            Some(earlier) => replay(earlier, &hash),
            None => Err(AppError::Conflict(message)),
        },
        other => other,
    }
}

/// Applies each transfer on its own, answering per item in input order.
/// More than 500 is refused whole, with nothing applied.
pub async fn submit_batch(
    db: &DatabaseConnection,
    ctx: &Ctx,
    requests: Vec<TransferRequest>,
) -> Result<Vec<Result<TransferOutcome, AppError>>, AppError> {
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
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        results.push(submit(db, ctx, request).await);
    }
    Ok(results)
}

async fn apply(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    request: TransferRequest,
    hash: String,
) -> Result<(TransferOutcome, String), AppError> {
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
    // One transfer of a member at a time (PostgreSQL; SQLite writers are serial already).
    member::Entity::find_by_id(member.id)
        .lock_exclusive()
        .one(txn)
        .await?;

    if let Some(earlier) = earlier_event(txn, ctx, &request.external_id).await? {
        let outcome = replay(earlier, &hash)?;
        let path = organizations::find(txn, ctx, Lookup::Id(outcome.event().to_organization_id))
            .await?
            .map(|org| org.path)
            .unwrap_or_default();
        return Ok((outcome, path));
    }

    if matches!(
        member.status,
        MemberStatus::Removed | MemberStatus::Deceased
    ) {
        let status = if member.status == MemberStatus::Removed {
            "REMOVED"
        } else {
            "DECEASED"
        };
        return Err(AppError::Conflict(format!("the member is {status}")));
    }
    // Under a share lock: a dissolution of the destination either waits for
    // this transfer or has already made it DISSOLVED.
    let destination =
        organizations::find_for_new_members(txn, ctx, Lookup::Code(request.to_code.clone()))
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
    let effective_at = match request.effective_at {
        Some(at) => at,
        None => std::cmp::max(
            crate::clock::now(),
            closing.as_ref().map_or(now, |c| c.started_at),
        ),
    };
    if let Some(closing) = &closing {
        if effective_at < closing.started_at {
            return Err(AppError::invalid(
                "effectiveAt",
                "must not precede the start of the current membership",
            ));
        }
    }

    let event = record_event(
        txn,
        with_member_snapshot(
            transfer_event::ActiveModel {
                submitter: Set(ctx.principal.subject.clone()),
                external_id: Set(request.external_id.clone()),
                request_hash: Set(hash),
                from_organization_id: Set(Some(from_id)),
                to_organization_id: Set(destination.id),
                kind: Set(request.kind),
                reason: Set(request.reason),
                decision_ref: Set(request.decision_ref.clone()),
                effective_at: Set(effective_at),
                recorded_at: Set(now),
                ..Default::default()
            },
            &member,
        ),
    )
    .await?;
    if let Some(closing) = closing {
        close_membership(txn, &closing, &event).await?;
    }
    let opens =
        !(request.kind == MembershipKind::Temporary && request.reason == TransferReason::Return);
    if opens {
        open_membership(txn, &event).await?;
    }
    Ok((TransferOutcome::Applied(event), destination.path))
}
