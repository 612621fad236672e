//! `splitOrganization`: one committee (or cell) ends and several new ones
//! are founded at the same instant, under one decision; each ACTIVE child
//! (of a committee) or official member (of a cell) is assigned to one part
//! explicitly. The source ends as SPLIT with the parts as its successors.
//! One unit of work, one audit row per organization touched; refused whole,
//! nothing changed.

use chrono::{DateTime, Utc};
use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::{organization, transfer_event};
use sea_orm::DatabaseTransaction;
use std::collections::{BTreeMap, BTreeSet};

use super::cell::lock_open_memberships;
use super::dissolution::{Destination, Routing, fault, lock_for_dissolution};
use super::merge::MAX_SOURCES;
use super::succession::{Ending, audit_touched, end_source, not_active, refused};
use crate::auth::policy::Visible;
use crate::auth::{Ctx, Permission};
use crate::domain::{DecisionRef, Name, OrganizationCode};
use crate::error::{AppError, Fault};
use crate::members::lookup::MemberRef;
use crate::organizations::create::{New, insert};
use crate::organizations::rename_and_move::reparent;
use crate::organizations::service::{self as organizations, Lookup, allowed_parents};
use crate::unit_of_work::{Done, Mutation};

/// One new organization of a split.
#[derive(Debug, Clone)]
pub struct SplitPart {
    pub code: String,
    pub name: String,
    /// Default: the source's parent.
    pub parent_code: Option<String>,
    /// For cells; default: the source's type.
    pub cell_type: Option<CellType>,
    /// A committee's ACTIVE children that go to this part.
    pub child_codes: Vec<String>,
    /// A cell's official members that go to this part.
    pub member_ids: Vec<i64>,
}

/// Input of `splitOrganization`.
#[derive(Debug, Clone)]
pub struct Split {
    pub code: String,
    pub decision_ref: String,
    pub effective_at: Option<DateTime<Utc>>,
    pub parts: Vec<SplitPart>,
}

/// What a split did.
#[derive(Debug, Clone)]
pub struct SplitDone {
    pub organization: organization::Model,
    pub parts: Vec<organization::Model>,
    pub transfers: Vec<transfer_event::Model>,
}

impl Mutation for Split {
    type Output = SplitDone;
    const ACTION: &'static str = "splitOrganization";

