use async_graphql::{Context, ID, Object};

use crate::domain::{delegations, teams, trajectories};
use crate::error::FieldResult;
use crate::graphql::enums::TrajectoryKind;
use crate::graphql::types::trajectories::{Program, Protocol, Provider, Team, Trajectory};
use crate::graphql::{ContextExt, parse_id};
use crate::graphql::{guard, prefetch};

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
        Ok(Some(Team(teams::find(ctx.app().db.conn(), viewer, id).await?)))
    }

    /// The organisation's trajectory teams, by name (for its professionals; empty for others).
    async fn teams(&self, ctx: &Context<'_>) -> FieldResult<Vec<Team>> {
        let viewer = ctx.viewer()?;
        let rows = teams::of_organization(ctx.app().db.conn(), viewer).await?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|team| team.id).collect();
        prefetch::teams(ctx, &ids, &[ctx.look_ahead()]).await?;
        Ok(rows.into_iter().map(Team).collect())
    }

    /// The organisation's protocols, of one kind when given, by name (for its professionals;
    /// empty for others).
    async fn protocols(&self, ctx: &Context<'_>, kind: Option<TrajectoryKind>) -> FieldResult<Vec<Protocol>> {
        let viewer = ctx.viewer()?;
        let rows = teams::protocols(ctx.app().db.conn(), viewer, kind.map(Into::into)).await?;
        Ok(rows.into_iter().map(Protocol).collect())
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
