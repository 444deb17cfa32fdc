//! Registrations, as the organisation's secretaries process them.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use inzage_entity::registration;

use super::accounts::User;
use super::client::Client;
use crate::error::FieldResult;
use crate::graphql::ContextExt;
use crate::graphql::enums::RegistrationStatus;

/// Someone who signed up with the organisation.
pub struct Registration(pub registration::Model);

#[Object]
impl Registration {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn birth_date(&self) -> Option<String> {
        self.0.birth_date.map(|date| date.format("%Y-%m-%d").to_string())
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn status(&self) -> RegistrationStatus {
        self.0.status.into()
    }

    async fn submitted_at(&self) -> DateTime<Utc> {
        self.0.submitted_at
    }

    async fn processed_at(&self) -> Option<DateTime<Utc>> {
        self.0.processed_at
    }

    async fn processed_by(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(id) = self.0.processed_by else { return Ok(None) };
        Ok(ctx.loaders().users.load_one(id).await?.map(User))
    }

    /// Why it was rejected.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The CLIENT account made from an ACCEPTED registration (as the viewer may see it).
    async fn client(&self, ctx: &Context<'_>) -> FieldResult<Option<Client>> {
        let Some(id) = self.0.client_id else { return Ok(None) };
        let op = ctx.operation()?;
        let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &[id]).await?.remove(&id);
        Ok(found.filter(|client| !client.access.bases.is_empty()).map(Client::from))
    }
}

/// The same answer whatever the input's relation to existing accounts or registrations.
#[derive(SimpleObject)]
pub struct RegistrationReceipt {
    pub received: bool,
}
