//! Notifications: what a person must know or act on.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use inzage_entity::notification;

use super::client::Client;
use super::emergency::EmergencyAccess;
use super::groups::Message;
use super::trajectories::{Delegation, Task, with_clients};
use super::workflows::{ConsentRequest, consent_requests};
use crate::domain::{conversations, delegations, emergency, trajectories, workflows};
use crate::error::FieldResult;
use crate::graphql::ContextExt;
use crate::graphql::enums::NotificationKind;

/// One of the viewer's notifications.
pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }

    /// The client it concerns, as a name-only reference: other fields still need a basis.
    async fn client(&self, ctx: &Context<'_>) -> FieldResult<Option<Client>> {
        let Some(client_id) = self.0.client_id else { return Ok(None) };
        let op = ctx.operation()?;
        let mut found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &[client_id]).await?;
        Ok(found.remove(&client_id).map(Client::from))
    }

    async fn consent_request(&self, ctx: &Context<'_>) -> FieldResult<Option<ConsentRequest>> {
        let Some(id) = self.0.consent_request_id else { return Ok(None) };
        let viewer = ctx.viewer()?;
        let rows = workflows::find_requests(ctx.app().db.conn(), &[id]).await?;
        let rows = rows.into_iter().filter(|r| workflows::is_visible(viewer, r)).collect();
        Ok(consent_requests(ctx, rows).await?.pop())
    }

    /// The delegation it concerns, when the viewer is its delegate.
    async fn delegation(&self, ctx: &Context<'_>) -> FieldResult<Option<Delegation>> {
        let Some(id) = self.0.delegation_id else { return Ok(None) };
        let viewer = ctx.viewer()?;
        let rows = delegations::find_many(ctx.app().db.conn(), &[id]).await?;
        let rows: Vec<_> = rows.into_iter().filter(|d| delegations::is_held_by(viewer, d)).collect();
        let mut found = with_clients(ctx, rows, |d| d.client_id).await?;
        Ok(found.pop().map(|(model, client)| Delegation { model, client }))
    }

    /// The task it announces, while the viewer may see its trajectory.
    async fn task(&self, ctx: &Context<'_>) -> FieldResult<Option<Task>> {
        let Some(id) = self.0.task_id else { return Ok(None) };
        let op = ctx.operation()?;
        match trajectories::find_task(ctx.app().db.conn(), &op, id).await {
            Ok((model, trajectory)) => Ok(Some(Task { model, trajectory: Some(trajectory.model), client: None })),
            Err(crate::error::ApiError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    async fn message(&self, ctx: &Context<'_>) -> FieldResult<Option<Message>> {
        let Some(id) = self.0.message_id else { return Ok(None) };
        let viewer = ctx.viewer()?;
        Ok(conversations::find_message(ctx.app().db.conn(), viewer, id).await?.map(Message::from))
    }

    async fn emergency_access(&self, ctx: &Context<'_>) -> FieldResult<Option<EmergencyAccess>> {
        let Some(id) = self.0.emergency_access_id else { return Ok(None) };
        let op = ctx.operation()?;
        let Some(model) = emergency::find(ctx.app().db.conn(), id).await? else { return Ok(None) };
        let mut found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &[model.client_id]).await?;
        let client = found.remove(&model.client_id);
        Ok(client.map(|client| EmergencyAccess { model, client }))
    }
}
