//! Who may read and write what about a client, from the bases the viewer has towards them.
//! The access layer finds the bases; this module only decides, and names the basis each
//! allowed decision rests on (ARCHITECTURE.md, "Where each rule lives").

use enumset::{EnumSet, enum_set};
pub use inzage_entity::Basis;
use inzage_entity::Role;

use super::links::{EMERGENCY_ROLES, Link};
use super::{COUNSELOR_ROLES, Decision, RoleSet};

/// A set of bases; `Copy`, one machine word.
pub type BasisSet = EnumSet<Basis>;

/// Bases that read the whole dossier and the contact details (with SECRETARY for contact).
const FULL_READERS: BasisSet = enum_set!(
    Basis::Own | Basis::Guardian | Basis::Caseload | Basis::Supervisor | Basis::Delegation | Basis::Emergency
);

/// The roles of which a viewer needs one for `basis` to count (every role for SELF): the link
/// behind a basis counts only while its holder has the role it was made for.
pub fn roles_for(basis: Basis) -> RoleSet {
    match basis {
        Basis::Own => RoleSet::all(),
        Basis::Guardian => Link::Guardianship.roles(),
        Basis::Caseload => Link::Caseload.roles(),
        Basis::Supervisor => Link::Supervision.roles(),
        Basis::Trajectory => Link::TrajectoryMember.roles(),
        Basis::Team => Link::TeamMember.roles(),
        Basis::Delegation => Link::Delegate.roles(),
        Basis::Consent => Link::WorkflowProfessional.roles(),
        Basis::Emergency => Link::EmergencyHolder.roles(),
        Basis::Secretary => enum_set!(Role::Secretary),
        Basis::GroupPeer => Link::GroupMember.roles(),
        Basis::Relative => Link::Relative.roles(),
    }
}

/// The role a viewer acts in when using `basis`, for the access log: one of their roles the
/// basis needs, else (no basis, or none of them) their first role.
pub fn acting_role(roles: RoleSet, basis: Option<Basis>) -> Option<Role> {
    let needed = basis.map(roles_for).unwrap_or_default();
    roles.intersection(needed).iter().next().or_else(|| roles.iter().next())
}

/// The bases a viewer with `roles` really holds: a link only counts while the viewer still has
/// the role it was made for (a counselor who is no longer one has no caseload).
pub fn effective_bases(roles: RoleSet, found: BasisSet) -> BasisSet {
    found.iter().filter(|basis| !roles.is_disjoint(roles_for(*basis))).collect()
}

/// Whether the client exists for the viewer at all.
pub fn is_visible(bases: BasisSet) -> bool {
    !bases.is_empty()
}

/// Allowed by the first of `granting` the viewer holds, in the order of the enum (SELF before
/// GUARDIAN before CASELOAD ...): that is the basis the access log records.
pub(super) fn granted_by(bases: BasisSet, granting: BasisSet, reason: &'static str) -> Decision {
    Decision::granted(basis_used(bases, granting), reason)
}

/// Of the bases in `granting` the viewer holds, the first in the order of the enum.
fn basis_used(bases: BasisSet, granting: BasisSet) -> Option<Basis> {
    bases.intersection(granting).iter().next()
}

/// Finding the client (by id, in a list, in a search): any basis, the first one recorded.
pub fn find_client(bases: BasisSet) -> Decision {
    granted_by(bases, BasisSet::all(), "this client does not exist for the viewer")
}

/// Bases that grant reading contact details (NAW).
pub const CONTACT_READERS: BasisSet = enum_set!(
    Basis::Own
        | Basis::Guardian
        | Basis::Caseload
        | Basis::Supervisor
        | Basis::Delegation
        | Basis::Emergency
        | Basis::Secretary
);

/// Reading contact details.
pub fn read_contact(bases: BasisSet) -> Decision {
    granted_by(bases, CONTACT_READERS, "not authorized to read this client's contact details")
}

/// Bases that grant reading the client's counselors.
pub const COUNSELOR_READERS: BasisSet = enum_set!(
    Basis::Own
        | Basis::Guardian
        | Basis::Caseload
        | Basis::Supervisor
        | Basis::Trajectory
        | Basis::Team
        | Basis::Delegation
        | Basis::Emergency
        | Basis::Secretary
);

