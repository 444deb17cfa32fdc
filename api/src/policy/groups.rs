//! Care groups and conversations: who sees a group, its members and
//! reports in each visibility mode, who manages groups, and who may message whom.

use enumset::enum_set;
use inzage_entity::{GroupVisibility, Role};

use super::links::Link;
use super::{Decision, RoleSet, is_professional};

/// How the viewer stands to a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupRelation {
    pub same_organization: bool,
    /// The viewer is one of the group's counselors (and still a counselor).
    pub counselor: bool,
    /// The viewer is one of the group's members (and still holds a member's role).
    pub member: bool,
}

impl GroupRelation {
    /// How someone with `roles` stands to a group, from their links to it: a counselor's link
    /// counts while they are a COUNSELOR or COUNSELOR_PLUS, a membership while they are a
    /// client, guardian or external.
    pub fn of(roles: RoleSet, same_organization: bool, counselor: bool, member: bool) -> Self {
        Self {
            same_organization,
            counselor: counselor && Link::GroupCounselor.counts_for(roles),
            member: member && Link::GroupMember.counts_for(roles),
        }
    }
}

/// Managing groups (creating, visibility, members, counselors): COUNSELOR_PLUS of the
/// organisation.
pub fn manage_groups(roles: RoleSet, relation: GroupRelation) -> Decision {
    Decision::allow_if(
        relation.same_organization && roles.contains(Role::CounselorPlus),
        "only a counselor-plus of the organisation manages groups",
    )
}

/// Taking a counselor off a group: COUNSELOR_PLUS or ADMINISTRATOR of the organisation.
pub fn remove_group_counselor(roles: RoleSet, relation: GroupRelation) -> Decision {
    Decision::allow_if(
        manage_groups(roles, relation).is_allowed() || administers(roles, relation),
        "only a counselor-plus or an administrator of the organisation takes counselors off a group",
    )
}

/// Speaking to a whole group (setting a tool ready for every client member, posting news): its
/// counselors and a COUNSELOR_PLUS of the organisation.
pub fn address_group(roles: RoleSet, relation: GroupRelation) -> Decision {
    Decision::allow_if(
        staff(roles, relation),
        "only the group's counselors and a counselor-plus of the organisation address the group",
    )
}

/// Sees the group as its staff: its counselors and the organisation's counselor-plus.
fn staff(roles: RoleSet, relation: GroupRelation) -> bool {
    relation.counselor || manage_groups(roles, relation).is_allowed()
}

/// An administrator of the organisation sees its groups as configuration (name, visibility,
/// counselors), never their members or reports.
fn administers(roles: RoleSet, relation: GroupRelation) -> bool {
    relation.same_organization && roles.contains(Role::Administrator)
}

/// Whether the group exists for the viewer. In INVISIBLE mode members do not know of it.
pub fn see_group(roles: RoleSet, relation: GroupRelation, visibility: GroupVisibility) -> bool {
    staff(roles, relation)
        || administers(roles, relation)
        || (relation.member && visibility != GroupVisibility::Invisible)
}

/// Which members the viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersScope {
    All,
    /// Only the viewer themselves (CLIENT_VISIBLE).
    OnlySelf,
    None,
}

pub fn members_scope(roles: RoleSet, relation: GroupRelation, visibility: GroupVisibility) -> MembersScope {
    if staff(roles, relation) {
        return MembersScope::All;
    }
    match (relation.member, visibility) {
        (true, GroupVisibility::Mutual) => MembersScope::All,
        (true, GroupVisibility::ClientVisible) => MembersScope::OnlySelf,
        _ => MembersScope::None,
    }
}

/// Group reports: written and read by the group's counselors only, in every mode.
pub fn group_reports(relation: GroupRelation) -> Decision {
    Decision::allow_if(relation.counselor, "group reports are for the group's counselors only")
}

