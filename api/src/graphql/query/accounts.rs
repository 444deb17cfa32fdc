use async_graphql::{Context, ID, Object};

use crate::domain::accounts;
use crate::error::FieldResult;
use crate::graphql::types::accounts::{User, Viewer};
use crate::graphql::{ContextExt, parse_id};

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The authenticated user.
    async fn viewer(&self, ctx: &Context<'_>) -> FieldResult<Viewer> {
        Ok(Viewer(ctx.viewer()?.clone()))
    }

    /// An account the viewer may see; null with NOT_FOUND otherwise.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<User>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(User(accounts::find_visible(ctx.app().db.conn(), viewer, id).await?)))
    }
}
