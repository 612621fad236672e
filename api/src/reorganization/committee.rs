//! Dissolving a committee: only once every organization under it is
//! dissolved; no one moves.

use chrono::{DateTime, Utc};
use entity::enums::OrganizationStatus;
use entity::organization;
use sea_orm::ConnectionTrait;

use super::dissolution::{
    Dissolution, Dissolve, already_dissolved, fault, lock_for_dissolution, mark_dissolved,
};
use crate::error::{AppError, Fault};
use crate::organizations::service as organizations;

/// A committee: only once every organization under it is dissolved; no one moves.
pub(super) async fn dissolve_committee<C: ConnectionTrait>(
    conn: &C,
    org: organization::Model,
    input: &Dissolve,
    now: DateTime<Utc>,
) -> Result<Dissolution, AppError> {
    if !input.destinations.is_empty() {
        return Err(AppError::invalid(
            "transfers",
            "a committee has no members of its own to move",
        ));
    }
    let org = lock_for_dissolution(conn, org.id).await?;
    if org.status == OrganizationStatus::Dissolved {
        return Err(already_dissolved(&org));
    }
    let active_children: Vec<Fault> =
        organizations::children_of(conn, &[org.id], Some(OrganizationStatus::Active))
            .await?
            .remove(&org.id)
            .unwrap_or_default()
            .into_iter()
            .map(|child| fault(None, Some(&child.code), "still ACTIVE: dissolve it first"))
            .collect();
    if !active_children.is_empty() {
        return Err(AppError::Faults {
            field: "organizationCode",
            message: format!(
                "{} organizations under {} are still active; nothing changed",
                active_children.len(),
                org.code
            ),
            faults: active_children,
        });
    }
    let at = input.effective_at.unwrap_or(now);
    let organization = mark_dissolved(conn, org, &input.decision_ref, at, now).await?;
    Ok(Dissolution {
        organization,
        transfers: Vec::new(),
    })
}
