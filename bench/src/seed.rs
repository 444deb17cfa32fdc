//! A database of a chosen size, written with multi-row inserts straight into the tables (no
//! policy, no events): the shape of a care provider with `clients` clients.
//!
//! The layout is a function of the client's index, so that the load scenarios can find what
//! they need by e-mail address in a database seeded earlier:
//!
//! - counselor `k` (`counselor-{k}@bench.example`) has clients `200k .. 200k+199` in their
//!   caseload, and is primary coach of each one's open trajectory; counselor `k+1` is a member;
//! - client `i` (`client-{i}@bench.example`) has contact details, two dossier entries, `audit`
//!   access-log rows, two notifications, a conversation with their counselor (two messages),
//!   and is in group `i / 50` (50 clients, their counselor leads it; the three visibility modes
//!   in turn);
//! - every fourth client also has a closed trajectory; every tenth an open task (every other
//!   tenth a done one); every twentieth an active delegation to an intervention provider;
//! - every even client takes part in workflow `i / 1000` and has a PENDING consent request for
//!   its professional; every client `i % 10 == 1` has a GRANTED one;
//! - each counselor has 30 notifications, 10 of them unread.

use std::time::Instant;

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use inzage_entity::{
    AuditAction, AuditOutcome, ConsentKind, ConsentStatus, DelegationStatus, DossierEntryKind, GroupVisibility,
    NotificationKind, OrganizationKind, Role, TaskKind, TaskStatus, TrajectoryKind, TrajectoryStatus, audit_event,
    care_group, caseload_link, client_contact, consent_request, conversation, conversation_participant, delegation,
    dossier_entry, group_counselor, group_member, message, notification, organization, participation, project, task,
    trajectory, trajectory_member, user, user_role, workflow, workflow_professional,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Iterable, TransactionTrait};
use uuid::Uuid;

use crate::Result;

/// Clients per counselor's caseload.
pub const CASELOAD: usize = 200;
/// Clients per care group.
const GROUP_SIZE: usize = 50;
/// Clients per workflow.
const WORKFLOW_SIZE: usize = 1000;
/// Clients written per transaction (a multiple of the three sizes above).
const BATCH: usize = 10_000;
/// The name of a seeded organisation, from which a later run recognises the database.
pub fn organization_name(clients: usize) -> String {
    format!("Bench care provider ({clients} clients)")
}

pub fn client_email(i: usize) -> String {
    format!("client-{i}@bench.example")
}

pub fn counselor_email(k: usize) -> String {
    format!("counselor-{k}@bench.example")
}

/// Whether client `i`'s group is one its members see (CLIENT_VISIBLE or MUTUAL).
pub fn group_visible_to_members(i: usize) -> bool {
    !(i / GROUP_SIZE).is_multiple_of(3)
}

/// How many counselors a database of `clients` clients has.
pub fn counselors_for(clients: usize) -> usize {
    clients.div_ceil(CASELOAD).max(2)
}

/// What the seed wrote.
pub struct Seeded {
    pub rows: u64,
    pub seconds: f64,
}

