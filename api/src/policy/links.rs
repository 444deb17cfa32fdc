//! Links between people and what they count for: a link opens something only while its holder
//! still has the role it was made for (a counselor who becomes a secretary keeps no caseload, a
//! group counselor who is no longer a counselor is no longer the group's staff, a trajectory
//! member who is now a data analyst works in no trajectory).
//!
//! This is the one table of those roles. The bases (`client::effective_bases`), the access layer
//! (which links it reads, and for whom), and every list of people shown through a link (a
//! client's counselors, a group's counselors and members, a trajectory's members, a workflow's
//! professionals) ask it.

use enumset::enum_set;
use inzage_entity::Role;

use super::RoleSet;

/// Roles that work with clients as counselors (caseload, group staff).
pub const COUNSELOR_ROLES: RoleSet = enum_set!(Role::Counselor | Role::CounselorPlus);

/// Care roles: those who may work in trajectories and teams and hold delegations. The
/// administrator configures and sees no client data; the data roles read exports only.
pub const CARE_ROLES: RoleSet = enum_set!(Role::Counselor | Role::CounselorPlus | Role::Supervisor | Role::Secretary);

/// Roles of people who work in workflows and hold consents.
pub const WORKFLOW_ROLES: RoleSet = enum_set!(Role::Counselor | Role::CounselorPlus | Role::Supervisor);

/// Roles that may break the glass and hold emergency access.
pub const EMERGENCY_ROLES: RoleSet = enum_set!(Role::Counselor | Role::CounselorPlus | Role::Supervisor);

/// Roles of accounts that can be members of a care group.
pub const GROUP_MEMBER_ROLES: RoleSet = enum_set!(Role::Client | Role::Guardian | Role::External);

/// Roles on the client's side of care: the client, their guardian and relatives, and externals
/// of their groups.
pub const CLIENT_SIDE_ROLES: RoleSet = enum_set!(Role::Client | Role::Guardian | Role::Relative | Role::External);

/// A kind of link between two people (or a person and a grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// A counselor linked to a client (`linkCounselor`).
    Caseload,
    /// A counselor of a care group.
    GroupCounselor,
    /// A member of a care group.
    GroupMember,
    /// The primary coach of a trajectory.
    TrajectoryCoach,
    /// A member of a trajectory.
    TrajectoryMember,
    /// A member of a team (assigned to trajectories).
    TeamMember,
    /// The delegate of a dossier delegation, and an account that accepts delegations.
    Delegate,
    /// A supervisor linked to a client.
    Supervision,
    /// A guardian linked to a client.
    Guardianship,
    /// A relative added by a client.
    Relative,
    /// The client side of a link: the client of a relative, a workflow's participant.
    Client,
    /// A professional of a workflow, or one a consent is given to.
    WorkflowProfessional,
    /// The holder of an emergency access.
    EmergencyHolder,
}

impl Link {
    /// The roles of which the holder needs at least one for the link to count.
    pub const fn roles(self) -> RoleSet {
        match self {
            Self::Caseload | Self::GroupCounselor => COUNSELOR_ROLES,
            Self::GroupMember => GROUP_MEMBER_ROLES,
            Self::TrajectoryCoach | Self::TrajectoryMember | Self::TeamMember | Self::Delegate => CARE_ROLES,
            Self::Supervision => enum_set!(Role::Supervisor),
            Self::Guardianship => enum_set!(Role::Guardian),
            Self::Relative => enum_set!(Role::Relative),
            Self::Client => enum_set!(Role::Client),
            Self::WorkflowProfessional => WORKFLOW_ROLES,
            Self::EmergencyHolder => EMERGENCY_ROLES,
        }
    }

    /// Whether someone with `roles` holds this kind of link now.
    pub fn counts_for(self, roles: RoleSet) -> bool {
        !roles.is_disjoint(self.roles())
    }
}

/// Whether someone with `roles` may take part in a conversation that `with_client_side` says
/// includes someone of the client's side: there, professionals need a care role (an
/// administrator or a data role reads no client's messages); among professionals only, any
/// professional role counts. People of the client's side keep a client-side role.
pub fn takes_part_in_conversation(roles: RoleSet, with_client_side: bool) -> bool {
    let client_side = !roles.is_disjoint(CLIENT_SIDE_ROLES);
    let professional = super::is_professional(roles);
    client_side || (professional && (!with_client_side || !roles.is_disjoint(CARE_ROLES)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ALL_ROLES;

    const LINKS: [Link; 13] = [
        Link::Caseload,
        Link::GroupCounselor,
        Link::GroupMember,
        Link::TrajectoryCoach,
        Link::TrajectoryMember,
        Link::TeamMember,
        Link::Delegate,
        Link::Supervision,
        Link::Guardianship,
        Link::Relative,
        Link::Client,
        Link::WorkflowProfessional,
        Link::EmergencyHolder,
    ];

    #[test]
    fn the_role_each_link_needs() {
        use Role::*;
        for link in LINKS {
            for role in ALL_ROLES {
                let expected = match link {
                    Link::Caseload | Link::GroupCounselor => matches!(role, Counselor | CounselorPlus),
                    Link::GroupMember => matches!(role, Client | Guardian | External),
                    Link::TrajectoryCoach | Link::TrajectoryMember | Link::TeamMember | Link::Delegate => {
                        matches!(role, Counselor | CounselorPlus | Supervisor | Secretary)
                    }
                    Link::Supervision => role == Supervisor,
                    Link::Guardianship => role == Guardian,
                    Link::Relative => role == Relative,
                    Link::Client => role == Client,
                    Link::WorkflowProfessional | Link::EmergencyHolder => {
                        matches!(role, Counselor | CounselorPlus | Supervisor)
                    }
                };
                assert_eq!(link.counts_for(role.into()), expected, "{link:?} held by {role:?}");
            }
            assert!(!link.counts_for(RoleSet::empty()), "{link:?} without roles");
        }
    }

    #[test]
    fn data_roles_and_the_administrator_hold_no_care_link() {
        for role in [Role::DataAnalyst, Role::DataOfficer, Role::Administrator] {
            for link in LINKS {
                assert!(!link.counts_for(role.into()), "{link:?} held by {role:?}");
            }
        }
    }

    #[test]
    fn who_takes_part_in_a_conversation() {
        use Role::*;
        for role in ALL_ROLES {
            let client_side = matches!(role, Client | Guardian | Relative | External);
            let care = matches!(role, Counselor | CounselorPlus | Supervisor | Secretary);
            assert_eq!(takes_part_in_conversation(role.into(), true), client_side || care, "{role:?} with a client");
            assert_eq!(
                takes_part_in_conversation(role.into(), false),
                client_side || crate::policy::is_professional(role.into()),
                "{role:?} among professionals"
            );
        }
    }
}
