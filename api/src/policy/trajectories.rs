//! Trajectories with members and teams, and dossier delegation to intervention providers:
//! who opens, closes and staffs a trajectory, who works on its tasks, who
//! configures providers and sees their executors, and who revokes a delegation.

use enumset::enum_set;
use inzage_entity::Role;

use super::client::{Basis, BasisSet};
use super::links::Link;
use super::{Decision, RoleSet};

/// Whether an account with these roles can be a trajectory's coach or member, or a team
/// member: a care role (see [`Link`]).
pub fn can_join_trajectories(roles: RoleSet) -> bool {
    Link::TrajectoryMember.counts_for(roles)
}

/// How the viewer works in one trajectory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrajectoryRelation {
    pub primary_coach: bool,
    pub member: bool,
    pub team_member: bool,
    /// The trajectory is open: only open trajectories give rights to those who work in them.
    pub open: bool,
}

impl TrajectoryRelation {
    /// How someone with `roles` works in a trajectory, from the links they have to it: each
    /// counts only while they hold a care role.
    pub fn of(roles: RoleSet, primary_coach: bool, member: bool, team_member: bool, open: bool) -> Self {
        Self {
            primary_coach: primary_coach && Link::TrajectoryCoach.counts_for(roles),
            member: member && Link::TrajectoryMember.counts_for(roles),
            team_member: team_member && Link::TeamMember.counts_for(roles),
            open,
        }
    }

    /// Works in the (open) trajectory as coach, member or team member.
    pub fn works_in(self) -> bool {
        self.open && (self.primary_coach || self.member || self.team_member)
    }
}

/// Opening a trajectory for a client: a counselor with the client in their caseload, or a
/// secretary of the client's organisation.
pub fn open_trajectory(bases: BasisSet) -> Decision {
    super::client::granted_by(
        bases,
        enum_set!(Basis::Caseload | Basis::Secretary),
        "only the client's counselors and secretaries open trajectories",
    )
}

/// Changing who works in a trajectory (members, teams) and closing it: its primary coach, a
/// member, or a counselor with the client in their caseload.
pub fn manage_trajectory(bases: BasisSet, relation: TrajectoryRelation) -> Decision {
    let insider = (relation.open && (relation.primary_coach || relation.member)).then_some(Basis::Trajectory);
    let basis = insider.or_else(|| bases.contains(Basis::Caseload).then_some(Basis::Caseload));
    Decision::granted(basis, "only the primary coach, a member or a counselor of the client changes this trajectory")
}

/// Working on a trajectory's tasks (confirming an intervention, delegating the dossier): whoever
/// works in it, or a counselor with the client in their caseload.
pub fn work_on_trajectory(bases: BasisSet, relation: TrajectoryRelation) -> Decision {
    let inside = match (relation.open, relation.primary_coach || relation.member, relation.team_member) {
        (true, true, _) => Some(Basis::Trajectory),
        (true, false, true) => Some(Basis::Team),
        _ => None,
    };
    let basis = inside.or_else(|| bases.contains(Basis::Caseload).then_some(Basis::Caseload));
    Decision::granted(basis, "only those who work in this trajectory complete its tasks")
}

/// Creating protocols, teams, providers and programs, naming executors and the guidance
/// protocol: the organisation's ADMINISTRATOR.
pub fn configure(roles: RoleSet) -> Decision {
    Decision::allow_if(roles.contains(Role::Administrator), "only an administrator configures this")
}

/// Seeing whom a provider's executor or a delegate for its programs may be
/// (`delegationCandidates`): whoever names the provider's and its programs' executors (its
/// organisation's ADMINISTRATOR), and whoever works on an open DELEGATE_DOSSIER task for one of
/// its programs.
pub fn see_delegation_candidates(roles: RoleSet, same_organization: bool, delegates_for_it: bool) -> Decision {
    let names_executors = same_organization && configure(roles).is_allowed();
    Decision::allow_if(
        names_executors || delegates_for_it,
        "only those who name its executors or delegate for its programs see whom they may choose",
    )
}

/// Seeing an organisation's configuration (teams, providers, programs): its professionals.
pub fn see_configuration(roles: RoleSet, same_organization: bool) -> bool {
    same_organization && super::is_professional(roles)
}

/// Seeing who a provider's or program's executor is: the organisation's ADMINISTRATOR and
/// SECRETARY, and the executor themselves.
pub fn see_executor(roles: RoleSet, same_organization: bool, is_executor: bool) -> Decision {
    let office = same_organization && !roles.is_disjoint(enum_set!(Role::Administrator | Role::Secretary));
    Decision::allow_if(office || is_executor, "not authorized to view the default executor")
}

/// Changing an executor: an administrator who may see the one configured now.
pub fn change_executor(roles: RoleSet, same_organization: bool, sees_current: bool) -> Decision {
    if let Decision::Deny(reason) = configure(roles) {
        return Decision::Deny(reason);
    }
    Decision::allow_if(same_organization && sees_current, "not authorized to view the default executor")
}

