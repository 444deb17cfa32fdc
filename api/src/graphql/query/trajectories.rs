use async_graphql::{Context, ID, Object};

use crate::domain::{delegations, trajectories};
use crate::error::FieldResult;
use crate::graphql::guard;
use crate::graphql::types::trajectories::{Program, Provider, Team, Trajectory};
use crate::graphql::{ContextExt, parse_id};

#[derive(Default)]
pub struct TrajectoryQuery;

#[Object]
impl TrajectoryQuery {
    /// A trajectory the viewer may see (through the client, or by working in it); null with
    /// NOT_FOUND otherwise.
    async fn trajectory(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Trajectory>> {
        let op = ctx.operation()?;
        let id = parse_id(&id, "id")?;
        let found = trajectories::find(ctx.app().db.conn(), &op, id).await?;
        guard::trajectory(ctx, &found.client)?;
        Ok(Some(Trajectory::new(found.model, found.client)))
    }

    /// A team of the viewer's organisation; null with NOT_FOUND otherwise.
    async fn team(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Team>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(Team(trajectories::find_team(ctx.app().db.conn(), viewer, id).await?)))
    }

    /// A provider of the viewer's organisation; null with NOT_FOUND otherwise.
    async fn provider(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Provider>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(Provider(delegations::find_provider(ctx.app().db.conn(), viewer, id).await?)))
    }

    /// A program of the viewer's organisation; null with NOT_FOUND otherwise.
    async fn program(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Program>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(Program(delegations::find_program(ctx.app().db.conn(), viewer, id).await?)))
    }
}
