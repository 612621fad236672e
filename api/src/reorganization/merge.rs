//! `mergeOrganizations`: several committees (or cells) end and one new
//! organization is founded at the same instant, under one decision (Hướng
//! dẫn 31-HD/BTCTW, 2025). The new one is established at `effectiveAt`;
//! every ACTIVE child of the sources moves under it with its subtree; every
//! open official membership of merged cells moves into it (a DISSOLUTION
//! event each, in the feed); the sources end as MERGED with the new one as
//! their successor. One unit of work, one audit row per organization
//! touched; refused whole, every fault listed, nothing changed.

use chrono::{DateTime, Utc};
use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::{organization, transfer_event};
use sea_orm::DatabaseTransaction;
use std::collections::BTreeSet;

use super::cell::lock_open_memberships;
use super::dissolution::{Routing, fault, lock_for_dissolution};
use super::succession::{Ending, audit_touched, end_source, not_active, refused};
use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission};
use crate::domain::{DecisionRef, Name, OrganizationCode};
use crate::error::{AppError, Fault};
use crate::organizations::create::{New, insert};
use crate::organizations::rename_and_move::reparent;
use crate::organizations::service::{self as organizations, Lookup, allowed_parents};
use crate::unit_of_work::{Done, Mutation};

/// Most organizations one merge ends.
pub const MAX_SOURCES: usize = 100;

/// Input of `mergeOrganizations`.
#[derive(Debug, Clone)]
pub struct Merge {
    pub source_codes: Vec<String>,
    /// The new organization.
    pub code: String,
    pub name: String,
    pub parent_code: String,
    /// For merged cells whose types differ; else the sources' type.
    pub cell_type: Option<CellType>,
    pub decision_ref: String,
    pub effective_at: Option<DateTime<Utc>>,
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct Merged {
    pub organization: organization::Model,
    pub sources: Vec<organization::Model>,
    pub transfers: Vec<transfer_event::Model>,
}

impl Mutation for Merge {
    type Output = Merged;
    const ACTION: &'static str = "mergeOrganizations";

    fn target(&self) -> String {
        format!(
            "{}->{}:{}",
            self.source_codes.join("+"),
            self.code,
            self.decision_ref
        )
    }