    fn target(&self) -> String {
        let parts: Vec<&str> = self.parts.iter().map(|p| p.code.as_str()).collect();
        format!("{}->{}:{}", self.code, parts.join("+"), self.decision_ref)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<SplitDone>, AppError> {
        ctx.principal.require(Permission::Organize)?;
        let names = self.validate(crate::clock::now())?;
        let source = organizations::find(txn, ctx, Lookup::Code(self.code.clone()))
            .await?
            .map(Visible::into_inner)
            .ok_or(AppError::NotFound("organization"))?;
        let mut faults: Vec<Fault> = not_active(&source).into_iter().collect();
        let parents = self.check_parents(txn, ctx, &source, &mut faults).await?;
        let children = if source.kind == OrganizationKind::Cell {
            self.check_cell_parts(&source, &mut faults);
            BTreeMap::new()
        } else {
            self.assign_children(txn, &source, &mut faults).await?
        };
        if !faults.is_empty() {
            return Err(refused("parts", "the split", faults));
        }
        // The source under its locks: a concurrent change of it waits, then finds it ended.
        let source = if source.kind == OrganizationKind::Cell {
            lock_open_memberships(txn, source.id).await?.0
        } else {
            lock_for_dissolution(txn, source.id).await?
        };
        if let Some(ended) = not_active(&source) {
            return Err(refused("code", "the split", vec![ended]));
        }
        let effective_at = self.effective_at.unwrap_or_else(crate::clock::now);
        let now = crate::clock::now();
        let mut parts = Vec::new();
        for ((part, name), parent) in self.parts.iter().zip(names).zip(&parents) {
            let created = insert(
                txn,
                New {
                    code: &part.code,
                    name,
                    kind: source.kind,
                    cell_type: part
                        .cell_type
                        .or(source.cell_type)
                        .filter(|_| source.kind == OrganizationKind::Cell),
                    parent: Some(parent),
                    established_at: Some(effective_at),
                },
                now,
            )
            .await?;
            audit_touched(txn, ctx, Self::ACTION, &created).await?;
            parts.push(created);
        }
        for (index, children) in &children {
            for child in children {
                let moved = reparent(txn, child, &parts[*index], effective_at, now).await?;
                audit_touched(txn, ctx, Self::ACTION, &moved).await?;
            }
        }
        let destinations = self
            .parts
            .iter()
            .flat_map(|part| {
                part.member_ids.iter().map(|id| Destination {
                    member: Some(MemberRef::Id(*id)),
                    to_code: part.code.clone(),
                })
            })
            .collect();
        let successors: Vec<i64> = parts.iter().map(|p| p.id).collect();
        let ending = Ending {
            action: Self::ACTION,
            ended_as: OrganizationStatus::Split,
            decision_ref: &self.decision_ref,
            effective_at,
            successors: &successors,
            // The mutation's own audit row is about the source.
            audit_source: false,
        };
        let code = source.code.clone();
        let mut transfers = end_source(
            txn,
            ctx,
            source,
            Routing::Explicit,
            destinations,
            &ending,
            now,
        )
        .await?;
        transfers.sort_by_key(|e| (e.member_id, e.sequence));
        let ended = organizations::find_any_by_code(txn, &code).await?;
        let path = ended.path.clone();
        Ok(Done::new(
            SplitDone {
                organization: ended,
                parts,
                transfers,
            },
            path,
        ))
    }
}

impl Split {
    /// The input's own rules; answers each part's name.
    fn validate(&self, now: DateTime<Utc>) -> Result<Vec<String>, AppError> {
        OrganizationCode::parse("code", &self.code)?;
        DecisionRef::parse("decisionRef", &self.decision_ref)?;
        crate::clock::not_in_future("effectiveAt", self.effective_at, now)?;
        if self.parts.len() < 2 || self.parts.len() > MAX_SOURCES {
            return Err(AppError::invalid(
                "parts",
                format!("a split founds 2 to {MAX_SOURCES} organizations"),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        for part in &self.parts {
            OrganizationCode::parse("parts", &part.code)?;
            if let Some(parent) = &part.parent_code {
                OrganizationCode::parse("parts", parent)?;
            }
            if !seen.insert(&part.code) {
                return Err(AppError::invalid(
                    "parts",
                    format!("{} is named twice", part.code),
                ));
            }
            names.push(Name::parse("parts", &part.name)?.into_inner());
        }
        Ok(names)
    }

    /// Each part's parent: given or the source's, in scope, ACTIVE, of a
    /// kind the tree rules allow, not under the source; each code free.
    async fn check_parents(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
        source: &organization::Model,
        faults: &mut Vec<Fault>,
    ) -> Result<Vec<organization::Model>, AppError> {
        let mut parents = Vec::new();
        for part in &self.parts {
            if organizations::find_any_by_code(txn, &part.code)
                .await
                .is_ok()
            {
                faults.push(fault(
                    None,
                    Some(&part.code),
                    "the new code is already in use",
                ));
            }
            let found = match (&part.parent_code, source.parent_id) {
                (Some(code), _) => {
                    organizations::find(txn, ctx, Lookup::Code(code.clone())).await?
                }
                (None, Some(id)) => organizations::find(txn, ctx, Lookup::Id(id)).await?,
                (None, None) => None,
            };
            let Some(parent) = found.map(Visible::into_inner) else {
                faults.push(fault(
                    None,
                    Some(&part.code),
                    "its parent is not found (or outside the caller's scope)",
                ));
                continue;
            };
            if parent.status != OrganizationStatus::Active {
                faults.push(fault(None, Some(&parent.code), "the parent has ended"));
            }
            if !allowed_parents(source.kind).contains(&parent.kind) {
                faults.push(fault(
                    None,
                    Some(&parent.code),
                    format!(
                        "a {:?} cannot be placed under a {:?}",
                        source.kind, parent.kind
                    ),
                ));
            }
            if parent.path.starts_with(&source.path) {
                faults.push(fault(
                    None,
                    Some(&parent.code),
                    "the parent is the source or lies under it",
                ));
            }
            parents.push(parent);
        }
        Ok(parents)
    }

    /// A cell's parts name members, never children (the dissolution of the
    /// cell checks that each official member goes to exactly one part).
    fn check_cell_parts(&self, source: &organization::Model, faults: &mut Vec<Fault>) {
        for part in &self.parts {
            if !part.child_codes.is_empty() {
                faults.push(fault(
                    None,
                    Some(&part.code),
                    format!("{} is a cell: give memberIds, not childCodes", source.code),
                ));
            }
        }
    }

    /// A committee's ACTIVE children, each assigned to exactly one part (by
    /// the part's index); parts name children, never members.
    async fn assign_children(
        &self,
        txn: &DatabaseTransaction,
        source: &organization::Model,
        faults: &mut Vec<Fault>,
    ) -> Result<BTreeMap<usize, Vec<organization::Model>>, AppError> {
        let mut active: BTreeMap<String, organization::Model> =
            organizations::children_of(txn, &[source.id], Some(OrganizationStatus::Active))
                .await?
                .remove(&source.id)
                .unwrap_or_default()
                .into_iter()
                .map(|child| (child.code.clone(), child))
                .collect();
        let mut assigned: BTreeMap<usize, Vec<organization::Model>> = BTreeMap::new();
        for (index, part) in self.parts.iter().enumerate() {
            if !part.member_ids.is_empty() {
                faults.push(fault(
                    None,
                    Some(&part.code),
                    format!(
                        "{} is a committee: give childCodes, not memberIds",
                        source.code
                    ),
                ));
            }
            for code in &part.child_codes {
                match active.remove(code) {
                    Some(child) => assigned.entry(index).or_default().push(child),
                    None => faults.push(fault(
                        None,
                        Some(code),
                        format!("not an ACTIVE child of {} (or named twice)", source.code),
                    )),
                }
            }
        }
        for code in active.keys() {
            faults.push(fault(None, Some(code), "an ACTIVE child given to no part"));
        }
        Ok(assigned)
    }
}
