//! Account rules: who creates accounts, sets roles, (de)activates, and sees whom.

use enumset::enum_set;
use inzage_entity::Role;

use super::client::Basis;
use super::{Decision, RoleSet, is_professional};

/// How the viewer stands to another account. Later scenarios add links (a client's counselors,
/// group peers, conversation partners); today only self and organisation are known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserRelation {
    /// The account is the viewer's own.
    pub is_self: bool,
    /// The account belongs to the viewer's organisation.
    pub same_organization: bool,
    /// The account is linked to the viewer through a care relation they may see.
    pub linked: bool,
}

/// Roles that a SECRETARY or counselor may give a new account.
const CLIENT_ONLY: RoleSet = enum_set!(Role::Client);

/// Roles that may create client accounts besides the administrator.
const CLIENT_CREATORS: RoleSet = enum_set!(Role::Secretary | Role::Counselor | Role::CounselorPlus);

/// Creating an account with `new_roles`. ADMINISTRATOR creates any account; SECRETARY and
/// counselors create CLIENT accounts only.
pub fn create_account(actor: RoleSet, new_roles: RoleSet) -> Decision {
    if actor.contains(Role::Administrator) {
        return Decision::Allow(None);
    }
    if actor.is_disjoint(CLIENT_CREATORS) {
        return Decision::Deny("only administrators, secretaries and counselors create accounts");
    }
    Decision::allow_if(new_roles == CLIENT_ONLY, "you may create CLIENT accounts only")
}

/// Setting another account's roles: ADMINISTRATOR only.
pub fn set_roles(actor: RoleSet) -> Decision {
    Decision::allow_if(actor.contains(Role::Administrator), "only an administrator sets roles")
}

/// What a (de)activation changes and how the actor stands to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    /// `true` to activate, `false` to deactivate.
    pub activate: bool,
    /// The account's roles.
    pub target: RoleSet,
    /// The actor holds a CASELOAD basis for the account (it is a client in their caseload).
    pub in_caseload: bool,
}

/// Counselors who may deactivate the clients in their caseload.
const DEACTIVATING_COUNSELORS: RoleSet = enum_set!(Role::Counselor | Role::CounselorPlus);

/// (De)activating an account: ADMINISTRATOR any; SECRETARY any but an administrator's; a
/// COUNSELOR or COUNSELOR_PLUS deactivates (never reactivates) a CLIENT in their caseload, on
/// that CASELOAD basis.
pub fn set_active(actor: RoleSet, change: Activation) -> Decision {
    if actor.contains(Role::Administrator) {
        return Decision::Allow(None);
    }
    if actor.contains(Role::Secretary) {
        return Decision::allow_if(
            !change.target.contains(Role::Administrator),
            "a secretary cannot (de)activate an administrator",
        );
    }
    if !actor.is_disjoint(DEACTIVATING_COUNSELORS) && !change.activate {
        let client = change.target.contains(Role::Client);
        let basis = (client && change.in_caseload).then_some(Basis::Caseload);
        return Decision::granted(basis, "counselors deactivate only the clients in their caseload");
    }
    Decision::Deny("only administrators and secretaries (de)activate accounts")
}

/// Whether a change leaves the organisation without an active administrator: the target is
/// one now, will not be one after the change, and no other active administrator remains.
pub fn removes_last_administrator(target_is_admin_now: bool, target_is_admin_after: bool, other_admins: u64) -> bool {
    target_is_admin_now && !target_is_admin_after && other_admins == 0
}

/// Changing whether an account accepts dossier delegations: ADMINISTRATOR, or a professional
/// for their own account.
pub fn set_accepts_delegations(actor: RoleSet, relation: UserRelation) -> Decision {
    if actor.contains(Role::Administrator) {
        return Decision::Allow(None);
    }
    Decision::allow_if(
        relation.is_self && is_professional(actor),
        "only an administrator, or a professional for their own account, sets this",
    )
}

/// Whether an account with these roles can accept dossier delegations at all: a care role
/// (a delegate reads the dossier; administrators and the data roles never do).
pub fn can_accept_delegations(target: RoleSet) -> bool {
    super::Link::Delegate.counts_for(target)
}

