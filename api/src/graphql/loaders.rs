//! Per-request batch loaders, so that a list of N objects costs one query per related table,
//! not N. Created for each request: what they cache was loaded for one viewer.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use inzage_entity::{client_contact, organization, tool, user};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::Database;
use crate::domain::{accounts, care};
use crate::policy::RoleSet;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub roles: DataLoader<RoleLoader>,
    pub organizations: DataLoader<OrganizationLoader>,
    pub contacts: DataLoader<ContactLoader>,
    pub counselors: DataLoader<CounselorLoader>,
    pub tools: DataLoader<ToolLoader>,
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