/// Reading the client's counselors.
pub fn read_counselors(bases: BasisSet) -> Decision {
    granted_by(bases, COUNSELOR_READERS, "not authorized to read this client's counselors")
}

/// Which dossier entries a viewer may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DossierScope {
    /// Every entry.
    pub all: bool,
    /// Entries of the trajectories the viewer works in (TRAJECTORY/TEAM).
    pub own_trajectories: bool,
    /// RESULT entries of the workflows the viewer was granted consent in (CONSENT).
    pub consented_results: bool,
}

impl DossierScope {
    pub fn is_empty(self) -> bool {
        !(self.all || self.own_trajectories || self.consented_results)
    }
}

/// Bases that grant the whole dossier.
pub const DOSSIER_READERS: BasisSet = FULL_READERS;

/// Bases that grant part of the dossier: entries of their trajectories, results consented to.
pub const PARTIAL_DOSSIER_READERS: BasisSet = enum_set!(Basis::Trajectory | Basis::Team | Basis::Consent);

/// The part of the dossier the viewer reads.
pub fn dossier_scope(bases: BasisSet) -> DossierScope {
    DossierScope {
        all: !bases.is_disjoint(DOSSIER_READERS),
        own_trajectories: !bases.is_disjoint(enum_set!(Basis::Trajectory | Basis::Team)),
        consented_results: bases.contains(Basis::Consent),
    }
}

/// Reading the dossier at all (some part of it): on a basis that reads all of it when the
/// viewer has one, otherwise on the basis that reads a part.
pub fn read_dossier(bases: BasisSet) -> Decision {
    let basis = basis_used(bases, DOSSIER_READERS).or_else(|| basis_used(bases, PARTIAL_DOSSIER_READERS));
    Decision::granted(basis, "not authorized to read this client's dossier")
}

/// Bases that grant the tool list.
pub const TOOL_READERS: BasisSet = CONTACT_READERS;

/// Reading the list of the client's tools (names, owners, dates).
pub fn read_tools(bases: BasisSet) -> Decision {
    granted_by(bases, TOOL_READERS, "not authorized to read this client's tools")
}

/// Bases that grant a tool's content: the list's bases minus SECRETARY.
pub const TOOL_CONTENT_READERS: BasisSet = FULL_READERS;

/// Reading a tool's content. A secretary assigns tools but never reads them.
pub fn read_tool_content(bases: BasisSet) -> Decision {
    granted_by(bases, TOOL_CONTENT_READERS, "not authorized to read tool content")
}

/// How the viewer stands to a tool, besides their bases for its owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolRelation {
    /// The viewer is the tool's counselor.
    pub own_counselor: bool,
    /// The tool belongs to a RELATIVE (a self-help tool of their own).
    pub owner_is_relative: bool,
}

/// Giving feedback on a tool: a COUNSELOR or COUNSELOR_PLUS who reads its content (the owner in
/// their caseload, or another basis that reads tool content), or the tool's own counselor while
/// they have any basis for its owner. A relative's own tools get feedback from no one.
pub fn give_tool_feedback(roles: RoleSet, bases: BasisSet, tool: ToolRelation) -> Decision {
    const REASON: &str = "only the tool's counselor or a counselor who reads it gives feedback";
    if tool.owner_is_relative {
        return Decision::Deny("a relative's own tools get no feedback");
    }
    if roles.is_disjoint(COUNSELOR_ROLES) {
        return Decision::Deny(REASON);
    }
    let reader = basis_used(bases, TOOL_CONTENT_READERS);
    let own = if tool.own_counselor { bases.iter().next() } else { None };
    Decision::granted(reader.or(own), REASON)
}

/// Which of the client's relatives the viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativesScope {
    /// All of them (the client, their guardian).
    All,
    /// Only relatives who share a conversation with the viewer (counselors).
    SharingAConversation,
    None,
}

/// Bases that see some of the client's relatives.
pub const RELATIVE_READERS: BasisSet = enum_set!(
    Basis::Own
        | Basis::Guardian
        | Basis::Caseload
        | Basis::Trajectory
        | Basis::Team
        | Basis::Delegation
        | Basis::Emergency
);

