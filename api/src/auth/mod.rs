//! Who is calling and what they may do: JWT verification, the `Principal`,
//! the role table of the access policy, organization scopes and the
//! personal-data rule. Every service asks this module; none decides alone.

pub mod extract;
pub mod graphql;
pub mod jwt;
pub mod keys;
pub mod policy;
pub mod rate;

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The five roles of the access policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Organizer,
    Integrator,
    Reader,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Organizer => "ORGANIZER",
            Self::Integrator => "INTEGRATOR",
            Self::Reader => "READER",
            Self::Auditor => "AUDITOR",
        }
    }

    /// Exact, case-sensitive: `admin` is not a role.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Admin,
            Self::Organizer,
            Self::Integrator,
            Self::Reader,
            Self::Auditor,
        ]
        .into_iter()
        .find(|role| role.as_str() == raw)
    }
}

/// What a caller may do beyond reading organizations, members and
/// memberships in scope (which every role may).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See full national IDs and birth dates.
    PersonalData,
    /// Submit transfers with both ends in scope.
    SubmitTransfers,
    /// Create organizations, register members, dissolve, create plans.
    Organize,
    /// Read the audit log.
    ReadAuditLog,
}

impl Permission {
    /// The role table of the access policy, in one place.
    pub fn granted_to(self, role: Role) -> bool {
        use Role::*;
        match self {
            Self::PersonalData | Self::SubmitTransfers => {
                matches!(role, Admin | Organizer | Integrator)
            }
            Self::Organize => matches!(role, Admin | Organizer),
            Self::ReadAuditLog => matches!(role, Admin | Auditor),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::PersonalData => "personal data",
            Self::SubmitTransfers => "submitting transfers",
            Self::Organize => "changing organizations and members",
            Self::ReadAuditLog => "reading the audit log",
        }
    }
}

/// The organization subtree a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub organization_id: i64,
    pub code: String,
    /// Materialized path of the scope root; everything whose path starts with it is in scope.
    pub path: String,
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// `None` means everything; only an ADMIN may have no scope.
    pub scope: Option<Scope>,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        permission.granted_to(self.role)
    }

    /// FORBIDDEN unless the role table grants the permission.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} does not allow {}",
                self.role.as_str(),
                permission.describe()
            )))
        }
    }

    /// Whether an organization with this materialized path lies in the caller's subtree.
    pub fn sees_path(&self, path: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|scope| path.starts_with(&scope.path))
    }

    /// The caller's subtree as a range of materialized paths; `None` for everything.
    pub fn scope_range(&self) -> Option<(String, String)> {
        self.scope
            .as_ref()
            .map(|scope| crate::tree::subtree_range(&scope.path))
    }
}

/// The caller of one request: who, and which request (for logs and the audit log).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub principal: Principal,
    pub request_id: String,
    /// When the caller's token expires; a WebSocket is closed then.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// National ID as a caller without personal-data access sees it: the last 4 digits.
pub fn mask_national_id(national_id: &str) -> String {
    let keep = national_id.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), &national_id[keep..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table_matches_the_access_policy() {
        use Permission::*;
        use Role::*;
        let table = [
            (Admin, [true, true, true, true]),
            (Organizer, [true, true, true, false]),
            (Integrator, [true, true, false, false]),
            (Reader, [false, false, false, false]),
            (Auditor, [false, false, false, true]),
        ];
        for (role, expected) in table {
            let granted =
                [PersonalData, SubmitTransfers, Organize, ReadAuditLog].map(|p| p.granted_to(role));
            assert_eq!(granted, expected, "{role:?}");
        }
    }

    #[test]
    fn roles_parse_exactly() {
        assert_eq!(Role::parse("ADMIN"), Some(Role::Admin));
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("SUPERUSER"), None);
    }

    #[test]
    fn scope_is_a_path_prefix() {
        let principal = Principal {
            subject: "x".into(),
            role: Role::Reader,
            scope: Some(Scope {
                organization_id: 7,
                code: "SL.BL".into(),
                path: "/1/7/".into(),
            }),
        };
        assert!(principal.sees_path("/1/7/"));
        assert!(principal.sees_path("/1/7/42/"));
        assert!(
            !principal.sees_path("/1/70/"),
            "a sibling whose id shares digits is outside"
        );
        assert!(!principal.sees_path("/1/"));
    }

    #[test]
    fn national_ids_mask_to_the_last_four_digits() {
        assert_eq!(mask_national_id("001234567890"), "********7890");
    }
}
