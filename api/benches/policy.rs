//! Benchmarks of the authorization policy (`inzage_api::policy::client`), which is pure: no
//! database, no GraphQL, only the rules.
//!
//! - `decision/*`: one decision each, for a few representative viewers.
//! - `page/200_clients_every_field`: every decision a page of 200 clients costs when a query
//!   selects every field of `Client`, taken in the order the resolvers take them, with the
//!   access-log basis of each read. Reported per page and per client (throughput).
//!
//! Run with `cargo bench -p inzage-api --bench policy`; add a filter (`-- page`) to run one group.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enumset::{EnumSet, enum_set};
use inzage_api::policy::client::{self as rules, Basis, BasisSet, DossierScope, EntryTarget};
use inzage_api::policy::{Decision, RoleSet};
use inzage_entity::Role;

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    let caseload: BasisSet = Basis::Caseload.into();
    group.bench_function("read_contact/caseload_counselor", |b| b.iter(|| rules::read_contact(black_box(caseload))));
    let secretary: BasisSet = Basis::Secretary.into();
    group.bench_function("read_tool_content/secretary_denied", |b| {
        b.iter(|| rules::read_tool_content(black_box(secretary)))
    });
    // A counselor-plus who was once a supervisor and a secretary: the access layer still finds
    // those links, and the policy has to drop them.
    let roles: RoleSet = enum_set!(Role::CounselorPlus);
    let found: BasisSet = Basis::Caseload | Basis::Supervisor | Basis::Secretary | Basis::Consent | Basis::Team;
    group.bench_function("effective_bases/counselor_plus_stale_links", |b| {
        b.iter(|| rules::effective_bases(black_box(roles), black_box(found)))
    });
    let member: BasisSet = Basis::Trajectory.into();
    let in_trajectory = EntryTarget { in_own_trajectory: true, ..EntryTarget::default() };
    group.bench_function("write_dossier/trajectory_member", |b| {
        b.iter(|| rules::write_dossier(black_box(member), black_box(in_trajectory)))
    });
    let both = Basis::Secretary | Basis::Caseload;
    group.bench_function("read_contact_basis/secretary_and_caseload", |b| {
        b.iter(|| rules::read_contact(black_box(both)).basis())
    });
    group.finish();
}

/// One viewer-client pair of the page: the viewer's roles and the bases the access layer found,
/// before the policy drops those whose role the viewer no longer has.
#[derive(Clone, Copy)]
struct Row {
    roles: RoleSet,
    found: BasisSet,
}

/// Kinds of viewer-client pairs, with how many of every 32 rows are of that kind. Caseload and
/// trajectory work dominate a counselor's lists; the rest are rarer but each takes other branches.
const KINDS: [(u32, Role, &[Basis]); 14] = [
    (7, Role::Counselor, &[Basis::Caseload]),
    (2, Role::CounselorPlus, &[Basis::Caseload, Basis::Trajectory]),
    (3, Role::Supervisor, &[Basis::Supervisor]),
    (4, Role::Counselor, &[Basis::Trajectory]),
    (3, Role::Counselor, &[Basis::Team]),
    (2, Role::Counselor, &[Basis::Delegation]),
    (2, Role::Counselor, &[Basis::Consent]),
    (1, Role::Supervisor, &[Basis::Emergency]),
    (3, Role::Secretary, &[Basis::Secretary]),
    // A secretary who used to counsel: the caseload link no longer counts.
    (1, Role::Secretary, &[Basis::Secretary, Basis::Caseload]),
    (1, Role::Client, &[Basis::Own]),
    (1, Role::Guardian, &[Basis::Guardian]),
    (1, Role::Client, &[Basis::GroupPeer]),
    (1, Role::Relative, &[Basis::Relative]),
];

/// `n` rows in a fixed pseudo-random order (xorshift, fixed seed), so runs compare and the
/// branches do not repeat in a pattern short enough to be learnt.
fn page(n: usize) -> Vec<Row> {
    let total: u32 = KINDS.iter().map(|(weight, ..)| weight).sum();
    let mut state: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let mut pick = state % total;
            let (_, role, bases) = KINDS
                .iter()
                .find(|(weight, ..)| {
                    let hit = pick < *weight;
                    pick = pick.saturating_sub(*weight);
                    hit
                })
                .expect("pick is below the total weight");
            let mut found: BasisSet = bases.iter().copied().collect();
            // Some professionals also hold a consent from a workflow of the client.
            if state & 0x700 == 0 && *role != Role::Client {
                found.insert(Basis::Consent);
            }
            Row { roles: EnumSet::only(*role), found }
        })
        .collect()
}

/// What the resolvers of one `Client` decide; each decision names the basis its read is logged
/// under.
#[allow(dead_code)] // Only passed to `black_box`, never read.
struct Fields {
    lookup: Decision,
    contact: Decision,
    counselors: Decision,
    relatives: Decision,
    relatives_scope: rules::RelativesScope,
    dossier: Decision,
    dossier_scope: DossierScope,
    tools: Decision,
    tool_content: Option<Decision>,
    trajectories: Decision,
    trajectory_scope: rules::TrajectoryScope,
    access_log: Decision,
    can_read_contact: bool,
    can_read_dossier: bool,
    can_write_dossier: bool,
}

/// Every decision for one client, as `graphql::types::client` takes them.
fn every_field(row: Row) -> Fields {
    let bases = rules::effective_bases(row.roles, row.found);
    let tools = rules::read_tools(bases);
    // A tool's content is asked only of tools the list showed; one tool per client here.
    let tool_content = tools.is_allowed().then(|| rules::read_tool_content(bases));
    let write_anywhere = EntryTarget::default();
    let write_in_trajectory = EntryTarget { in_own_trajectory: true, ..EntryTarget::default() };
    Fields {
        lookup: rules::find_client(bases),
        contact: rules::read_contact(bases),
        counselors: rules::read_counselors(bases),
        relatives: rules::read_relatives(bases),
        relatives_scope: rules::relatives_scope(bases),
        dossier: rules::read_dossier(bases),
        dossier_scope: rules::dossier_scope(bases),
        tools,
        tool_content,
        trajectories: rules::read_trajectories(bases),
        // Asked once per trajectory row; one trajectory per client here.
        trajectory_scope: rules::trajectory_scope(bases),
        access_log: rules::read_access_log(bases),
        can_read_contact: rules::read_contact(bases).is_allowed(),
        can_read_dossier: rules::read_dossier(bases).is_allowed(),
        can_write_dossier: rules::write_dossier(bases, write_anywhere).is_allowed()
            || rules::write_dossier(bases, write_in_trajectory).is_allowed(),
    }
}

fn page_of_clients(c: &mut Criterion) {
    let rows = page(200);
    // The page must take both sides of the rules, or it measures one branch only.
    let allowed = rows.iter().filter(|row| every_field(**row).can_read_contact).count();
    assert!(allowed > 0 && allowed < rows.len(), "the page mixes viewers who read contact details and who do not");

    let mut group = c.benchmark_group("page");
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("200_clients_every_field", |b| {
        b.iter(|| {
            for row in black_box(rows.as_slice()) {
                black_box(every_field(*row));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decisions, page_of_clients);
criterion_main!(benches);