/// The relatives the viewer sees.
pub fn relatives_scope(bases: BasisSet) -> RelativesScope {
    if !bases.is_disjoint(enum_set!(Basis::Own | Basis::Guardian)) {
        RelativesScope::All
    } else if !bases.is_disjoint(RELATIVE_READERS) {
        RelativesScope::SharingAConversation
    } else {
        RelativesScope::None
    }
}

/// Reading the relatives list: on SELF or GUARDIAN (all of them), else on the basis that sees
/// those sharing a conversation.
pub fn read_relatives(bases: BasisSet) -> Decision {
    let basis =
        basis_used(bases, enum_set!(Basis::Own | Basis::Guardian)).or_else(|| basis_used(bases, RELATIVE_READERS));
    Decision::granted(basis, "not authorized to read this client's relatives")
}

/// Which trajectories the viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrajectoryScope {
    All,
    /// Only those the viewer works in (TRAJECTORY/TEAM).
    OwnOnly,
    None,
}

/// Bases that see all of a client's trajectories.
pub const TRAJECTORY_READERS: BasisSet = CONTACT_READERS;

pub fn trajectory_scope(bases: BasisSet) -> TrajectoryScope {
    if !bases.is_disjoint(TRAJECTORY_READERS) {
        TrajectoryScope::All
    } else if !bases.is_disjoint(enum_set!(Basis::Trajectory | Basis::Team)) {
        TrajectoryScope::OwnOnly
    } else {
        TrajectoryScope::None
    }
}

/// Reading the client's trajectories: on a basis that sees all of them when the viewer has one,
/// otherwise on TRAJECTORY or TEAM (their own). Nothing else grants it (CONSENT does not).
pub fn read_trajectories(bases: BasisSet) -> Decision {
    let basis =
        basis_used(bases, TRAJECTORY_READERS).or_else(|| basis_used(bases, enum_set!(Basis::Trajectory | Basis::Team)));
    Decision::granted(basis, "not authorized to read this client's trajectories")
}

/// Whether a trajectory's teams are shown: never to the client or their guardian, unless they
/// also see it as a professional.
pub fn read_trajectory_teams(bases: BasisSet) -> Decision {
    let professional = bases.difference(enum_set!(Basis::Own | Basis::Guardian | Basis::GroupPeer | Basis::Relative));
    Decision::granted(professional.iter().next(), "teams are not shown to clients")
}

/// Whether a trajectory's tasks are shown: the same rule as its teams (work of professionals,
/// not shown to the client or their guardian).
pub fn read_trajectory_tasks(bases: BasisSet) -> Decision {
    read_trajectory_teams(bases)
}

/// Bases that read the client's access log (NEN 7513).
pub const ACCESS_LOG_READERS: BasisSet = enum_set!(Basis::Own | Basis::Guardian);

pub fn read_access_log(bases: BasisSet) -> Decision {
    granted_by(bases, ACCESS_LOG_READERS, "only the client and their guardian read the access log")
}

/// Reading who can see the client now, and why (`Client.accessHolders`): the client and their
/// guardian, like the access log.
pub fn read_access_holders(bases: BasisSet) -> Decision {
    granted_by(bases, ACCESS_LOG_READERS, "only the client and their guardian see who can see them")
}

/// What a new dossier entry is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryTarget {
    /// The entry is a RESULT.
    pub is_result: bool,
    /// It belongs to a trajectory the viewer works in (TRAJECTORY/TEAM).
    pub in_own_trajectory: bool,
    /// It belongs to a workflow the client takes part in.
    pub in_participated_workflow: bool,
}

/// Bases that write any dossier entry.
pub const DOSSIER_WRITERS: BasisSet = enum_set!(Basis::Caseload | Basis::Delegation | Basis::Emergency);

/// Writing a dossier entry. Never SUPERVISOR, SECRETARY or CONSENT. TRAJECTORY/TEAM write to
/// their own trajectory; the client adds RESULT entries to a workflow they take part in.
pub fn write_dossier(bases: BasisSet, target: EntryTarget) -> Decision {
    let anywhere = basis_used(bases, DOSSIER_WRITERS);
    let in_trajectory =
        || basis_used(bases, enum_set!(Basis::Trajectory | Basis::Team)).filter(|_| target.in_own_trajectory);
    let own_result =
        || (bases.contains(Basis::Own) && target.is_result && target.in_participated_workflow).then_some(Basis::Own);
    Decision::granted(
        anywhere.or_else(in_trajectory).or_else(own_result),
        "not authorized to write in this client's dossier",
    )
}

