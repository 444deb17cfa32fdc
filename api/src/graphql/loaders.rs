//! Per-request batch loaders, so that a list of N objects costs one query per related table,
//! not N. Created for each request: what they cache was loaded for one viewer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use inzage_entity::{
    client_contact, consent_request, delegation, dossier_entry, notification, organization, program, project, protocol,
    provider, task, team, team_member, tool, tool_feedback, trajectory, trajectory_member, user, workflow,
    workflow_professional,
};
use sea_orm::{DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::Database;
use crate::domain::groups::VisibleGroup;
use crate::domain::{accounts, care, delegations, groups, teams, trajectories, workflows};
use crate::policy::RoleSet;

/// A loader that keeps what it loaded for the rest of a query operation (see [`Keep`]): a list
/// loads its items' rows into it with one query, and each item's field then finds them there,
/// so a field has one way of loading whether it is resolved in a list or alone.
pub type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub roles: DataLoader<RoleLoader>,
    pub organizations: DataLoader<OrganizationLoader>,
    pub member_roles: DataLoader<MemberRolesLoader>,
    /// The seal covering each access-log row (by the row's id).
    pub seals: DataLoader<SealLoader>,
    pub contacts: Cached<ContactLoader>,
    pub counselors: Cached<CounselorLoader>,
    pub tools: Cached<ToolLoader>,
    pub tool_feedback: DataLoader<ToolFeedbackLoader>,
    pub projects: DataLoader<ProjectLoader>,
    pub workflows: DataLoader<WorkflowLoader>,
    pub workflow_professionals: DataLoader<WorkflowProfessionalLoader>,
    pub consent_requests: DataLoader<ConsentRequestsLoader>,
    pub results: DataLoader<ResultsLoader>,
    pub trajectories: DataLoader<TrajectoryLoader>,
    pub protocols: DataLoader<ProtocolLoader>,
    pub providers: DataLoader<ProviderLoader>,
    pub program_rows: DataLoader<ProgramLoader>,
    pub trajectory_members: Cached<TrajectoryMembersLoader>,
    pub trajectory_teams: DataLoader<TrajectoryTeamsLoader>,
    pub team_members: Cached<TeamMembersLoader>,
    pub tasks: DataLoader<TasksLoader>,
    pub trajectory_delegations: DataLoader<TrajectoryDelegationsLoader>,
    pub provider_programs: DataLoader<ProviderProgramsLoader>,
    pub client_trajectories: Cached<ClientTrajectoriesLoader>,
    pub relatives: Cached<RelativesLoader>,
    pub group_counselors: Cached<GroupCounselorsLoader>,
    pub group_members: Cached<GroupMembersLoader>,
    /// The groups each client is in that the request's viewer may see (none without a viewer).
    pub client_groups: Cached<ClientGroupsLoader>,
    /// The viewer's bases per client, for this request.
    pub access: crate::access::AccessCache,
    /// Everyone sharing a conversation with the request's viewer, once asked (when kept).
    sharing: std::sync::Mutex<Option<Arc<HashSet<Uuid>>>>,
    keep: Keep,
    db: Database,
}

/// Whether an operation's loaders keep what they load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// For a query: it changes nothing and ends within the request, so what it loaded stays
    /// true for it, and a list can load its items' rows up front.
    ForTheOperation,
    /// For a mutation (whose payload must show what it wrote) and for a subscription or a
    /// WebSocket connection (which live for hours): loads are batched, never kept.
    Nothing,
}