    async fn apply(&self, txn: &DatabaseTransaction, ctx: &Ctx) -> Result<Done<Merged>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        let now = crate::clock::now();
        let name = self.validate(now)?;
        let mut faults = Vec::new();
        let sources = find_sources(txn, ctx, &self.source_codes, &mut faults).await?;
        let kinds: BTreeSet<String> = sources.iter().map(|s| format!("{:?}", s.kind)).collect();
        if kinds.len() > 1 {
            faults.push(fault(
                None,
                None,
                format!(
                    "the sources are of mixed kinds ({})",
                    kinds.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let kind = sources.first().map(|s| s.kind);
        let cell_type = self.cell_type(&sources, &mut faults);
        let parent = check_parent(txn, ctx, &self.parent_code, kind, &sources, &mut faults).await?;
        if code_taken(txn, &self.code).await? {
            faults.push(fault(
                None,
                Some(&self.code),
                "the new code is already in use",
            ));
        }
        let (Some(kind), Some(parent), true) = (kind, parent, faults.is_empty()) else {
            return Err(refused("sourceCodes", "the merge", faults));
        };

        // Who is in the merged cells, locked as their dissolution will lock
        // them (members, then the cell); "now" is read after the locks, so a
        // transfer that got in first began before the merge.
        for cell in sources.iter().filter(|s| s.kind == OrganizationKind::Cell) {
            lock_open_memberships(txn, cell.id).await?;
        }
        let effective_at = self.effective_at.unwrap_or_else(crate::clock::now);
        let merged = insert(
            txn,
            New {
                code: &self.code,
                name,
                kind,
                cell_type,
                parent: Some(&parent),
                established_at: Some(effective_at),
            },
            now,
        )
        .await?;
        let ending = Ending {
            action: Self::ACTION,
            ended_as: OrganizationStatus::Merged,
            decision_ref: &self.decision_ref,
            effective_at,
            successors: &[merged.id],
            audit_source: true,
        };
        let mut transfers = Vec::new();
        let mut ended = Vec::new();
        for source in sources {
            if source.kind != OrganizationKind::Cell {
                // The committee first: a concurrent merge of it waits here,
                // then finds it ended.
                let locked = lock_for_dissolution(txn, source.id).await?;
                if let Some(ended) = not_active(&locked) {
                    return Err(refused("sourceCodes", "the merge", vec![ended]));
                }
            }
            for child in active_children(txn, source.id).await? {
                let moved = reparent(txn, &child, &merged, effective_at, now).await?;
                audit_touched(txn, ctx, Self::ACTION, &moved).await?;
            }
            let routing = Routing::Into(merged.code.clone());
            let code = source.code.clone();
            transfers
                .extend(end_source(txn, ctx, source, routing, Vec::new(), &ending, now).await?);
            ended.push(organizations::find_any_by_code(txn, &code).await?);
        }
        transfers.sort_by_key(|e| (e.member_id, e.sequence));
        let path = merged.path.clone();
        Ok(Done::new(
            Merged {
                organization: merged,
                sources: ended,
                transfers,
            },
            path,
        ))
    }
}

impl Merge {
    /// The input's own rules; answers the new organization's name.
    fn validate(&self, now: DateTime<Utc>) -> Result<String, AppError> {
        OrganizationCode::parse("code", &self.code)?;
        OrganizationCode::parse("parentCode", &self.parent_code)?;
        DecisionRef::parse("decisionRef", &self.decision_ref)?;
        crate::clock::not_in_future("effectiveAt", self.effective_at, now)?;
        if self.source_codes.len() < 2 || self.source_codes.len() > MAX_SOURCES {
            return Err(AppError::invalid(
                "sourceCodes",
                format!("a merge ends 2 to {MAX_SOURCES} organizations"),
            ));
        }
        let mut seen = BTreeSet::new();
        for code in &self.source_codes {
            OrganizationCode::parse("sourceCodes", code)?;
            if !seen.insert(code) {
                return Err(AppError::invalid(
                    "sourceCodes",
                    format!("{code} is named twice"),
                ));
            }
        }
        Ok(Name::parse("name", &self.name)?.into_inner())
    }

    /// The new cell's type: as given, else the sources' common type.
    fn cell_type(
        &self,
        sources: &[organization::Model],
        faults: &mut Vec<Fault>,
    ) -> Option<CellType> {
        if !sources.iter().any(|s| s.kind == OrganizationKind::Cell) {
            if self.cell_type.is_some() {
                faults.push(fault(
                    None,
                    Some(&self.code),
                    "cellType is only for merged cells",
                ));
            }
            return None;
        }
        let types: BTreeSet<CellType> = sources.iter().filter_map(|s| s.cell_type).collect();
        match (self.cell_type, types.len()) {
            (Some(given), _) => Some(given),
            (None, 1) => types.into_iter().next(),
            (None, _) => {
                faults.push(fault(
                    None,
                    Some(&self.code),
                    "the cells are of different types: give cellType",
                ));
                None
            }
        }
    }
}

/// The sources as they are, each in the caller's scope; those absent or
/// outside it, and those already ended, are faults.
async fn find_sources(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    codes: &[String],
    faults: &mut Vec<Fault>,
) -> Result<Vec<organization::Model>, AppError> {
    let mut sources = Vec::new();
    for code in codes {
        match organizations::find(txn, ctx, Lookup::Code(code.clone())).await? {
            None => faults.push(fault(
                None,
                Some(code),
                "not found (or outside the caller's scope)",
            )),
            Some(source) => {
                if let Some(ended) = not_active(&source) {
                    faults.push(ended);
                }
                sources.push(source.into_inner());
            }
        }
    }
    Ok(sources)
}

/// The new organization's parent: in scope, ACTIVE, of a kind the tree
/// rules allow for the merged kind, and not one of the sources or under one.
async fn check_parent(
    txn: &DatabaseTransaction,
    ctx: &Ctx,
    parent_code: &str,
    kind: Option<OrganizationKind>,
    sources: &[organization::Model],
    faults: &mut Vec<Fault>,
) -> Result<Option<organization::Model>, AppError> {
    let Some(parent) = organizations::find(txn, ctx, Lookup::Code(parent_code.to_owned()))
        .await?
        .map(Visible::into_inner)
    else {
        faults.push(fault(
            None,
            Some(parent_code),
            "parent not found (or outside the caller's scope)",
        ));
        return Ok(None);
    };
    if parent.status != OrganizationStatus::Active {
        faults.push(fault(None, Some(parent_code), "the parent has ended"));
    }
    if let Some(kind) = kind
        && !allowed_parents(kind).contains(&parent.kind)
    {
        faults.push(fault(
            None,
            Some(parent_code),
            format!("a {kind:?} cannot be placed under a {:?}", parent.kind),
        ));
    }
    if sources.iter().any(|s| parent.path.starts_with(&s.path)) {
        faults.push(fault(
            None,
            Some(parent_code),
            "the parent is one of the sources or lies under one",
        ));
    }
    Ok(Some(parent))
}

async fn code_taken(txn: &DatabaseTransaction, code: &str) -> Result<bool, AppError> {
    Ok(organizations::find_any_by_code(txn, code).await.is_ok())
}

async fn active_children(
    txn: &DatabaseTransaction,
    id: i64,
) -> Result<Vec<organization::Model>, AppError> {
    Ok(
        organizations::children_of(txn, &[id], Some(OrganizationStatus::Active))
            .await?
            .remove(&id)
            .unwrap_or_default(),
    )
}