/// How a sender stands to someone they want to start a conversation with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageRelation {
    /// The recipient is a linked counselor of the sender (or of a client the sender is guardian
    /// of): caseload, a visible group's counselor, a trajectory's coach or member.
    pub sender_counselor: bool,
    /// Both are members of a MUTUAL group.
    pub mutual_peers: bool,
    /// The recipient is a client of the sender's caseload (direct or through a group).
    pub caseload_client: bool,
    /// Both belong to the same organisation.
    pub same_organization: bool,
    /// The recipient is the sender's relative, or the client the sender is a relative of.
    pub relative: bool,
}

/// Starting a conversation: a client or guardian with their counselors and (MUTUAL groups)
/// their peers; a relative with their client; a secretary with any client of the organisation;
/// counselors with their caseload clients; professionals with colleagues.
pub fn start_conversation(sender: RoleSet, recipient: RoleSet, relation: MessageRelation) -> Decision {
    let client_side = !sender.is_disjoint(enum_set!(Role::Client | Role::Guardian));
    // A relative link counts while one side is a relative and the other a client.
    let relatives = (Link::Relative.counts_for(sender) && Link::Client.counts_for(recipient))
        || (Link::Client.counts_for(sender) && Link::Relative.counts_for(recipient));
    let allowed = (client_side && relation.sender_counselor)
        || (client_side && relation.mutual_peers && !recipient.is_disjoint(enum_set!(Role::Client | Role::Guardian)))
        || (relation.relative && relatives)
        || (sender.contains(Role::Secretary) && relation.same_organization && recipient.contains(Role::Client))
        || (Link::Caseload.counts_for(sender) && relation.caseload_client)
        || (is_professional(sender) && is_professional(recipient) && relation.same_organization);
    Decision::allow_if(allowed, "you may not message this person")
}