impl Loaders {
    pub fn new(db: &Database, viewer: Option<Viewer>, keep: Keep) -> Self {
        Self {
            users: cached(UserLoader(db.clone()), keep),
            roles: DataLoader::new(RoleLoader(db.clone()), tokio::spawn),
            organizations: DataLoader::new(OrganizationLoader(db.clone()), tokio::spawn),
            member_roles: DataLoader::new(MemberRolesLoader(db.clone()), tokio::spawn),
            seals: DataLoader::new(SealLoader(db.clone()), tokio::spawn),
            contacts: cached(ContactLoader(db.clone()), keep),
            counselors: cached(CounselorLoader(db.clone()), keep),
            tools: cached(ToolLoader(db.clone()), keep),
            tool_feedback: DataLoader::new(ToolFeedbackLoader(db.clone()), tokio::spawn),
            projects: DataLoader::new(ProjectLoader(db.clone()), tokio::spawn),
            workflows: DataLoader::new(WorkflowLoader(db.clone()), tokio::spawn),
            workflow_professionals: DataLoader::new(WorkflowProfessionalLoader(db.clone()), tokio::spawn),
            consent_requests: DataLoader::new(ConsentRequestsLoader(db.clone()), tokio::spawn),
            results: DataLoader::new(ResultsLoader(db.clone()), tokio::spawn),
            trajectories: DataLoader::new(TrajectoryLoader(db.clone()), tokio::spawn),
            protocols: DataLoader::new(ProtocolLoader(db.clone()), tokio::spawn),
            providers: DataLoader::new(ProviderLoader(db.clone()), tokio::spawn),
            program_rows: DataLoader::new(ProgramLoader(db.clone()), tokio::spawn),
            trajectory_members: cached(TrajectoryMembersLoader(db.clone()), keep),
            trajectory_teams: DataLoader::new(TrajectoryTeamsLoader(db.clone()), tokio::spawn),
            team_members: cached(TeamMembersLoader(db.clone()), keep),
            tasks: DataLoader::new(TasksLoader(db.clone()), tokio::spawn),
            trajectory_delegations: DataLoader::new(TrajectoryDelegationsLoader(db.clone()), tokio::spawn),
            provider_programs: DataLoader::new(ProviderProgramsLoader(db.clone()), tokio::spawn),
            client_trajectories: cached(ClientTrajectoriesLoader(db.clone()), keep),
            relatives: cached(RelativesLoader(db.clone()), keep),
            group_counselors: cached(GroupCounselorsLoader(db.clone()), keep),
            group_members: cached(GroupMembersLoader(db.clone()), keep),
            client_groups: cached(ClientGroupsLoader(db.clone(), viewer), keep),
            access: crate::access::AccessCache::default(),
            sharing: std::sync::Mutex::new(None),
            keep,
            db: db.clone(),
        }
    }

    /// Whether these loaders keep what they load (so that loading a list's rows up front pays).
    pub fn keeps(&self) -> bool {
        self.keep == Keep::ForTheOperation
    }

    /// Everyone who shares a conversation with `viewer_id` (the request's viewer), loaded once
    /// when kept.
    pub async fn sharing_with(&self, viewer_id: Uuid) -> Result<Arc<HashSet<Uuid>>, Arc<DbErr>> {
        if let Some(found) = self.sharing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone() {
            return Ok(found);
        }
        let found = Arc::new(crate::domain::conversations::sharing_with(self.db.conn(), viewer_id).await?);
        if self.keeps() {
            *self.sharing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(found.clone());
        }
        Ok(found)
    }
}

/// A cached loader that keeps nothing unless `keep` says so.
fn cached<L: Loader<Uuid>>(loader: L, keep: Keep) -> Cached<L> {
    let loader = DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default());
    loader.enable_all_cache(keep == Keep::ForTheOperation);
    loader
}

/// A request's (or a WebSocket connection's) loaders, made on first use: most subscription
/// events never need them, and an idle connection should cost as little memory as possible.
pub struct LazyLoaders {
    db: Database,
    viewer: Option<Viewer>,
    keep: Keep,
    loaders: std::sync::OnceLock<Loaders>,
}

impl LazyLoaders {
    /// The loaders of an operation (or connection) of `viewer`.
    pub fn new(db: &Database, viewer: Option<Viewer>, keep: Keep) -> Self {
        Self { db: db.clone(), viewer, keep, loaders: std::sync::OnceLock::new() }
    }

