//! Emergency access.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use inzage_entity::emergency_access;

use super::accounts::User;
use super::client::Client;
use crate::access::ClientAccess;
use crate::error::{ApiError, FieldResult};
use crate::graphql::ContextExt;

/// A broken glass: time-boxed access to a client outside the viewer's caseload.
pub struct EmergencyAccess {
    pub model: emergency_access::Model,
    pub client: ClientAccess,
}

#[Object]
impl EmergencyAccess {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn client(&self) -> Client {
        Client::from(self.client.clone())
    }

    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.model.user_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("emergency access without user"))?))
    }

    async fn reason(&self) -> &str {
        &self.model.reason
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        self.model.starts_at
    }

    async fn ends_at(&self) -> DateTime<Utc> {
        self.model.ends_at
    }
}
