//! Per-request batch loaders, so that a list of N objects costs one query per related table,
//! not N. Created for each request: what they cache was loaded for one viewer.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use inzage_entity::{
    client_contact, consent_request, dossier_entry, organization, project, tool, user, workflow, workflow_professional,
};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::Database;
use crate::domain::{accounts, care, workflows};
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
            access: crate::access::AccessCache::default(),
        }
    }
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
        let mut grouped: HashMap<Uuid, Vec<user::Model>> = HashMap::new();
        for (client, counselor) in care::counselors_of(self.0.conn(), keys).await? {
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
