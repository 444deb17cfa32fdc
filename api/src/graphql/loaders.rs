//! Per-request batch loaders, so that a list of N objects costs one query per related table,
//! not N. Created for each request: what they cache was loaded for one viewer.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use inzage_entity::{
    client_contact, consent_request, delegation, dossier_entry, organization, program, project, protocol, provider,
    task, team, team_member, tool, trajectory, trajectory_member, user, workflow, workflow_professional,
};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::Database;
use crate::domain::{accounts, care, delegations, groups, trajectories, workflows};
use crate::policy::RoleSet;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub roles: DataLoader<RoleLoader>,
    pub organizations: DataLoader<OrganizationLoader>,
    pub contacts: DataLoader<ContactLoader>,
    pub counselors: DataLoader<CounselorLoader>,
    pub tools: DataLoader<ToolLoader>,
    pub projects: DataLoader<ProjectLoader>,
    pub workflows: DataLoader<WorkflowLoader>,
    pub workflow_professionals: DataLoader<WorkflowProfessionalLoader>,
    pub consent_requests: DataLoader<ConsentRequestsLoader>,
    pub results: DataLoader<ResultsLoader>,
    pub trajectories: DataLoader<TrajectoryLoader>,
    pub protocols: DataLoader<ProtocolLoader>,
    pub providers: DataLoader<ProviderLoader>,
    pub program_rows: DataLoader<ProgramLoader>,
    pub trajectory_members: DataLoader<TrajectoryMembersLoader>,
    pub trajectory_teams: DataLoader<TrajectoryTeamsLoader>,
    pub team_members: DataLoader<TeamMembersLoader>,
    pub tasks: DataLoader<TasksLoader>,
    pub trajectory_delegations: DataLoader<TrajectoryDelegationsLoader>,
    pub provider_programs: DataLoader<ProviderProgramsLoader>,
    pub client_trajectories: DataLoader<ClientTrajectoriesLoader>,
    pub relatives: DataLoader<RelativesLoader>,
    pub group_counselors: DataLoader<GroupCounselorsLoader>,
    pub group_members: DataLoader<GroupMembersLoader>,
    /// The viewer's bases per client, for this request.
    pub access: crate::access::AccessCache,
}

impl Loaders {
    pub fn new(db: &Database) -> Self {
        Self {
            users: DataLoader::new(UserLoader(db.clone()), tokio::spawn),
            roles: DataLoader::new(RoleLoader(db.clone()), tokio::spawn),
            organizations: DataLoader::new(OrganizationLoader(db.clone()), tokio::spawn),
            contacts: DataLoader::new(ContactLoader(db.clone()), tokio::spawn),
            counselors: DataLoader::new(CounselorLoader(db.clone()), tokio::spawn),
            tools: DataLoader::new(ToolLoader(db.clone()), tokio::spawn),
            projects: DataLoader::new(ProjectLoader(db.clone()), tokio::spawn),
            workflows: DataLoader::new(WorkflowLoader(db.clone()), tokio::spawn),
            workflow_professionals: DataLoader::new(WorkflowProfessionalLoader(db.clone()), tokio::spawn),
            consent_requests: DataLoader::new(ConsentRequestsLoader(db.clone()), tokio::spawn),
            results: DataLoader::new(ResultsLoader(db.clone()), tokio::spawn),
            trajectories: DataLoader::new(TrajectoryLoader(db.clone()), tokio::spawn),
            protocols: DataLoader::new(ProtocolLoader(db.clone()), tokio::spawn),
            providers: DataLoader::new(ProviderLoader(db.clone()), tokio::spawn),
            program_rows: DataLoader::new(ProgramLoader(db.clone()), tokio::spawn),
            trajectory_members: DataLoader::new(TrajectoryMembersLoader(db.clone()), tokio::spawn),
            trajectory_teams: DataLoader::new(TrajectoryTeamsLoader(db.clone()), tokio::spawn),
            team_members: DataLoader::new(TeamMembersLoader(db.clone()), tokio::spawn),
            tasks: DataLoader::new(TasksLoader(db.clone()), tokio::spawn),
            trajectory_delegations: DataLoader::new(TrajectoryDelegationsLoader(db.clone()), tokio::spawn),
            provider_programs: DataLoader::new(ProviderProgramsLoader(db.clone()), tokio::spawn),
            client_trajectories: DataLoader::new(ClientTrajectoriesLoader(db.clone()), tokio::spawn),
            relatives: DataLoader::new(RelativesLoader(db.clone()), tokio::spawn),
            group_counselors: DataLoader::new(GroupCounselorsLoader(db.clone()), tokio::spawn),
            group_members: DataLoader::new(GroupMembersLoader(db.clone()), tokio::spawn),
            access: crate::access::AccessCache::default(),
        }
    }
}

