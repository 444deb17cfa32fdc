//! Professionals in workflows, with the participant's consent: who
//! manages projects and workflows, who sees them and their participations, and who reads a
//! participant's results.

use inzage_entity::Role;

use super::client::{Basis, BasisSet};
use super::links::Link;
use super::{Decision, RoleSet, is_professional};

/// Whether an account with these roles can be a workflow's professional (added to one, or
/// assigned to participants).
pub fn can_work_in_workflows(roles: RoleSet) -> bool {
    Link::WorkflowProfessional.counts_for(roles)
}

/// How the viewer stands to a workflow (or a project, for the first field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkflowRelation {
    /// The viewer belongs to the organisation that owns it.
    pub same_organization: bool,
    /// The viewer is one of the workflow's professionals.
    pub workflow_professional: bool,
    /// The viewer takes part in the workflow.
    pub participant: bool,
}

impl WorkflowRelation {
    /// How someone with `roles` stands to a workflow, from their links to it: a professional's
    /// link counts while they work in workflows, a participation while they are a client.
    pub fn of(roles: RoleSet, same_organization: bool, workflow_professional: bool, participant: bool) -> Self {
        Self {
            same_organization,
            workflow_professional: workflow_professional && Link::WorkflowProfessional.counts_for(roles),
            participant: participant && Link::Client.counts_for(roles),
        }
    }
}

/// Whether the project or workflow exists for the viewer: professionals of its organisation,
/// and (for a workflow) its participants. Anyone else gets NOT_FOUND.
pub fn see_workflow(roles: RoleSet, relation: WorkflowRelation) -> bool {
    (relation.same_organization && is_professional(roles)) || relation.participant || relation.workflow_professional
}

/// Creating projects and workflows, changing them, adding professionals and assigning them:
/// the ADMINISTRATOR of the owning organisation.
pub fn manage_workflows(roles: RoleSet, relation: WorkflowRelation) -> Decision {
    Decision::allow_if(
        relation.same_organization && roles.contains(Role::Administrator),
        "only an administrator of the workflow's organisation manages it",
    )
}

/// Taking part in a workflow: clients only.
pub fn start_workflow(roles: RoleSet) -> Decision {
    Decision::allow_if(roles.contains(Role::Client), "only clients take part in workflows")
}

/// Which of a workflow's participations the viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipationScope {
    /// Every participation (participants' names only): the organisation's administrator and
    /// the workflow's professionals.
    All,
    /// The viewer's own, and those of participants the viewer holds a consent request with.
    Own,
}

pub fn participations_scope(roles: RoleSet, relation: WorkflowRelation) -> ParticipationScope {
    if relation.workflow_professional || manage_workflows(roles, relation).is_allowed() {
        ParticipationScope::All
    } else {
        ParticipationScope::Own
    }
}

/// Reading a participant's results in a workflow: the participant, and a professional with a
/// granted, unexpired consent in that workflow (CONSENT). Anyone else, whatever other basis
/// they hold, reads results through the dossier instead.
pub fn read_results(bases: BasisSet, consented_in_workflow: bool) -> Decision {
    let basis = if bases.contains(Basis::Own) {
        Some(Basis::Own)
    } else if bases.contains(Basis::Consent) && consented_in_workflow {
        Some(Basis::Consent)
    } else {
        None
    };
    Decision::granted(basis, "reading these results needs the participant's consent")
}

/// How the viewer stands to a consent request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsentRelation {
    /// The request is addressed to the viewer (the participant).
    pub addressed: bool,
    /// The request is about the viewer's own access.
    pub about_viewer: bool,
}

impl ConsentRelation {
    /// How someone with `roles` stands to a consent request: the participant's side counts
    /// while they are a client, the professional's while they work in workflows.
    pub fn of(roles: RoleSet, addressed: bool, about_viewer: bool) -> Self {
        Self {
            addressed: addressed && Link::Client.counts_for(roles),
            about_viewer: about_viewer && Link::WorkflowProfessional.counts_for(roles),
        }
    }
}

/// Whether a consent request exists for the viewer: the participant it is addressed to and the
/// professional whose access it is about.
pub fn see_consent_request(relation: ConsentRelation) -> bool {
    relation.addressed || relation.about_viewer
}