/// Breaking the glass: a counselor or supervisor who has no other basis that reads the dossier.
pub fn break_glass(roles: RoleSet, bases: BasisSet) -> Decision {
    if roles.is_disjoint(EMERGENCY_ROLES) {
        return Decision::Deny("only counselors and supervisors may use emergency access");
    }
    Decision::allow_if(
        bases.is_disjoint(DOSSIER_READERS.difference(enum_set!(Basis::Emergency))),
        "you already have access to this client",
    )
}

/// Linking a counselor, supervisor or guardian to a client: a secretary of the organisation,
/// or a counselor already linked to the client.
pub fn link_to_client(roles: RoleSet, bases: BasisSet) -> Decision {
    let linked_counselor =
        (bases.contains(Basis::Caseload) && !roles.is_disjoint(COUNSELOR_ROLES)).then_some(Basis::Caseload);
    let basis = linked_counselor.or_else(|| bases.contains(Basis::Secretary).then_some(Basis::Secretary));
    Decision::granted(basis, "only a secretary or one of the client's counselors links people")
}

/// Assigning a tool to a client: a secretary, or a counselor of the client.
pub fn assign_tool(bases: BasisSet) -> Decision {
    granted_by(
        bases,
        enum_set!(Basis::Secretary | Basis::Caseload),
        "only a secretary or one of the client's counselors assigns tools",
    )
}

/// Adding a relative: a client, for themself.
pub fn add_relative(roles: RoleSet) -> Decision {
    Decision::allow_if(roles.contains(Role::Client), "only clients add relatives")
}

/// Making a self-help tool of one's own: clients and relatives.
pub fn create_self_help_tool(roles: RoleSet) -> Decision {
    Decision::allow_if(
        !roles.is_disjoint(enum_set!(Role::Client | Role::Relative)),
        "only clients and relatives make self-help tools",
    )
}

/// What an export shows of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportView {
    /// A stable pseudonym, no name (DATA_ANALYST).
    Pseudonymised,
    /// The client id and name (DATA_OFFICER).
    Identified,
}

/// Exporting the dossier index. DATA_OFFICER sees identities; DATA_ANALYST pseudonyms.
pub fn export(roles: RoleSet) -> Result<ExportView, Decision> {
    if roles.contains(Role::DataOfficer) {
        Ok(ExportView::Identified)
    } else if roles.contains(Role::DataAnalyst) {
        Ok(ExportView::Pseudonymised)
    } else {
        Err(Decision::Deny("only data analysts and data officers export"))
    }
}

#[cfg(test)]
mod tests {
    use enumset::EnumSet;

    use super::Basis::*;
    use super::*;

    const ALL_BASES: [Basis; 12] = [
        Own, Guardian, Caseload, Supervisor, Trajectory, Team, Delegation, Consent, Emergency, Secretary, GroupPeer,
        Relative,
    ];

    fn one(basis: Basis) -> BasisSet {
        EnumSet::only(basis)
    }

    /// Asserts, basis by basis, that exactly `granting` allow `decide`.
    fn table(name: &str, decide: impl Fn(BasisSet) -> bool, granting: &[Basis]) {
        for basis in ALL_BASES {
            assert_eq!(decide(one(basis)), granting.contains(&basis), "{name} with only {basis:?}");
        }
        assert!(!decide(BasisSet::empty()), "{name} with no basis");
    }

    #[test]
    fn any_basis_makes_the_client_visible() {
        table("visible", is_visible, &ALL_BASES);
    }

    #[test]
    fn contact_table() {
        table(
            "contact",
            |b| read_contact(b).is_allowed(),
            &[Own, Guardian, Caseload, Supervisor, Delegation, Emergency, Secretary],
        );
    }

    #[test]
    fn counselors_table() {
        table(
            "counselors",
            |b| read_counselors(b).is_allowed(),
            &[Own, Guardian, Caseload, Supervisor, Trajectory, Team, Delegation, Emergency, Secretary],
        );
    }

