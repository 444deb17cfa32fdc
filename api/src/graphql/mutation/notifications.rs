use async_graphql::{Context, ID, Object};

use crate::domain::notifications;
use crate::error::FieldResult;
use crate::graphql::{ContextExt, parse_ids};

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks the viewer's own notifications read; returns how many changed.
    async fn mark_notifications_read(&self, ctx: &Context<'_>, ids: Vec<ID>) -> FieldResult<i32> {
        let op = ctx.operation()?;
        let ids = parse_ids(&ids, "ids")?;
        let changed = notifications::mark_read(&ctx.app().db, op.viewer.user_id, &ids, op.now).await?;
        Ok(i32::try_from(changed).unwrap_or(i32::MAX))
    }
}