/// Writes the organisation and everything in it. `audit` is the access-log rows per client.
pub async fn seed(db: &sea_orm::DatabaseConnection, clients: usize, audit: usize) -> Result<Seeded> {
    let started = Instant::now();
    let now = Utc::now();
    let mut rows = 0u64;
    let counselors = counselors_for(clients);
    let ids = Ids::new();
    let org = ids.organization;

    // The organisation, its counselors, the provider's delegates, the project and its workflows.
    let txn = db.begin().await?;
    rows += insert(
        &txn,
        vec![organization::Model {
            id: org,
            name: organization_name(clients),
            kind: OrganizationKind::CareProvider,
            created_at: now,
            guidance_protocol_id: None,
        }],
    )
    .await?;
    rows += insert(
        &txn,
        vec![organization::Model {
            id: ids.provider_org,
            name: format!("Bench intervention provider ({clients} clients)"),
            kind: OrganizationKind::InterventionProvider,
            created_at: now,
            guidance_protocol_id: None,
        }],
    )
    .await?;
    for first in (0..counselors).step_by(BATCH) {
        let range = first..(first + BATCH).min(counselors);
        let mut users = Vec::new();
        let mut roles = Vec::new();
        let mut notes = Vec::new();
        for k in range {
            let id = ids.counselor(k);
            users.push(account(id, org, counselor_email(k), format!("Counselor {k}"), now, false));
            roles.push(user_role::Model { user_id: id, role: Role::Counselor });
            for n in 0..30 {
                notes.push(notification_row(id, n, n.is_multiple_of(3), now));
            }
        }
        rows += insert(&txn, users).await?;
        rows += insert(&txn, roles).await?;
        rows += insert(&txn, notes).await?;
    }
    let delegates = delegates_for(clients);
    let mut users = Vec::new();
    let mut roles = Vec::new();
    for d in 0..delegates {
        let id = ids.delegate(d);
        users.push(account(
            id,
            ids.provider_org,
            format!("delegate-{d}@bench.example"),
            format!("Delegate {d}"),
            now,
            true,
        ));
        roles.push(user_role::Model { user_id: id, role: Role::Counselor });
    }
    rows += insert(&txn, users).await?;
    rows += insert(&txn, roles).await?;
    let project_id = ids.project;
    rows += insert(
        &txn,
        vec![project::Model { id: project_id, organization_id: org, name: "Bench project".into(), created_at: now }],
    )
    .await?;
    let workflows = clients.div_ceil(WORKFLOW_SIZE).max(1);
    let mut flows = Vec::new();
    let mut professionals = Vec::new();
    for w in 0..workflows {
        flows.push(workflow::Model {
            id: ids.workflow(w),
            project_id,
            organization_id: org,
            name: format!("Workflow {w}"),
            allow_append_professionals: false,
            created_at: now,
        });
        professionals.push(workflow_professional::Model {
            workflow_id: ids.workflow(w),
            professional_id: ids.counselor(workflow_professional_of(w, counselors)),
            access_days: 30,
            reason: "Follows the participants' progress".into(),
            added_at: now,
        });
    }
    rows += insert(&txn, flows).await?;
    rows += insert(&txn, professionals).await?;
    txn.commit().await?;

    // The clients, a batch per transaction.
    for first in (0..clients).step_by(BATCH) {
        let txn = db.begin().await?;
        let range = first..(first + BATCH).min(clients);
        rows += client_batch(&txn, &ids, range, (counselors, delegates), audit, now).await?;
        txn.commit().await?;
        if clients > BATCH {
            eprintln!("  … {} of {clients} clients written", (first + BATCH).min(clients));
        }
    }
    Ok(Seeded { rows, seconds: started.elapsed().as_secs_f64() })
}

/// The professional of workflow `w`: a counselor other than the participants' own.
fn workflow_professional_of(w: usize, counselors: usize) -> usize {
    (w * (WORKFLOW_SIZE / CASELOAD) + WORKFLOW_SIZE / CASELOAD) % counselors
}

fn delegates_for(clients: usize) -> usize {
    clients.div_ceil(1000).clamp(1, 100)
}