/// Reading an account's e-mail: the account itself, ADMINISTRATOR and SECRETARY of its
/// organisation.
pub fn read_email(actor: RoleSet, relation: UserRelation) -> Decision {
    if relation.is_self {
        return Decision::Allow(None);
    }
    Decision::allow_if(
        relation.same_organization && !actor.is_disjoint(enum_set!(Role::Administrator | Role::Secretary)),
        "only the account itself, administrators and secretaries read e-mail addresses",
    )
}

/// Whether the account exists for the viewer at all. Professionals see their organisation's
/// accounts; everyone sees themselves and the accounts linked to them.
pub fn see_user(actor: RoleSet, relation: UserRelation) -> bool {
    relation.is_self || relation.linked || (relation.same_organization && is_professional(actor))
}

/// Reading, accepting and rejecting the registrations of one's own organisation: its
/// SECRETARY and ADMINISTRATOR.
pub fn process_registrations(actor: RoleSet) -> Decision {
    Decision::allow_if(
        !actor.is_disjoint(enum_set!(Role::Secretary | Role::Administrator)),
        "only secretaries and administrators process registrations",
    )
}

/// Whom a viewer finds among the accounts (`Query.users`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleScope {
    /// Professionals: every account of their own organisation.
    Organization,
    /// Clients, guardians, relatives and externals: themselves and the accounts linked to them.
    Linked,
}

/// Whom `actor` finds when looking for people (the same accounts [`see_user`] lets them see).
pub fn people_scope(actor: RoleSet) -> PeopleScope {
    if is_professional(actor) { PeopleScope::Organization } else { PeopleScope::Linked }
}

/// Whether a search of `actor`'s may match e-mail addresses: only where they read the address
/// of every account it can find (so that a search cannot probe for an address).
pub fn search_emails(actor: RoleSet) -> bool {
    let colleague = UserRelation { is_self: false, same_organization: true, linked: false };
    people_scope(actor) == PeopleScope::Organization && read_email(actor, colleague).is_allowed()
}

#[cfg(test)]
mod tests {
    use enumset::EnumSet;
    use inzage_entity::Role::{self, *};

    use super::*;

    const ALL: [Role; 11] = [
        Administrator,
        DataAnalyst,
        DataOfficer,
        Counselor,
        CounselorPlus,
        Supervisor,
        Secretary,
        Client,
        Guardian,
        Relative,
        External,
    ];

    fn only(role: Role) -> RoleSet {
        EnumSet::only(role)
    }

    const COLLEAGUE: UserRelation = UserRelation { is_self: false, same_organization: true, linked: false };
    const STRANGER: UserRelation = UserRelation { is_self: false, same_organization: false, linked: false };
    const ME: UserRelation = UserRelation { is_self: true, same_organization: true, linked: false };

    #[test]
    fn administrator_creates_accounts_of_every_role() {
        for role in ALL {
            assert!(create_account(only(Administrator), only(role)).is_allowed(), "{role:?}");
        }
        assert!(create_account(only(Administrator), Counselor | Supervisor).is_allowed());
    }

    #[test]
    fn secretary_and_counselors_create_client_accounts_only() {
        for creator in [Secretary, Counselor, CounselorPlus] {
            for role in ALL {
                let decision = create_account(only(creator), only(role));
                assert_eq!(decision.is_allowed(), role == Client, "{creator:?} creating {role:?}");
            }
            assert!(!create_account(only(creator), Client | Counselor).is_allowed());
        }
    }

    #[test]
    fn other_roles_create_no_accounts() {
        for actor in [DataAnalyst, DataOfficer, Supervisor, Client, Guardian, Relative, External] {
            assert!(!create_account(only(actor), only(Client)).is_allowed(), "{actor:?}");
        }
    }

    #[test]
    fn only_administrator_sets_roles() {
        for role in ALL {
            assert_eq!(set_roles(only(role)).is_allowed(), role == Administrator, "{role:?}");
        }
    }

    #[test]
    fn administrator_and_secretary_set_active() {
        for role in ALL {
            let allowed = matches!(role, Administrator | Secretary);
            let change = Activation { activate: false, target: only(Client), in_caseload: false };
            assert_eq!(set_active(only(role), change).is_allowed(), allowed, "{role:?}");
        }
    }