    #[test]
    fn dossier_table() {
        table("whole dossier", |b| dossier_scope(b).all, &[Own, Guardian, Caseload, Supervisor, Delegation, Emergency]);
        table("trajectory entries", |b| dossier_scope(b).own_trajectories, &[Trajectory, Team]);
        table("consented results", |b| dossier_scope(b).consented_results, &[Consent]);
        table(
            "any dossier",
            |b| read_dossier(b).is_allowed(),
            &[Own, Guardian, Caseload, Supervisor, Trajectory, Team, Delegation, Consent, Emergency],
        );
    }

    #[test]
    fn tools_table() {
        table(
            "tool list",
            |b| read_tools(b).is_allowed(),
            &[Own, Guardian, Caseload, Supervisor, Delegation, Emergency, Secretary],
        );
        table(
            "tool content",
            |b| read_tool_content(b).is_allowed(),
            &[Own, Guardian, Caseload, Supervisor, Delegation, Emergency],
        );
    }

    #[test]
    fn feedback_on_a_tool_comes_from_counselors_who_read_it_or_its_own_counselor() {
        for role in crate::policy::ALL_ROLES {
            let counselor = matches!(role, Role::Counselor | Role::CounselorPlus);
            for basis in ALL_BASES {
                for (own_counselor, owner_is_relative) in [(false, false), (true, false), (false, true), (true, true)] {
                    let tool = ToolRelation { own_counselor, owner_is_relative };
                    let decision = give_tool_feedback(RoleSet::only(role), one(basis), tool);
                    let reads = read_tool_content(one(basis)).is_allowed();
                    let allowed = counselor && !owner_is_relative && (reads || own_counselor);
                    assert_eq!(decision.is_allowed(), allowed, "{role:?} {basis:?} {tool:?}");
                    if allowed {
                        assert_eq!(decision.basis(), Some(basis), "the basis is logged");
                    }
                }
            }
            // Without any basis for the owner there is nothing to give feedback on.
            let own = ToolRelation { own_counselor: true, owner_is_relative: false };
            assert!(!give_tool_feedback(RoleSet::only(role), BasisSet::empty(), own).is_allowed());
        }
        // A secretary assigns tools but neither reads them nor gives feedback.
        let own = ToolRelation::default();
        assert!(!give_tool_feedback(RoleSet::only(Role::Secretary), one(Secretary), own).is_allowed());
    }

    #[test]
    fn secretary_sees_contact_but_not_tool_content_or_dossier() {
        let secretary = one(Secretary);
        assert!(read_contact(secretary).is_allowed());
        assert!(read_tools(secretary).is_allowed());
        assert!(!read_tool_content(secretary).is_allowed());
        assert!(!read_dossier(secretary).is_allowed());
    }

    #[test]
    fn relatives_table() {
        table("all relatives", |b| relatives_scope(b) == RelativesScope::All, &[Own, Guardian]);
        table(
            "relatives sharing a conversation",
            |b| relatives_scope(b) == RelativesScope::SharingAConversation,
            &[Caseload, Trajectory, Team, Delegation, Emergency],
        );
    }

    #[test]
    fn trajectories_table() {
        table(
            "all trajectories",
            |b| trajectory_scope(b) == TrajectoryScope::All,
            &[Own, Guardian, Caseload, Supervisor, Delegation, Emergency, Secretary],
        );
        table("own trajectories", |b| trajectory_scope(b) == TrajectoryScope::OwnOnly, &[Trajectory, Team]);
        assert!(!read_trajectory_teams(one(Own)).is_allowed());
        assert!(!read_trajectory_teams(one(Guardian)).is_allowed());
        assert!(read_trajectory_teams(one(Caseload)).is_allowed());
        assert!(read_trajectory_teams(one(Team)).is_allowed());
        assert!(!read_trajectory_tasks(one(Own)).is_allowed());
        assert!(read_trajectory_tasks(one(Trajectory)).is_allowed());
    }

    #[test]
    fn access_log_table() {
        table("access log", |b| read_access_log(b).is_allowed(), &[Own, Guardian]);
        table("access holders", |b| read_access_holders(b).is_allowed(), &[Own, Guardian]);
    }