async fn client_batch(
    txn: &impl ConnectionTrait,
    ids: &Ids,
    range: std::ops::Range<usize>,
    (counselors, delegates): (usize, usize),
    audit: usize,
    now: DateTime<Utc>,
) -> Result<u64> {
    let org = ids.organization;
    let mut t = Tables::default();
    let past = |days: i64| now - Days::days(days);
    for i in range {
        let id = ids.client(i);
        let k = i / CASELOAD;
        let counselor = ids.counselor(k);
        let colleague = ids.counselor((k + 1) % counselors);
        t.users.push(account(id, org, client_email(i), format!("Client {i}"), past((i % 700) as i64), false));
        t.roles.push(user_role::Model { user_id: id, role: Role::Client });
        t.contacts.push(client_contact::Model {
            user_id: id,
            phone: Some(format!("+31 6 {i:08}")),
            address: Some(format!("Bench street {}, {:04} AB Utrecht", i % 300 + 1, 1000 + i % 9000)),
            birth_date: NaiveDate::from_ymd_opt(1940 + (i % 70) as i32, (i % 12) as u32 + 1, (i % 28) as u32 + 1),
        });
        t.caseload.push(caseload_link::Model { counselor_id: counselor, client_id: id, created_at: past(400) });

        let open = ids.trajectory(i, 0);
        t.trajectories.push(trajectory_row(open, org, id, format!("Support plan {i}"), counselor, past(90), None));
        for (user, role) in [(counselor, "coach"), (colleague, "co-counselor")] {
            t.members.push(trajectory_member::Model {
                trajectory_id: open,
                user_id: user,
                role: role.into(),
                added_at: past(90),
            });
        }
        if i.is_multiple_of(4) {
            let closed = ids.trajectory(i, 1);
            t.trajectories.push(trajectory_row(
                closed,
                org,
                id,
                format!("Earlier plan {i}"),
                counselor,
                past(500),
                Some(past(200)),
            ));
            t.members.push(trajectory_member::Model {
                trajectory_id: closed,
                user_id: counselor,
                role: "coach".into(),
                added_at: past(500),
            });
        }
        if i.is_multiple_of(10) || i % 10 == 5 {
            let done = i % 10 == 5;
            t.tasks.push(task::Model {
                id: Uuid::now_v7(),
                trajectory_id: open,
                kind: TaskKind::ConfirmIntervention,
                status: if done { TaskStatus::Done } else { TaskStatus::Open },
                created_at: past(20),
                completed_at: done.then(|| past(10)),
            });
        }
        if i.is_multiple_of(20) {
            t.delegations.push(delegation::Model {
                id: Uuid::now_v7(),
                client_id: id,
                delegate_id: ids.delegate((i / 20) % delegates),
                trajectory_id: Some(open),
                granted_by: Some(counselor),
                status: DelegationStatus::Active,
                starts_at: past(10),
                ends_at: Some(now + Days::days(20)),
                ended_at: None,
                warned_at: None,
            });
        }

        if i.is_multiple_of(GROUP_SIZE) {
            let group = ids.group(i / GROUP_SIZE);
            let visibility = match (i / GROUP_SIZE) % 3 {
                0 => GroupVisibility::Invisible,
                1 => GroupVisibility::ClientVisible,
                _ => GroupVisibility::Mutual,
            };
            t.groups.push(care_group::Model {
                id: group,
                organization_id: org,
                name: format!("Group {}", i / GROUP_SIZE),
                visibility,
                created_at: past(300),
            });
            t.group_counselors.push(group_counselor::Model {
                group_id: group,
                user_id: counselor,
                added_at: past(300),
            });
        }
        t.group_members.push(group_member::Model {
            group_id: ids.group(i / GROUP_SIZE),
            user_id: id,
            added_at: past(300),
        });

        let w = i / WORKFLOW_SIZE;
        if i.is_multiple_of(2) || i % 10 == 1 {
            let participation = Uuid::now_v7();
            t.participations.push(participation::Model {
                id: participation,
                workflow_id: ids.workflow(w),
                participant_id: id,
                started_at: past(30),
            });
            let granted = i % 10 == 1;
            t.requests.push(consent_request::Model {
                id: Uuid::now_v7(),
                kind: ConsentKind::WorkflowProfessional,
                status: if granted { ConsentStatus::Granted } else { ConsentStatus::Pending },
                client_id: id,
                professional_id: Some(ids.counselor(workflow_professional_of(w, counselors))),
                workflow_id: ids.workflow(w),
                participation_id: participation,
                reason: "Follows the participants' progress".into(),
                access_days: Some(30),
                ends_at: None,
                requested_at: past(5),
                decided_at: granted.then(|| past(4)),
                granted_until: granted.then(|| now + Days::days(26)),
                warned_at: None,
                ended_at: None,
            });
        }

        for (n, kind) in [DossierEntryKind::Note, DossierEntryKind::Report].into_iter().enumerate() {
            t.entries.push(dossier_entry::Model {
                id: Uuid::now_v7(),
                client_id: id,
                kind,
                title: format!("Entry {n} of client {i}"),
                body: "Talked about the week; the plan stays as agreed.".into(),
                author_id: Some(counselor),
                trajectory_id: (n == 1).then_some(open),
                workflow_id: None,
                created_at: past(60 - n as i64),
            });
        }
        for n in 0..audit {
            t.audit.push(audit_event::Model {
                id: Uuid::now_v7(),
                occurred_at: past((n % 365) as i64),
                actor_id: Some(counselor),
                actor_role: Some(Role::Counselor),
                client_id: Some(id),
                action: AuditAction::Read,
                object_type: ["Client", "ContactDetails", "DossierEntry", "Trajectory", "Counselors"][n % 5].into(),
                object_id: None,
                basis: Some("CASELOAD".into()),
                grant_id: None,
                outcome: AuditOutcome::Success,
                request_id: None,
                emergency: false,
            });
        }
        for n in 0..2 {
            t.notifications.push(notification_row(id, n, n == 0, now));
        }

        let talk = Uuid::now_v7();
        t.conversations.push(conversation::Model { id: talk, group_id: None, created_by: id, created_at: past(30) });
        for user_id in [id, counselor] {
            t.participants.push(conversation_participant::Model { conversation_id: talk, user_id, added_at: past(30) });
        }
        for (n, sender_id) in [id, counselor].into_iter().enumerate() {
            t.messages.push(message::Model {
                id: Uuid::now_v7(),
                conversation_id: talk,
                sender_id,
                body: if n == 0 { "Can we move Thursday's appointment?".into() } else { "Friday at ten works.".into() },
                sent_at: past(30 - n as i64),
            });
        }
    }
    t.write(txn).await
}