    /// Fresh loaders for one operation of the same viewer, keeping what `keep` says.
    pub fn for_operation(&self, keep: Keep) -> Self {
        Self::new(&self.db, self.viewer.clone(), keep)
    }

    pub fn get(&self) -> &Loaders {
        self.loaders.get_or_init(|| Loaders::new(&self.db, self.viewer.clone(), self.keep))
    }
}

/// What live subscriptions load for each event, shared by every subscriber of this instance: it
/// keeps nothing (an event must see the database as it is when it arrives) and only batches, so
/// that one commit to a thousand subscribers reads their notifications and checks their
/// accounts in a few statements rather than one each.
pub struct LiveLoaders {
    /// A recipient's notifications after an id, oldest first, at most [`LIVE_PAGE`], by
    /// (recipient, id).
    pub notifications_after: DataLoader<NotificationsAfterLoader>,
    /// Active accounts with their roles, by id (absent when deactivated).
    pub subscribers: DataLoader<SubscriberLoader>,
}

impl LiveLoaders {
    pub fn new(db: &Database) -> Self {
        // A load waits a millisecond for others: the subscribers one commit wakes ask within it.
        Self {
            notifications_after: DataLoader::new(NotificationsAfterLoader(db.clone()), tokio::spawn)
                .delay(BATCH_WINDOW),
            subscribers: DataLoader::new(SubscriberLoader(db.clone()), tokio::spawn).delay(BATCH_WINDOW),
        }
    }
}

/// How long a live load waits for other subscribers' keys.
const BATCH_WINDOW: Duration = Duration::from_millis(1);

/// The most notifications one live read returns for one subscriber (it reads again when full).
pub const LIVE_PAGE: usize = 200;

/// Each recipient's notifications after an id (the last one their subscriber delivered).
pub struct NotificationsAfterLoader(Database);

impl Loader<(Uuid, Uuid)> for NotificationsAfterLoader {
    type Value = Vec<notification::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[(Uuid, Uuid)]) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        Ok(crate::domain::notifications::after_each(self.0.conn(), keys, LIVE_PAGE as u64).await?)
    }
}

/// Active accounts as viewers (with their roles) by id.
pub struct SubscriberLoader(Database);

impl Loader<Uuid> for SubscriberLoader {
    type Value = Viewer;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(crate::auth::load_viewers(self.0.conn(), keys).await?)
    }
}

