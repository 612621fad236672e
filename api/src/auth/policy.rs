//! The access policy's seal. A `Visible<T>` is a record the policy has let
//! one caller see; only the functions here make one, so a GraphQL type or a
//! REST view that takes a `Visible<T>` cannot be built from a record nobody
//! checked, and a field written tomorrow cannot forget the check.

use entity::enums::LetterStatus;
use entity::{
    letter, member, member_hold, membership, organization, organization_version, transfer_event,
};

use super::Principal;

/// A record the policy let the caller of this request see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible<T>(T);

impl<T> Visible<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Visible<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// What the policy made of a record: sealed for the caller, or handed back.
pub enum Sealed<T> {
    Seen(Visible<T>),
    Unseen(T),
}

impl Principal {
    /// An organization in the caller's subtree.
    pub fn organization(&self, org: organization::Model) -> Option<Visible<organization::Model>> {
        match self.seal_organization(org) {
            Sealed::Seen(org) => Some(org),
            Sealed::Unseen(_) => None,
        }
    }

    /// An organization in the caller's subtree, or the record back unsealed.
    pub fn seal_organization(&self, org: organization::Model) -> Sealed<organization::Model> {
        if self.sees_path(&org.path) {
            Sealed::Seen(Visible(org))
        } else {
            Sealed::Unseen(org)
        }
    }

    /// A member, given the cell of their latest OFFICIAL membership (open or
    /// not): visible when that cell lies in the caller's subtree, or to an
    /// unscoped caller.
    pub fn member(
        &self,
        member: member::Model,
        latest_cell: Option<&organization::Model>,
    ) -> Option<Visible<member::Model>> {
        let seen =
            self.scope.is_none() || latest_cell.is_some_and(|cell| self.sees_path(&cell.path));
        seen.then_some(Visible(member))
    }

    /// A member on their way to the caller: an OPEN introduction letter of
    /// theirs goes to an organization in the caller's subtree. While it is
    /// open the receiving side sees the member; after receipt the member's
    /// latest cell decides, and the sending side no longer does.
    pub fn member_awaited(
        &self,
        member: member::Model,
        letter: &letter::Model,
        destination: &organization::Model,
    ) -> Option<Visible<member::Model>> {
        let seen = letter.status == LetterStatus::Open
            && letter.member_id == member.id
            && letter.to_organization_id == destination.id
            && self.sees_path(&destination.path);
        seen.then_some(Visible(member))
    }

    /// An introduction letter, given the cell it leaves and the organization
    /// it goes to: both sides see it, whatever became of it; nobody else.
    pub fn letter(
        &self,
        letter: letter::Model,
        from_cell: &organization::Model,
        destination: &organization::Model,
    ) -> Option<Visible<letter::Model>> {
        let ends_match =
            letter.from_cell_id == from_cell.id && letter.to_organization_id == destination.id;
        let seen =
            ends_match && (self.sees_path(&from_cell.path) || self.sees_path(&destination.path));
        seen.then_some(Visible(letter))
    }

    /// A membership, given its cell: visible when the cell is.
    pub fn membership(
        &self,
        membership: membership::Model,
        cell: &organization::Model,
    ) -> Option<Visible<membership::Model>> {
        let seen = cell.id == membership.organization_id && self.sees_path(&cell.path);
        seen.then_some(Visible(membership))
    }
}

/// An event the caller's own mutation just wrote (or found already written
/// under their idempotency key): writing it required both its ends in the
/// caller's scope.
pub fn written_by_caller(event: transfer_event::Model) -> Visible<transfer_event::Model> {
    Visible(event)
}

/// A hold on a member the caller sees: seen with them.
pub fn hold_of(
    member: &Visible<member::Model>,
    hold: member_hold::Model,
) -> Option<Visible<member_hold::Model>> {
    (hold.member_id == member.id).then_some(Visible(hold))
}

/// A subtree the policy lets the caller search: their whole scope, or an
/// organization they see. Queries restricted to it find only what the
/// caller may see.
#[derive(Debug, Clone)]
pub struct Subtree(Option<(String, String)>);

impl Subtree {
    /// Everything the caller sees.
    pub fn of_scope(principal: &Principal) -> Self {
        Self(principal.scope_range())
    }

    /// The subtree under an organization the caller sees.
    pub fn under(org: &Visible<organization::Model>) -> Self {
        Self(Some(crate::tree::subtree_range(&org.path)))
    }

    /// Its range of materialized paths; `None` for the whole registry.
    pub fn range(&self) -> Option<&(String, String)> {
        self.0.as_ref()
    }