/// Sending a group message (to all its counselors): a member of a CLIENT_VISIBLE or MUTUAL group.
pub fn group_message(relation: GroupRelation, visibility: GroupVisibility) -> Decision {
    Decision::allow_if(relation.member && visibility != GroupVisibility::Invisible, "you may not message this group")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ALL_ROLES;

    const MODES: [GroupVisibility; 3] =
        [GroupVisibility::Invisible, GroupVisibility::ClientVisible, GroupVisibility::Mutual];

    fn relations() -> impl Iterator<Item = GroupRelation> {
        (0..8).map(|bits| GroupRelation {
            same_organization: bits & 1 != 0,
            counselor: bits & 2 != 0,
            member: bits & 4 != 0,
        })
    }

    #[test]
    fn the_visibility_table() {
        for role in ALL_ROLES {
            for relation in relations() {
                for mode in MODES {
                    let staff = relation.counselor || (role == Role::CounselorPlus && relation.same_organization);
                    let administrator = role == Role::Administrator && relation.same_organization;
                    let sees = staff || administrator || (relation.member && mode != GroupVisibility::Invisible);
                    assert_eq!(see_group(role.into(), relation, mode), sees, "{role:?} {relation:?} {mode:?}");
                    let members = if staff || (relation.member && mode == GroupVisibility::Mutual) {
                        MembersScope::All
                    } else if relation.member && mode == GroupVisibility::ClientVisible {
                        MembersScope::OnlySelf
                    } else {
                        MembersScope::None
                    };
                    assert_eq!(members_scope(role.into(), relation, mode), members, "{role:?} {relation:?} {mode:?}");
                    assert_eq!(group_reports(relation).is_allowed(), relation.counselor);
                    assert_eq!(address_group(role.into(), relation).is_allowed(), staff, "{role:?} {relation:?}");
                    let message = relation.member && mode != GroupVisibility::Invisible;
                    assert_eq!(group_message(relation, mode).is_allowed(), message);
                }
            }
        }
        // A member of an INVISIBLE group does not know it exists.
        let member = GroupRelation { same_organization: true, member: true, ..Default::default() };
        assert!(!see_group(Role::Client.into(), member, GroupVisibility::Invisible));
    }

    #[test]
    fn a_link_to_a_group_counts_only_with_its_role() {
        for role in ALL_ROLES {
            for mode in MODES {
                let linked = GroupRelation::of(role.into(), false, true, true);
                let counselor = matches!(role, Role::Counselor | Role::CounselorPlus);
                let member = matches!(role, Role::Client | Role::Guardian | Role::External);
                assert_eq!(linked.counselor, counselor, "{role:?}");
                assert_eq!(linked.member, member, "{role:?}");
                let sees = counselor || (member && mode != GroupVisibility::Invisible);
                assert_eq!(see_group(role.into(), linked, mode), sees, "{role:?} {mode:?}");
                assert_eq!(group_reports(linked).is_allowed(), counselor, "{role:?} {mode:?}");
                let all = counselor || (member && mode == GroupVisibility::Mutual);
                assert_eq!(members_scope(role.into(), linked, mode) == MembersScope::All, all, "{role:?} {mode:?}");
            }
        }
    }

    #[test]
    fn counselors_come_off_a_group_by_a_counselor_plus_or_administrator_of_the_organisation() {
        for role in ALL_ROLES {
            for relation in relations() {
                let expected = relation.same_organization && matches!(role, Role::CounselorPlus | Role::Administrator);
                let decision = remove_group_counselor(role.into(), relation);
                assert_eq!(decision.is_allowed(), expected, "{role:?} {relation:?}");
            }
        }
        // The administrator sees the group, but neither its members nor its reports.
        let administrator = GroupRelation::of(Role::Administrator.into(), true, false, false);
        for mode in MODES {
            assert!(see_group(Role::Administrator.into(), administrator, mode));
            assert_eq!(members_scope(Role::Administrator.into(), administrator, mode), MembersScope::None);
            assert!(!group_reports(administrator).is_allowed());
        }
    }

    #[test]
    fn only_a_counselor_plus_of_the_organisation_manages() {
        for role in ALL_ROLES {
            for relation in relations() {
                let expected = role == Role::CounselorPlus && relation.same_organization;
                assert_eq!(manage_groups(role.into(), relation).is_allowed(), expected, "{role:?} {relation:?}");
            }
        }
    }

    #[test]
    fn who_may_start_a_conversation() {
        let none = MessageRelation::default();
        let client: RoleSet = Role::Client.into();
        let counselor: RoleSet = Role::Counselor.into();
        assert!(start_conversation(client, counselor, MessageRelation { sender_counselor: true, ..none }).is_allowed());
        assert!(!start_conversation(client, counselor, none).is_allowed());
        assert!(
            !start_conversation(client, counselor, MessageRelation { same_organization: true, ..none }).is_allowed()
        );
        let peers = MessageRelation { mutual_peers: true, ..none };
        assert!(start_conversation(client, client, peers).is_allowed());
        assert!(start_conversation(Role::Guardian.into(), client, peers).is_allowed());
        assert!(!start_conversation(client, Role::External.into(), peers).is_allowed());
        assert!(!start_conversation(client, client, none).is_allowed(), "not peers outside a MUTUAL group");
        let org = MessageRelation { same_organization: true, ..none };
        assert!(start_conversation(Role::Secretary.into(), client, org).is_allowed());
        assert!(!start_conversation(counselor, client, org).is_allowed(), "a counselor messages their caseload only");
        assert!(start_conversation(counselor, client, MessageRelation { caseload_client: true, ..none }).is_allowed());
        assert!(start_conversation(counselor, Role::Supervisor.into(), org).is_allowed());
        assert!(!start_conversation(counselor, Role::Supervisor.into(), none).is_allowed());
        let relatives = MessageRelation { relative: true, ..none };
        assert!(start_conversation(Role::Relative.into(), client, relatives).is_allowed());
        assert!(start_conversation(client, Role::Relative.into(), relatives).is_allowed());
        // The link counts only while one side is a relative and the other a client.
        assert!(!start_conversation(Role::Secretary.into(), client, relatives).is_allowed());
        assert!(!start_conversation(Role::Relative.into(), Role::Secretary.into(), relatives).is_allowed());
        // A caseload counts only while the sender is a counselor.
        let caseload = MessageRelation { caseload_client: true, ..none };
        assert!(!start_conversation(Role::DataAnalyst.into(), client, caseload).is_allowed());
        assert!(!start_conversation(Role::Relative.into(), counselor, org).is_allowed());
    }
}