    #[test]
    fn dossier_writing_table() {
        let anywhere = EntryTarget::default();
        table("write anywhere", |b| write_dossier(b, anywhere).is_allowed(), &[Caseload, Delegation, Emergency]);
        let own_trajectory = EntryTarget { in_own_trajectory: true, ..anywhere };
        table(
            "write in own trajectory",
            |b| write_dossier(b, own_trajectory).is_allowed(),
            &[Caseload, Trajectory, Team, Delegation, Emergency],
        );
        let own_result = EntryTarget { is_result: true, in_participated_workflow: true, in_own_trajectory: false };
        table(
            "write a workflow result",
            |b| write_dossier(b, own_result).is_allowed(),
            &[Own, Caseload, Delegation, Emergency],
        );
        let note_in_workflow = EntryTarget { is_result: false, ..own_result };
        assert!(!write_dossier(one(Own), note_in_workflow).is_allowed(), "a client writes results only");
        for never in [Supervisor, Secretary, Consent] {
            assert!(!write_dossier(one(never), own_trajectory).is_allowed());
            assert!(!write_dossier(one(never), own_result).is_allowed());
        }
    }

    #[test]
    fn bases_count_only_with_their_role() {
        let all: BasisSet = ALL_BASES.into_iter().collect();
        let counselor = effective_bases(EnumSet::only(Role::Counselor), all);
        assert!(counselor.contains(Caseload) && counselor.contains(Emergency));
        assert!(!counselor.contains(Supervisor) && !counselor.contains(Secretary) && !counselor.contains(Guardian));
        let client = effective_bases(EnumSet::only(Role::Client), all);
        assert!(client.contains(Own) && client.contains(GroupPeer));
        assert!(!client.contains(Caseload) && !client.contains(Emergency) && !client.contains(Relative));
        let administrator = effective_bases(EnumSet::only(Role::Administrator), one(Secretary) | Caseload | Consent);
        assert!(administrator.is_empty(), "an administrator sees no client data");
        for role in [Role::Counselor, Role::CounselorPlus, Role::Supervisor] {
            assert!(effective_bases(EnumSet::only(role), one(Consent)).contains(Consent), "{role:?}");
        }
        assert!(!client.contains(Consent), "a consent counts only for a professional who still works in workflows");
        assert!(!client.contains(Trajectory) && !client.contains(Team) && !client.contains(Delegation));
        for role in [Role::DataAnalyst, Role::DataOfficer, Role::Administrator] {
            let all_but_own = effective_bases(EnumSet::only(role), all.difference(one(Own)));
            assert!(all_but_own.is_empty(), "{role:?} holds no basis: {all_but_own:?}");
        }
        for role in [Role::Counselor, Role::CounselorPlus, Role::Supervisor, Role::Secretary] {
            let care = effective_bases(EnumSet::only(role), one(Trajectory) | Team | Delegation);
            assert_eq!(care, one(Trajectory) | Team | Delegation, "{role:?}");
        }
    }

    #[test]
    fn break_glass_needs_a_counseling_role_and_no_other_access() {
        for role in [Role::Counselor, Role::CounselorPlus, Role::Supervisor] {
            assert!(break_glass(EnumSet::only(role), BasisSet::empty()).is_allowed(), "{role:?}");
            assert!(break_glass(EnumSet::only(role), one(Emergency)).is_allowed(), "{role:?} again while active");
            assert!(!break_glass(EnumSet::only(role), one(Caseload)).is_allowed(), "{role:?} with caseload");
        }
        for role in [Role::Administrator, Role::Secretary, Role::Client, Role::DataOfficer] {
            assert!(!break_glass(EnumSet::only(role), BasisSet::empty()).is_allowed(), "{role:?}");
        }
    }

    #[test]
    fn linking_by_secretary_or_linked_counselor() {
        assert!(link_to_client(EnumSet::only(Role::Secretary), one(Secretary)).is_allowed());
        assert!(link_to_client(EnumSet::only(Role::Counselor), one(Caseload)).is_allowed());
        assert!(!link_to_client(EnumSet::only(Role::Counselor), BasisSet::empty()).is_allowed());
        assert!(!link_to_client(EnumSet::only(Role::Supervisor), one(Supervisor)).is_allowed());
        assert!(!link_to_client(EnumSet::only(Role::Administrator), BasisSet::empty()).is_allowed());
    }