/// Answering or revoking a consent: the addressed participant only.
pub fn answer_consent_request(relation: ConsentRelation) -> bool {
    relation.addressed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ALL_ROLES;
    use crate::policy::client::BasisSet;

    fn relations() -> impl Iterator<Item = WorkflowRelation> {
        (0..8).map(|bits| WorkflowRelation {
            same_organization: bits & 1 != 0,
            workflow_professional: bits & 2 != 0,
            participant: bits & 4 != 0,
        })
    }

    #[test]
    fn only_counselors_and_supervisors_work_in_workflows() {
        for role in ALL_ROLES {
            let expected = matches!(role, Role::Counselor | Role::CounselorPlus | Role::Supervisor);
            assert_eq!(can_work_in_workflows(role.into()), expected, "{role:?}");
        }
    }

    #[test]
    fn a_link_to_a_workflow_counts_only_with_its_role() {
        for role in ALL_ROLES {
            let relation = WorkflowRelation::of(role.into(), false, true, true);
            assert_eq!(relation.workflow_professional, can_work_in_workflows(role.into()), "{role:?}");
            assert_eq!(relation.participant, role == Role::Client, "{role:?}");
            let sees = relation.workflow_professional || relation.participant;
            assert_eq!(see_workflow(role.into(), relation), sees, "{role:?} from another organisation");
        }
    }

    #[test]
    fn workflows_exist_for_their_organisations_professionals_and_participants() {
        for role in ALL_ROLES {
            for relation in relations() {
                let professional = is_professional(role.into());
                let expected = (relation.same_organization && professional)
                    || relation.participant
                    || relation.workflow_professional;
                assert_eq!(see_workflow(role.into(), relation), expected, "{role:?} {relation:?}");
            }
        }
        // A client of the same organisation who does not take part sees nothing.
        let same_org = WorkflowRelation { same_organization: true, ..Default::default() };
        assert!(!see_workflow(Role::Client.into(), same_org));
        // Nobody outside sees it.
        for role in ALL_ROLES {
            assert!(!see_workflow(role.into(), WorkflowRelation::default()), "{role:?}");
        }
    }

    #[test]
    fn only_the_owning_administrator_manages() {
        for role in ALL_ROLES {
            for relation in relations() {
                let expected = role == Role::Administrator && relation.same_organization;
                assert_eq!(manage_workflows(role.into(), relation).is_allowed(), expected, "{role:?} {relation:?}");
            }
        }
    }

    #[test]
    fn only_clients_start_workflows() {
        for role in ALL_ROLES {
            assert_eq!(start_workflow(role.into()).is_allowed(), role == Role::Client, "{role:?}");
        }
    }

    #[test]
    fn all_participations_for_administrator_and_workflow_professionals_only() {
        for role in ALL_ROLES {
            for relation in relations() {
                let all = relation.workflow_professional || (role == Role::Administrator && relation.same_organization);
                let expected = if all { ParticipationScope::All } else { ParticipationScope::Own };
                assert_eq!(participations_scope(role.into(), relation), expected, "{role:?} {relation:?}");
            }
        }
    }

    #[test]
    fn results_need_self_or_consent_in_that_workflow() {
        for basis in Basis::ALL {
            for consented in [false, true] {
                let bases: BasisSet = basis.into();
                let expected = basis == Basis::Own || (basis == Basis::Consent && consented);
                assert_eq!(read_results(bases, consented).is_allowed(), expected, "{basis:?} {consented}");
                assert_eq!(read_results(bases, consented).basis().is_some(), expected, "{basis:?} {consented}");
            }
        }
        // Full dossier readers do not read results through a participation without consent.
        let caseload: BasisSet = Basis::Caseload | Basis::Supervisor | Basis::Emergency;
        assert!(!read_results(caseload, false).is_allowed());
        // Consent in another workflow does not count.
        assert!(!read_results(Basis::Consent.into(), false).is_allowed());
        assert_eq!(read_results(Basis::Consent | Basis::Own, true).basis(), Some(Basis::Own));
    }

    #[test]
    fn a_consent_request_exists_for_each_side_only_with_its_role() {
        for role in ALL_ROLES {
            let relation = ConsentRelation::of(role.into(), true, true);
            assert_eq!(relation.addressed, role == Role::Client, "{role:?}");
            assert_eq!(relation.about_viewer, can_work_in_workflows(role.into()), "{role:?}");
        }
    }

    #[test]
    fn consent_requests_exist_for_both_sides_and_only_the_client_answers() {
        for addressed in [false, true] {
            for about_viewer in [false, true] {
                let relation = ConsentRelation { addressed, about_viewer };
                assert_eq!(see_consent_request(relation), addressed || about_viewer);
                assert_eq!(answer_consent_request(relation), addressed);
            }
        }
    }
}