/// Loads `ids` (repeats allowed) into `loader`'s cache in one call, so that a whole list is one
/// query and each item's own load then finds its rows there.
pub async fn warm<L>(
    loader: &Cached<L>,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, L::Value>, L::Error>
where
    L: Loader<Uuid>,
{
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    loader.load_many(ids).await
}

/// Loads every one of `ids` (repeats allowed) with one call of `loader`, and none when there are
/// none: for lists that know all the keys they need up front.
pub async fn load_all<L: Loader<Uuid>, C: async_graphql::dataloader::CacheFactory>(
    loader: &DataLoader<L, C>,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, L::Value>, L::Error> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    loader.loader().load(&ids).await
}

/// Accounts by id.
pub struct UserLoader(Database);

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.among(self.0.conn(), keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Roles by account id.
pub struct RoleLoader(Database);

impl Loader<Uuid> for RoleLoader {
    type Value = RoleSet;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(accounts::roles_of(self.0.conn(), keys).await?)
    }
}

/// Organisations by id.
pub struct OrganizationLoader(Database);

impl Loader<Uuid> for OrganizationLoader {
    type Value = organization::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.among(self.0.conn(), keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Contact details by client id. Loaders hold no rules: resolvers ask the policy first.
pub struct ContactLoader(Database);

impl Loader<Uuid> for ContactLoader {
    /// `None` for a client without contact details: every key gets an answer, so that the cache
    /// remembers there is none.
    type Value = Option<client_contact::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = client_contact::Entity::find()
            .filter(client_contact::Column::UserId.among(self.0.conn(), keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        let mut found: HashMap<Uuid, Self::Value> = keys.iter().map(|key| (*key, None)).collect();
        for row in rows {
            found.insert(row.user_id, Some(row));
        }
        Ok(found)
    }
}

/// Everyone shown to each client as their counselor (see [`care::shown_counselors`]).
pub struct CounselorLoader(Database);

impl Loader<Uuid> for CounselorLoader {
    type Value = Vec<user::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        // Every key gets a list, empty or not, so that the cache remembers an empty one.
        let mut grouped: HashMap<Uuid, Vec<user::Model>> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for (client, counselor) in care::shown_counselors(self.0.conn(), keys).await? {
            grouped.entry(client).or_default().push(counselor);
        }
        Ok(grouped)
    }
}

/// The tools each account owns.
pub struct ToolLoader(Database);

impl Loader<Uuid> for ToolLoader {
    type Value = Vec<tool::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut grouped: HashMap<Uuid, Vec<tool::Model>> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for tool in care::tools_of(self.0.conn(), keys).await? {
            grouped.entry(tool.owner_id).or_default().push(tool);
        }
        Ok(grouped)
    }
}

/// Projects by id.
pub struct ProjectLoader(Database);

impl Loader<Uuid> for ProjectLoader {
    type Value = project::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = project::Entity::find()
            .filter(project::Column::Id.among(self.0.conn(), keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Workflows by id.
pub struct WorkflowLoader(Database);

impl Loader<Uuid> for WorkflowLoader {
    type Value = workflow::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = workflow::Entity::find()
            .filter(workflow::Column::Id.among(self.0.conn(), keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// The professionals of each workflow.
pub struct WorkflowProfessionalLoader(Database);

impl Loader<Uuid> for WorkflowProfessionalLoader {
    type Value = Vec<workflow_professional::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in workflows::professionals_of(self.0.conn(), keys).await? {
            grouped.entry(row.workflow_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The consent requests of each participation (all of them: resolvers keep what the viewer
/// sees).
pub struct ConsentRequestsLoader(Database);

impl Loader<Uuid> for ConsentRequestsLoader {
    type Value = Vec<consent_request::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in workflows::requests_of(self.0.conn(), keys).await? {
            grouped.entry(row.participation_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// RESULT entries by (workflow, participant). Loaders hold no rules: resolvers ask the policy.
pub struct ResultsLoader(Database);

impl Loader<(Uuid, Uuid)> for ResultsLoader {
    type Value = Vec<dossier_entry::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[(Uuid, Uuid)]) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut grouped: HashMap<(Uuid, Uuid), Self::Value> = HashMap::new();
        for row in workflows::results_of(self.0.conn(), keys).await? {
            if let Some(workflow) = row.workflow_id {
                grouped.entry((workflow, row.client_id)).or_default().push(row);
            }
        }
        Ok(grouped)
    }
}

/// A loader of rows by their id.
macro_rules! by_id {
    ($name:ident, $entity:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(Database);

        impl Loader<Uuid> for $name {
            type Value = $entity::Model;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::Id.among(self.0.conn(), keys.iter().copied()))
                    .all(self.0.conn())
                    .await?;
                Ok(rows.into_iter().map(|row| (row.id, row)).collect())
            }
        }
    };
}

/// A loader of the rows belonging to each key, from a query for all keys at once that returns
/// `(key, row)` pairs in order.
macro_rules! grouped {
    ($name:ident, $value:ty, $doc:literal, |$db:ident, $keys:ident| $query:expr) => {
        #[doc = $doc]
        pub struct $name(Database);

        impl Loader<Uuid> for $name {
            type Value = Vec<$value>;
            type Error = Arc<DbErr>;

            async fn load(&self, $keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let $db = self.0.conn();
                // Every key gets a list, empty or not, so that a cache remembers an empty one.
                let mut grouped: HashMap<Uuid, Self::Value> = $keys.iter().map(|key| (*key, Vec::new())).collect();
                for (key, row) in $query {
                    grouped.entry(key).or_default().push(row);
                }
                Ok(grouped)
            }
        }
    };
}

by_id!(TrajectoryLoader, trajectory, "Trajectories by id.");
by_id!(ProtocolLoader, protocol, "Protocols by id.");
by_id!(ProviderLoader, provider, "Providers by id.");
by_id!(ProgramLoader, program, "Programs by id.");

grouped!(TrajectoryMembersLoader, trajectory_member::Model, "The members of each trajectory.", |db, keys| {
    trajectories::members_of(db, keys).await?.into_iter().map(|m| (m.trajectory_id, m))
});
grouped!(TrajectoryTeamsLoader, team::Model, "The teams assigned to each trajectory.", |db, keys| {
    trajectories::teams_of(db, keys).await?
});
grouped!(TeamMembersLoader, team_member::Model, "The members of each team.", |db, keys| {
    trajectories::team_members_of(db, keys).await?.into_iter().map(|m| (m.team_id, m))
});
grouped!(TasksLoader, task::Model, "The tasks of each trajectory.", |db, keys| {
    trajectories::tasks_of(db, keys).await?.into_iter().map(|t| (t.trajectory_id, t))
});
grouped!(TrajectoryDelegationsLoader, delegation::Model, "The delegations of each trajectory.", |db, keys| {
    delegations::of_trajectories(db, keys).await?.into_iter().filter_map(|d| d.trajectory_id.map(|t| (t, d)))
});
grouped!(ProviderProgramsLoader, program::Model, "The programs of each provider.", |db, keys| {
    delegations::programs_of(db, keys).await?.into_iter().map(|p| (p.provider_id, p))
});
grouped!(ClientTrajectoriesLoader, trajectory::Model, "The trajectories of each client, newest first.", |db, keys| {
    trajectories::of_clients(db, keys).await?.into_iter().map(|t| (t.client_id, t))
});
grouped!(RelativesLoader, user::Model, "The relatives each client added.", |db, keys| {
    care::relatives_of(db, keys).await?
});
grouped!(GroupCounselorsLoader, user::Model, "The counselors of each group.", |db, keys| {
    groups::counselors_of(db, keys).await?.into_iter().flat_map(|(g, users)| users.into_iter().map(move |u| (g, u)))
});
grouped!(ToolFeedbackLoader, tool_feedback::Model, "The feedback on each tool, oldest first.", |db, keys| {
    care::feedback_on(db, keys).await?.into_iter().map(|f| (f.tool_id, f))
});

grouped!(GroupMembersLoader, user::Model, "The members of each group.", |db, keys| {
    groups::members_of(db, keys).await?.into_iter().flat_map(|(g, users)| users.into_iter().map(move |u| (g, u)))
});

/// The groups each client is in that the viewer may see, oldest first.
pub struct ClientGroupsLoader(Database, Option<Viewer>);

impl Loader<Uuid> for ClientGroupsLoader {
    type Value = Vec<VisibleGroup>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut found: HashMap<Uuid, Self::Value> = keys.iter().map(|key| (*key, Vec::new())).collect();
        if let Some(viewer) = &self.1 {
            found.extend(groups::of_clients(self.0.conn(), viewer, keys).await?);
        }
        Ok(found)
    }
}

/// The member roles of each organisation (its own list, or the defaults).
pub struct MemberRolesLoader(Database);

impl Loader<Uuid> for MemberRolesLoader {
    type Value = Vec<String>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(teams::member_roles_of(self.0.conn(), keys).await?.into_iter().collect())
    }
}

/// The seal covering each access-log row, by the row's id (rows not sealed yet have none).
pub struct SealLoader(Database);

impl Loader<Uuid> for SealLoader {
    type Value = crate::sealing::Seal;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(crate::sealing::covering(self.0.conn(), keys).await?)
    }
}