    #[test]
    fn relatives_are_added_by_clients_and_self_help_tools_made_by_clients_and_relatives() {
        for role in [Role::Administrator, Role::Secretary, Role::Counselor, Role::Guardian, Role::Relative] {
            assert!(!add_relative(EnumSet::only(role)).is_allowed(), "{role:?}");
        }
        assert!(add_relative(EnumSet::only(Role::Client)).is_allowed());
        assert!(create_self_help_tool(EnumSet::only(Role::Client)).is_allowed());
        assert!(create_self_help_tool(EnumSet::only(Role::Relative)).is_allowed());
        assert!(!create_self_help_tool(EnumSet::only(Role::Counselor)).is_allowed());
    }

    #[test]
    fn exports_by_role() {
        assert_eq!(export(EnumSet::only(Role::DataOfficer)), Ok(ExportView::Identified));
        assert_eq!(export(EnumSet::only(Role::DataAnalyst)), Ok(ExportView::Pseudonymised));
        for role in [Role::Administrator, Role::Secretary, Role::Counselor, Role::Supervisor, Role::Client] {
            assert!(export(EnumSet::only(role)).is_err(), "{role:?}");
        }
    }

    #[test]
    fn the_acting_role_is_the_one_the_basis_needs() {
        let roles: RoleSet = Role::Secretary | Role::Counselor | Role::Supervisor;
        assert_eq!(acting_role(roles, Some(Secretary)), Some(Role::Secretary));
        assert_eq!(acting_role(roles, Some(Caseload)), Some(Role::Counselor));
        assert_eq!(acting_role(roles, Some(Supervisor)), Some(Role::Supervisor));
        assert_eq!(acting_role(EnumSet::only(Role::Secretary), Some(Team)), Some(Role::Secretary));
        assert_eq!(acting_role(EnumSet::only(Role::Client), Some(Own)), Some(Role::Client));
        assert_eq!(acting_role(EnumSet::only(Role::Administrator), None), Some(Role::Administrator));
    }

    #[test]
    fn a_decision_names_the_basis_that_granted_it() {
        assert_eq!(read_contact(one(Secretary) | Caseload).basis(), Some(Caseload));
        assert_eq!(read_contact(one(Consent)), Decision::Deny("not authorized to read this client's contact details"));
        // CONSENT grants results only: a read of trajectories rests on what grants it.
        assert_eq!(read_trajectories(one(Consent) | Emergency).basis(), Some(Emergency));
        assert_eq!(read_trajectories(one(Consent) | Team).basis(), Some(Team));
        assert!(!read_trajectories(one(Consent)).is_allowed());
        // The whole dossier before a part of it.
        assert_eq!(read_dossier(one(Consent) | Emergency).basis(), Some(Emergency));
        assert_eq!(read_dossier(one(Trajectory) | Consent).basis(), Some(Trajectory));
        assert_eq!(read_dossier(one(Consent)).basis(), Some(Consent));
        assert_eq!(read_relatives(one(Caseload) | Guardian).basis(), Some(Guardian));
        let own_trajectory = EntryTarget { in_own_trajectory: true, ..EntryTarget::default() };
        assert_eq!(write_dossier(one(Team) | Emergency, own_trajectory).basis(), Some(Emergency));
        assert_eq!(write_dossier(one(Team), own_trajectory).basis(), Some(Team));
        assert_eq!(link_to_client(EnumSet::only(Role::Counselor), one(Caseload)).basis(), Some(Caseload));
        assert_eq!(find_client(one(Consent) | Emergency).basis(), Some(Consent));
    }

    #[test]
    fn every_allowed_read_names_a_basis_the_viewer_holds() {
        let reads: [fn(BasisSet) -> Decision; 9] = [
            read_contact,
            read_counselors,
            read_dossier,
            read_tools,
            read_tool_content,
            read_relatives,
            read_trajectories,
            read_access_log,
            find_client,
        ];
        for bits in 0u32..(1 << ALL_BASES.len()) {
            let bases: BasisSet =
                ALL_BASES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, b)| *b).collect();
            for read in reads {
                let decision = read(bases);
                if decision.is_allowed() {
                    let basis = decision.basis().expect("an allowed read names its basis");
                    assert!(bases.contains(basis), "{basis:?} not in {bases:?}");
                }
            }
        }
    }
}