/// The rows of one batch, in the order foreign keys need.
#[derive(Default)]
struct Tables {
    users: Vec<user::Model>,
    roles: Vec<user_role::Model>,
    contacts: Vec<client_contact::Model>,
    caseload: Vec<caseload_link::Model>,
    trajectories: Vec<trajectory::Model>,
    members: Vec<trajectory_member::Model>,
    tasks: Vec<task::Model>,
    delegations: Vec<delegation::Model>,
    groups: Vec<care_group::Model>,
    group_counselors: Vec<group_counselor::Model>,
    group_members: Vec<group_member::Model>,
    participations: Vec<participation::Model>,
    requests: Vec<consent_request::Model>,
    entries: Vec<dossier_entry::Model>,
    audit: Vec<audit_event::Model>,
    notifications: Vec<notification::Model>,
    conversations: Vec<conversation::Model>,
    participants: Vec<conversation_participant::Model>,
    messages: Vec<message::Model>,
}

impl Tables {
    async fn write(self, txn: &impl ConnectionTrait) -> Result<u64> {
        Ok(insert(txn, self.users).await?
            + insert(txn, self.roles).await?
            + insert(txn, self.contacts).await?
            + insert(txn, self.caseload).await?
            + insert(txn, self.trajectories).await?
            + insert(txn, self.members).await?
            + insert(txn, self.tasks).await?
            + insert(txn, self.delegations).await?
            + insert(txn, self.groups).await?
            + insert(txn, self.group_counselors).await?
            + insert(txn, self.group_members).await?
            + insert(txn, self.participations).await?
            + insert(txn, self.requests).await?
            + insert(txn, self.entries).await?
            + insert(txn, self.audit).await?
            + insert(txn, self.notifications).await?
            + insert(txn, self.conversations).await?
            + insert(txn, self.participants).await?
            + insert(txn, self.messages).await?)
    }
}