    /// An event touching this subtree: found by a query restricted to events
    /// whose source or destination lies in it, or just written by the caller
    /// with both ends in it.
    pub fn event(&self, event: transfer_event::Model) -> Visible<transfer_event::Model> {
        Visible(event)
    }

    /// A membership found by a query restricted to organizations in this subtree.
    pub fn found_membership(&self, membership: membership::Model) -> Visible<membership::Model> {
        Visible(membership)
    }

    /// A member found by a query restricted to members with an open
    /// OFFICIAL membership in this subtree: that membership is their latest,
    /// so the caller sees them.
    pub fn placed_member(&self, member: member::Model) -> Visible<member::Model> {
        Visible(member)
    }
}

/// A subtree as it stood at an instant (its paths then), searched only
/// where the caller's scope reaches today: the tree remembers, the scope
/// follows the current tree. Queries restricted to both find only what the
/// caller may see now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubtreeThen {
    at: chrono::DateTime<chrono::Utc>,
    then: Option<(String, String)>,
    now: Option<(String, String)>,
}

impl SubtreeThen {
    /// Everything that stood at `at` and lies in the caller's scope today.
    pub fn of_scope(principal: &Principal, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            at,
            then: None,
            now: principal.scope_range(),
        }
    }

    /// The subtree under a visible organization as it stood at `at`, given
    /// its version then; `None` if the version is not that organization's.
    pub fn under(
        principal: &Principal,
        root: &Visible<organization::Model>,
        root_then: &organization_version::Model,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<Self> {
        let valid = root_then.organization_id == root.id
            && root_then.valid_from <= at
            && root_then.valid_to.is_none_or(|to| to > at);
        valid.then(|| Self {
            at,
            then: Some(crate::tree::subtree_range(&root_then.path)),
            now: principal.scope_range(),
        })
    }

    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.at
    }

    /// The range of paths the versions valid at `at` must lie in; `None` for all.
    pub fn range_then(&self) -> Option<&(String, String)> {
        self.then.as_ref()
    }

    /// The range of current paths results must lie in; `None` for all.
    pub fn range_now(&self) -> Option<&(String, String)> {
        self.now.as_ref()
    }

    /// A membership found by a query restricted to cells whose current
    /// path lies in the caller's scope.
    pub fn found_membership(&self, membership: membership::Model) -> Visible<membership::Model> {
        Visible(membership)
    }

    /// A member found by a query restricted to members whose latest
    /// OFFICIAL membership is in a cell whose current path lies in the
    /// caller's scope (`Principal::member`'s rule).
    pub fn placed_member(&self, member: member::Model) -> Visible<member::Model> {
        Visible(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, Scope};
    use chrono::Utc;
    use entity::enums::{OrganizationKind, OrganizationStatus};

    fn principal(scope: Option<&str>) -> Principal {
        Principal {
            subject: "s".into(),
            role: Role::Reader,
            scope: scope.map(|path| Scope {
                organization_id: 7,
                code: "SL.BL".into(),
                path: path.into(),
            }),
        }
    }

    fn org(id: i64, path: &str) -> organization::Model {
        organization::Model {
            id,
            code: format!("O{id}"),
            name: "o".into(),
            kind: OrganizationKind::Cell,
            cell_type: None,
            status: OrganizationStatus::Active,
            parent_id: None,
            path: path.into(),
            depth: 0,
            established_at: None,
            dissolved_at: None,
            dissolution_decision: None,
            ended_as: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn organizations_are_sealed_inside_the_subtree_only() {
        let scoped = principal(Some("/1/7/"));
        assert!(scoped.organization(org(42, "/1/7/42/")).is_some());
        assert!(scoped.organization(org(70, "/1/70/")).is_none());
        assert!(principal(None).organization(org(70, "/1/70/")).is_some());
    }

    #[test]
    fn a_membership_is_sealed_only_with_its_own_cell() {
        let scoped = principal(Some("/1/7/"));
        let membership = membership::Model {
            id: 1,
            member_id: 1,
            organization_id: 42,
            kind: entity::enums::MembershipKind::Official,
            started_at: Utc::now(),
            ended_at: None,
            opened_by_event_id: 1,
            closed_by_event_id: None,
            ends_on: None,
        };
        assert!(
            scoped
                .membership(membership.clone(), &org(42, "/1/7/42/"))
                .is_some()
        );
        assert!(
            scoped
                .membership(membership.clone(), &org(43, "/1/7/43/"))
                .is_none()
        );
        assert!(
            scoped
                .membership(membership, &org(42, "/1/70/42/"))
                .is_none()
        );
    }
}