/// Revoking a delegation: an ADMINISTRATOR of the client's organisation, or a counselor with
/// the client in their caseload.
pub fn revoke_delegation(roles: RoleSet, bases: BasisSet, same_organization: bool) -> Decision {
    const REASON: &str = "only an administrator or a counselor of the client revokes a delegation";
    if bases.contains(Basis::Caseload) {
        return Decision::Allow(Some(Basis::Caseload));
    }
    Decision::allow_if(roles.contains(Role::Administrator) && same_organization, REASON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ALL_ROLES;

    #[test]
    fn delegation_candidates_are_for_who_names_executors_or_delegates_for_the_provider() {
        for role in ALL_ROLES {
            for same_organization in [false, true] {
                for delegates_for_it in [false, true] {
                    let allowed = see_delegation_candidates(RoleSet::only(role), same_organization, delegates_for_it)
                        .is_allowed();
                    let admin = role == Role::Administrator && same_organization;
                    assert_eq!(allowed, admin || delegates_for_it, "{role:?} {same_organization} {delegates_for_it}");
                }
            }
        }
    }

    fn relations() -> impl Iterator<Item = TrajectoryRelation> {
        (0..16).map(|bits| TrajectoryRelation {
            primary_coach: bits & 1 != 0,
            member: bits & 2 != 0,
            team_member: bits & 4 != 0,
            open: bits & 8 != 0,
        })
    }

    #[test]
    fn members_hold_a_care_role() {
        for role in ALL_ROLES {
            let expected = matches!(role, Role::Counselor | Role::CounselorPlus | Role::Supervisor | Role::Secretary);
            assert_eq!(can_join_trajectories(role.into()), expected, "{role:?}");
        }
    }

    #[test]
    fn a_link_to_a_trajectory_counts_only_with_a_care_role() {
        for role in ALL_ROLES {
            let care = can_join_trajectories(role.into());
            let relation = TrajectoryRelation::of(role.into(), true, true, true, true);
            assert_eq!(relation.works_in(), care, "{role:?}");
            assert_eq!(relation.primary_coach && relation.member && relation.team_member, care, "{role:?}");
            let as_coach = manage_trajectory(BasisSet::empty(), relation).is_allowed();
            assert_eq!(as_coach, care, "{role:?} manages through the link");
            assert_eq!(work_on_trajectory(BasisSet::empty(), relation).is_allowed(), care, "{role:?}");
        }
        assert!(!TrajectoryRelation::of(Role::Counselor.into(), true, false, false, false).works_in(), "closed");
    }

    #[test]
    fn caseload_counselors_and_secretaries_open_trajectories() {
        for basis in Basis::ALL {
            let expected = matches!(basis, Basis::Caseload | Basis::Secretary);
            assert_eq!(open_trajectory(basis.into()).is_allowed(), expected, "{basis:?}");
        }
    }

    #[test]
    fn coach_member_or_caseload_manage_an_open_trajectory() {
        for relation in relations() {
            for basis in Basis::ALL {
                let expected =
                    (relation.open && (relation.primary_coach || relation.member)) || basis == Basis::Caseload;
                assert_eq!(manage_trajectory(basis.into(), relation).is_allowed(), expected, "{relation:?} {basis:?}");
            }
            // Team members work in it but do not staff or close it.
            let team_only = TrajectoryRelation { team_member: true, open: true, ..Default::default() };
            assert!(!manage_trajectory(BasisSet::empty(), team_only).is_allowed());
        }
    }

    #[test]
    fn whoever_works_in_an_open_trajectory_completes_its_tasks() {
        for relation in relations() {
            for basis in Basis::ALL {
                let works = relation.open && (relation.primary_coach || relation.member || relation.team_member);
                let expected = works || basis == Basis::Caseload;
                assert_eq!(work_on_trajectory(basis.into(), relation).is_allowed(), expected, "{relation:?} {basis:?}");
            }
        }
    }

    #[test]
    fn configuration_is_seen_by_the_organisations_professionals() {
        for role in ALL_ROLES {
            let professional = crate::policy::is_professional(role.into());
            assert_eq!(see_configuration(role.into(), true), professional, "{role:?}");
            assert!(!see_configuration(role.into(), false), "{role:?}");
        }
    }

    #[test]
    fn only_administrators_configure() {
        for role in ALL_ROLES {
            assert_eq!(configure(role.into()).is_allowed(), role == Role::Administrator, "{role:?}");
        }
    }

    #[test]
    fn executors_are_seen_by_the_office_and_themselves() {
        for role in ALL_ROLES {
            for same_organization in [false, true] {
                for is_executor in [false, true] {
                    let office = same_organization && matches!(role, Role::Administrator | Role::Secretary);
                    let decision = see_executor(role.into(), same_organization, is_executor);
                    assert_eq!(
                        decision.is_allowed(),
                        office || is_executor,
                        "{role:?} {same_organization} {is_executor}"
                    );
                    if !decision.is_allowed() {
                        assert_eq!(decision, Decision::Deny("not authorized to view the default executor"));
                    }
                }
            }
        }
    }

    #[test]
    fn changing_an_executor_needs_an_administrator_who_sees_it() {
        assert!(change_executor(Role::Administrator.into(), true, true).is_allowed());
        assert!(!change_executor(Role::Administrator.into(), true, false).is_allowed());
        assert!(!change_executor(Role::Administrator.into(), false, true).is_allowed());
        for role in ALL_ROLES.into_iter().filter(|r| *r != Role::Administrator) {
            assert!(!change_executor(role.into(), true, true).is_allowed(), "{role:?}");
        }
    }

    #[test]
    fn delegations_are_revoked_by_the_administrator_or_a_caseload_counselor() {
        for role in ALL_ROLES {
            for basis in Basis::ALL {
                for same_organization in [false, true] {
                    let expected = (role == Role::Administrator && same_organization) || basis == Basis::Caseload;
                    let decision = revoke_delegation(role.into(), basis.into(), same_organization);
                    assert_eq!(decision.is_allowed(), expected, "{role:?} {basis:?} {same_organization}");
                }
            }
        }
    }
}
