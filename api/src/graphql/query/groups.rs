use async_graphql::{Context, ID, Object};

use crate::domain::groups;
use crate::error::FieldResult;
use crate::graphql::types::groups::Group;
use crate::graphql::{ContextExt, parse_id};

#[derive(Default)]
pub struct GroupQuery;

#[Object]
impl GroupQuery {
    /// A group that exists for the viewer; null with NOT_FOUND otherwise (members of an
    /// INVISIBLE group included).
    async fn group(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Group>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(Group::from(groups::find(ctx.app().db.conn(), viewer, id).await?)))
    }
}
