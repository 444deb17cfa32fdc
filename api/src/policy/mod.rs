//! Authorization, and only authorization: pure functions from (the viewer's roles, how the
//! viewer relates to the object) to a decision. No I/O, no async, no clock: every rule can be
//! tested by enumeration, and every resolver asks here instead of deciding for itself.

pub mod accounts;
pub mod client;
pub mod groups;
pub mod links;
pub mod trajectories;
pub mod workflows;

use enumset::{EnumSet, enum_set};
use inzage_entity::{Basis, Role};

use crate::error::ApiError;

/// A user's roles as a `Copy` bit set.
pub type RoleSet = EnumSet<Role>;

/// Roles of people who work for the organisation (as opposed to clients and their circle).
pub const PROFESSIONAL_ROLES: RoleSet = enum_set!(
    Role::Administrator
        | Role::DataAnalyst
        | Role::DataOfficer
        | Role::Counselor
        | Role::CounselorPlus
        | Role::Supervisor
        | Role::Secretary
);

pub use links::{COUNSELOR_ROLES, Link};

/// Whether someone with these roles works for their organisation.
pub fn is_professional(roles: RoleSet) -> bool {
    !roles.is_disjoint(PROFESSIONAL_ROLES)
}

/// The answer to one question put to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed. A decision about a client's data names the basis that allowed it, which is the
    /// basis its access-log row records: the policy, not the caller, says which one that is.
    Allow(Option<Basis>),
    /// Refused; the reason is shown to the client with code `FORBIDDEN`.
    Deny(&'static str),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// The basis that allowed it, for a decision about a client's data.
    pub fn basis(self) -> Option<Basis> {
        match self {
            Self::Allow(basis) => basis,
            Self::Deny(_) => None,
        }
    }

    /// The basis that allowed it (if it is about a client's data) when allowed, `FORBIDDEN` with
    /// the reason otherwise.
    pub fn check(self) -> Result<Option<Basis>, ApiError> {
        match self {
            Self::Allow(basis) => Ok(basis),
            Self::Deny(reason) => Err(ApiError::forbidden(reason)),
        }
    }

    fn allow_if(condition: bool, reason: &'static str) -> Self {
        if condition { Self::Allow(None) } else { Self::Deny(reason) }
    }

    /// Allowed on `basis`, when there is one.
    pub(crate) fn granted(basis: Option<Basis>, reason: &'static str) -> Self {
        match basis {
            Some(basis) => Self::Allow(Some(basis)),
            None => Self::Deny(reason),
        }
    }
}

/// Every role, for tests that go through the rules role by role.
#[cfg(test)]
pub const ALL_ROLES: [Role; 11] = [
    Role::Administrator,
    Role::DataAnalyst,
    Role::DataOfficer,
    Role::Counselor,
    Role::CounselorPlus,
    Role::Supervisor,
    Role::Secretary,
    Role::Client,
    Role::Guardian,
    Role::Relative,
    Role::External,
];