/// A request's (or a WebSocket connection's) loaders, made on first use: most subscription
/// events never need them, and an idle connection should cost as little memory as possible.
pub struct LazyLoaders {
    db: Database,
    loaders: std::sync::OnceLock<Loaders>,
}

impl LazyLoaders {
    pub fn new(db: &Database) -> Self {
        Self { db: db.clone(), loaders: std::sync::OnceLock::new() }
    }

    pub fn get(&self) -> &Loaders {
        self.loaders.get_or_init(|| Loaders::new(&self.db))
    }
}

/// Loads every one of `ids` (repeats allowed) with one call of `loader`, and none when there are
/// none: for lists that know all the keys they need up front.
pub async fn load_all<L: Loader<Uuid>>(
    loader: &DataLoader<L>,
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
        let rows = user::Entity::find().filter(user::Column::Id.is_in(keys.iter().copied())).all(self.0.conn()).await?;
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
            .filter(organization::Column::Id.is_in(keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Contact details by client id. Loaders hold no rules: resolvers ask the policy first.
pub struct ContactLoader(Database);

impl Loader<Uuid> for ContactLoader {
    type Value = client_contact::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = client_contact::Entity::find()
            .filter(client_contact::Column::UserId.is_in(keys.iter().copied()))
            .all(self.0.conn())
            .await?;
        Ok(rows.into_iter().map(|row| (row.user_id, row)).collect())
    }
}

/// The active counselors linked to each client.
pub struct CounselorLoader(Database);

impl Loader<Uuid> for CounselorLoader {
    type Value = Vec<user::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let db = self.0.conn();
        let mut grouped: HashMap<Uuid, Vec<user::Model>> = HashMap::new();
        for (client, counselor) in care::counselors_of(db, keys).await? {
            grouped.entry(client).or_default().push(counselor);
        }
        // Primary coaches and members of open trajectories, and counselors of groups the client
        // knows of, are shown as counselors too.
        let mut coaches = trajectories::coaches_of(db, keys).await?;
        coaches.extend(groups::visible_counselors_of(db, keys).await?);
        let ids: Vec<Uuid> = coaches.iter().map(|(_, user)| *user).collect();
        let users: HashMap<Uuid, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .filter(user::Column::Active.eq(true))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        for (client, user_id) in coaches {
            let list = grouped.entry(client).or_default();
            if let Some(user) = users.get(&user_id).filter(|u| list.iter().all(|c| c.id != u.id)) {
                list.push(user.clone());
            }
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
        let mut grouped: HashMap<Uuid, Vec<tool::Model>> = HashMap::new();
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
        let rows =
            project::Entity::find().filter(project::Column::Id.is_in(keys.iter().copied())).all(self.0.conn()).await?;
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
            .filter(workflow::Column::Id.is_in(keys.iter().copied()))
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
                    .filter($entity::Column::Id.is_in(keys.iter().copied()))
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
                let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
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
grouped!(GroupMembersLoader, user::Model, "The members of each group.", |db, keys| {
    groups::members_of(db, keys).await?.into_iter().flat_map(|(g, users)| users.into_iter().map(move |u| (g, u)))
});