    #[test]
    fn secretary_cannot_deactivate_an_administrator() {
        let change = |target| Activation { activate: false, target, in_caseload: false };
        assert!(!set_active(only(Secretary), change(only(Administrator))).is_allowed());
        assert!(set_active(only(Administrator), change(only(Administrator))).is_allowed());
    }

    #[test]
    fn accounts_are_activated_by_the_office_and_caseload_clients_deactivated_by_their_counselor() {
        for role in ALL {
            for target in ALL {
                for activate in [false, true] {
                    for in_caseload in [false, true] {
                        let change = Activation { activate, target: only(target), in_caseload };
                        let decision = set_active(only(role), change);
                        let office = role == Administrator || (role == Secretary && target != Administrator);
                        let counselor =
                            matches!(role, Counselor | CounselorPlus) && !activate && target == Client && in_caseload;
                        assert_eq!(decision.is_allowed(), office || counselor, "{role:?} {change:?}");
                        if counselor {
                            assert_eq!(decision.basis(), Some(Basis::Caseload), "{role:?} {change:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn last_administrator_is_kept() {
        assert!(removes_last_administrator(true, false, 0));
        assert!(!removes_last_administrator(true, false, 1));
        assert!(!removes_last_administrator(true, true, 0));
        assert!(!removes_last_administrator(false, false, 0));
    }

    #[test]
    fn accepts_delegations_is_set_by_administrator_or_the_professional_themself() {
        for role in ALL {
            assert_eq!(
                set_accepts_delegations(only(role), COLLEAGUE).is_allowed(),
                role == Administrator,
                "{role:?} for a colleague"
            );
            assert_eq!(
                set_accepts_delegations(only(role), ME).is_allowed(),
                is_professional(only(role)),
                "{role:?} for themself"
            );
        }
        for role in ALL {
            let care = matches!(role, Counselor | CounselorPlus | Supervisor | Secretary);
            assert_eq!(can_accept_delegations(only(role)), care, "{role:?} accepting delegations");
        }
    }

    #[test]
    fn professionals_find_their_organisation_and_search_addresses_only_where_they_read_them() {
        for role in ALL {
            let scope = people_scope(only(role));
            let professional = is_professional(only(role));
            assert_eq!(scope == PeopleScope::Organization, professional, "{role:?}");
            // The scope finds only accounts the viewer may see.
            let found = if professional { COLLEAGUE } else { UserRelation { linked: true, ..STRANGER } };
            assert!(see_user(only(role), found), "{role:?}");
            assert_eq!(search_emails(only(role)), matches!(role, Administrator | Secretary), "{role:?}");
            assert!(!search_emails(only(role)) || read_email(only(role), COLLEAGUE).is_allowed(), "{role:?}");
        }
    }

    #[test]
    fn registrations_are_processed_by_the_secretary_and_the_administrator() {
        for role in ALL {
            assert_eq!(
                process_registrations(only(role)).is_allowed(),
                matches!(role, Secretary | Administrator),
                "{role:?}"
            );
        }
    }

    #[test]
    fn email_is_read_by_self_administrator_and_secretary_of_the_organisation() {
        for role in ALL {
            assert!(read_email(only(role), ME).is_allowed(), "{role:?} reading own e-mail");
            assert_eq!(
                read_email(only(role), COLLEAGUE).is_allowed(),
                matches!(role, Administrator | Secretary),
                "{role:?} reading a colleague's e-mail"
            );
            assert!(!read_email(only(role), STRANGER).is_allowed(), "{role:?} reading another organisation's");
        }
    }

    #[test]
    fn professionals_see_their_organisation_and_others_only_themselves_and_links() {
        for role in ALL {
            assert!(see_user(only(role), ME));
            assert_eq!(see_user(only(role), COLLEAGUE), is_professional(only(role)), "{role:?}");
            assert!(!see_user(only(role), STRANGER), "{role:?} sees another organisation");
            let linked = UserRelation { linked: true, ..STRANGER };
            assert!(see_user(only(role), linked), "{role:?} sees a linked user");
        }
    }
}
