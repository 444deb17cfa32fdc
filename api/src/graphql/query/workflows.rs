use async_graphql::{Context, ID, Object};

use crate::domain::workflows;
use crate::error::FieldResult;
use crate::graphql::types::workflows::{Project, Workflow};
use crate::graphql::{ContextExt, parse_id};

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    /// A project of the viewer's organisation; null with NOT_FOUND otherwise.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Project>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(Project(workflows::find_project(ctx.app().db.conn(), viewer, id).await?)))
    }

    /// A workflow of the viewer's organisation, or one they take part in; null with NOT_FOUND
    /// otherwise.
    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Workflow>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        let (workflow, _) = workflows::find_workflow(ctx.app().db.conn(), viewer, id).await?;
        Ok(Some(Workflow(workflow)))
    }
}