/// Inserts `rows` with multi-row statements small enough for either database's limit on bind
/// parameters (SQLite 32,766; PostgreSQL 65,535).
async fn insert<M, A>(txn: &impl ConnectionTrait, rows: Vec<M>) -> Result<u64>
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
    <A as ActiveModelTrait>::Entity: EntityTrait,
{
    let count = rows.len() as u64;
    let Some(columns) = rows.first().map(|_| <A::Entity as EntityTrait>::Column::iter().count()) else {
        return Ok(0);
    };
    let per_statement = (30_000 / columns.max(1)).clamp(1, 2_000);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).map(IntoActiveModel::into_active_model).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(count)
}

fn account(id: Uuid, org: Uuid, email: String, name: String, at: DateTime<Utc>, accepts: bool) -> user::Model {
    user::Model {
        id,
        organization_id: org,
        email,
        display_name: name,
        active: true,
        accepts_delegations: accepts,
        created_at: at,
    }
}

fn trajectory_row(
    id: Uuid,
    org: Uuid,
    client: Uuid,
    title: String,
    coach: Uuid,
    opened: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
) -> trajectory::Model {
    trajectory::Model {
        id,
        organization_id: org,
        client_id: client,
        title,
        kind: TrajectoryKind::General,
        status: if closed.is_some() { TrajectoryStatus::Closed } else { TrajectoryStatus::Open },
        protocol_id: None,
        primary_coach_id: Some(coach),
        program_id: None,
        parent_id: None,
        opened_at: opened,
        closed_at: closed,
    }
}

fn notification_row(recipient: Uuid, n: usize, unread: bool, now: DateTime<Utc>) -> notification::Model {
    notification::Model {
        id: Uuid::now_v7(),
        recipient_id: recipient,
        kind: NotificationKind::TaskCreated,
        title: format!("Something to look at ({n})"),
        client_id: None,
        consent_request_id: None,
        delegation_id: None,
        task_id: None,
        message_id: None,
        emergency_access_id: None,
        created_at: now - Days::hours(n as i64),
        read_at: (!unread).then_some(now),
    }
}

/// Ids made of a per-seed random prefix, the kind of row and its index, so that rows can refer
/// to each other without lookups while being written, and each kind's ids ascend (which
/// keeps inserts into the primary-key indexes local).
struct Ids {
    prefix: u64,
    organization: Uuid,
    provider_org: Uuid,
    project: Uuid,
}

/// The kinds of derived ids (the top 16 bits of the id's second half).
#[derive(Clone, Copy)]
enum Kind {
    Organization = 1,
    Provider,
    Project,
    Client,
    Counselor,
    Delegate,
    Group,
    Workflow,
    Trajectory,
}

impl Ids {
    fn new() -> Self {
        let prefix = Uuid::new_v4().as_u64_pair().0;
        let derive = |kind: Kind| Uuid::from_u64_pair(prefix, (kind as u64) << 48);
        Self {
            organization: derive(Kind::Organization),
            provider_org: derive(Kind::Provider),
            project: derive(Kind::Project),
            prefix,
        }
    }

    fn derive(&self, kind: Kind, n: usize) -> Uuid {
        Uuid::from_u64_pair(self.prefix, ((kind as u64) << 48) | n as u64)
    }

    fn client(&self, i: usize) -> Uuid {
        self.derive(Kind::Client, i)
    }

    fn counselor(&self, k: usize) -> Uuid {
        self.derive(Kind::Counselor, k)
    }

    fn delegate(&self, d: usize) -> Uuid {
        self.derive(Kind::Delegate, d)
    }

    fn group(&self, g: usize) -> Uuid {
        self.derive(Kind::Group, g)
    }

    fn workflow(&self, w: usize) -> Uuid {
        self.derive(Kind::Workflow, w)
    }

    fn trajectory(&self, i: usize, n: usize) -> Uuid {
        self.derive(Kind::Trajectory, i * 2 + n)
    }
}
