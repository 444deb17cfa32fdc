use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::domain::delegations;
use crate::domain::trajectories::{self, NewTrajectory};
use crate::domain::values::DisplayName;
use crate::error::FieldResult;
use crate::graphql::enums::{ExecutorMode, TrajectoryKind};
use crate::graphql::types::accounts::Organization;
use crate::graphql::types::trajectories::{
    Delegation, InterventionStart, Program, Protocol, Provider, Trajectory, with_clients,
};
use crate::graphql::{ContextExt, parse_id};

#[derive(InputObject)]
pub struct OpenTrajectoryInput {
    pub client_id: ID,
    pub title: String,
    #[graphql(default_with = "Some(TrajectoryKind::General)")]
    pub kind: Option<TrajectoryKind>,
    pub protocol_id: Option<ID>,
    pub primary_coach_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateProviderInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct CreateProgramInput {
    pub provider_id: ID,
    pub name: String,
}

#[derive(InputObject)]
pub struct CreateProtocolInput {
    pub name: String,
    pub kind: TrajectoryKind,
}

fn optional_id(id: Option<&ID>, field: &str) -> crate::error::ApiResult<Option<uuid::Uuid>> {
    id.map(|id| parse_id(id, field)).transpose()
}

/// The trajectory after a change, as the viewer now sees it.
async fn trajectory(ctx: &Context<'_>, model: inzage_entity::trajectory::Model) -> FieldResult<Trajectory> {
    let mut found = with_clients(ctx, vec![model], |t| t.client_id).await?;
    let (model, client) = found.pop().ok_or_else(|| crate::error::ApiError::internal("trajectory vanished"))?;
    Ok(Trajectory::new(model, client))
}

#[derive(Default)]
pub struct TrajectoryMutation;

#[Object]
impl TrajectoryMutation {
    /// By an ADMINISTRATOR.
    async fn create_protocol(&self, ctx: &Context<'_>, input: CreateProtocolInput) -> FieldResult<Protocol> {
        let op = ctx.operation()?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        Ok(Protocol(trajectories::create_protocol(&ctx.app().db, &op, name, input.kind.into()).await?))
    }

    /// By a counselor with the client in their caseload, or a secretary. The primary coach
    /// defaults to the caller when they are a counselor.
    async fn open_trajectory(&self, ctx: &Context<'_>, input: OpenTrajectoryInput) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let new = NewTrajectory {
            client_id: parse_id(&input.client_id, "input.clientId")?,
            title: DisplayName::parse(&input.title).map_err(|e| e.at("input.title"))?,
            kind: input.kind.unwrap_or(TrajectoryKind::General).into(),
            protocol_id: optional_id(input.protocol_id.as_ref(), "input.protocolId")?,
            primary_coach_id: optional_id(input.primary_coach_id.as_ref(), "input.primaryCoachId")?,
        };
        let model = trajectories::open(&ctx.app().db, &op, new).await?;
        trajectory(ctx, model).await
    }

    /// By the primary coach, a member, or a counselor with the client in their caseload.
    async fn add_trajectory_member(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        user_id: ID,
        role: String,
    ) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let trajectory_id = parse_id(&trajectory_id, "trajectoryId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let role = trajectories::parse_role(&role).map_err(|e| e.at("role"))?;
        let model = trajectories::add_member(&ctx.app().db, &op, trajectory_id, user_id, role).await?;
        trajectory(ctx, model).await
    }

    async fn remove_trajectory_member(
        &self,
        ctx: &Context<'_>,
        trajectory_id: ID,
        user_id: ID,
    ) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let trajectory_id = parse_id(&trajectory_id, "trajectoryId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let model = trajectories::remove_member(&ctx.app().db, &op, trajectory_id, user_id).await?;
        trajectory(ctx, model).await
    }

    /// By whoever may add members to the trajectory.
    async fn assign_team(&self, ctx: &Context<'_>, trajectory_id: ID, team_id: ID) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let trajectory_id = parse_id(&trajectory_id, "trajectoryId")?;
        let team_id = parse_id(&team_id, "teamId")?;
        let model = trajectories::assign_team(&ctx.app().db, &op, trajectory_id, team_id).await?;
        trajectory(ctx, model).await
    }

    /// By whoever may assign teams to the trajectory: the team's members lose their TEAM access
    /// through it at once.
    async fn unassign_team(&self, ctx: &Context<'_>, trajectory_id: ID, team_id: ID) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let trajectory_id = parse_id(&trajectory_id, "trajectoryId")?;
        let team_id = parse_id(&team_id, "teamId")?;
        let model = trajectories::unassign_team(&ctx.app().db, &op, trajectory_id, team_id).await?;
        trajectory(ctx, model).await
    }

    /// Ends the rights of those who work in it, and the delegations it carries.
    async fn close_trajectory(&self, ctx: &Context<'_>, trajectory_id: ID) -> FieldResult<Trajectory> {
        let op = ctx.operation()?;
        let trajectory_id = parse_id(&trajectory_id, "trajectoryId")?;
        let model = trajectories::close(&ctx.app().db, &op, trajectory_id).await?;
        trajectory(ctx, model).await
    }

    /// By an ADMINISTRATOR.
    async fn create_provider(&self, ctx: &Context<'_>, input: CreateProviderInput) -> FieldResult<Provider> {
        let op = ctx.operation()?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        Ok(Provider(delegations::create_provider(&ctx.app().db, &op, name).await?))
    }

    /// By an ADMINISTRATOR; the program inherits the provider's executor.
    async fn create_program(&self, ctx: &Context<'_>, input: CreateProgramInput) -> FieldResult<Program> {
        let op = ctx.operation()?;
        let provider_id = parse_id(&input.provider_id, "input.providerId")?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        Ok(Program(delegations::create_program(&ctx.app().db, &op, provider_id, name).await?))
    }

    /// By an ADMINISTRATOR who may see the current executor; the user must accept delegations.
    async fn set_provider_default_executor(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        user_id: Option<ID>,
    ) -> FieldResult<Provider> {
        let op = ctx.operation()?;
        let provider_id = parse_id(&provider_id, "providerId")?;
        let user_id = optional_id(user_id.as_ref(), "userId")?;
        Ok(Provider(delegations::set_provider_executor(&ctx.app().db, &op, provider_id, user_id).await?))
    }

    /// INHERIT (no user) or OWN (the program's own executor; none without a user).
    async fn set_program_executor(
        &self,
        ctx: &Context<'_>,
        program_id: ID,
        mode: ExecutorMode,
        user_id: Option<ID>,
    ) -> FieldResult<Program> {
        let op = ctx.operation()?;
        let program_id = parse_id(&program_id, "programId")?;
        let user_id = optional_id(user_id.as_ref(), "userId")?;
        let db = &ctx.app().db;
        Ok(Program(delegations::set_program_executor(db, &op, program_id, mode.into(), user_id).await?))
    }

    /// By an ADMINISTRATOR: an INTERVENTION_GUIDANCE protocol of the organisation, or none.
    async fn set_guidance_protocol(&self, ctx: &Context<'_>, protocol_id: Option<ID>) -> FieldResult<Organization> {
        let op = ctx.operation()?;
        let protocol_id = optional_id(protocol_id.as_ref(), "protocolId")?;
        Ok(Organization(delegations::set_guidance_protocol(&ctx.app().db, &op, protocol_id).await?))
    }

    /// Completes a CONFIRM_INTERVENTION task with a program, in one transaction.
    async fn confirm_intervention(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        program_id: ID,
    ) -> FieldResult<InterventionStart> {
        let op = ctx.operation()?;
        let task_id = parse_id(&task_id, "taskId")?;
        let program_id = parse_id(&program_id, "programId")?;
        Ok(InterventionStart(delegations::confirm_intervention(&ctx.app().db, &op, task_id, program_id).await?))
    }

    /// Completes a DELEGATE_DOSSIER task with a user who accepts delegations.
    async fn delegate_dossier(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        user_id: ID,
        ends_at: Option<DateTime<Utc>>,
    ) -> FieldResult<Delegation> {
        let op = ctx.operation()?;
        let task_id = parse_id(&task_id, "taskId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let model = delegations::delegate_dossier(&ctx.app().db, &op, task_id, user_id, ends_at).await?;
        delegation(ctx, model).await
    }

    /// By an ADMINISTRATOR of the client's organisation or a caseload counselor.
    async fn revoke_delegation(&self, ctx: &Context<'_>, delegation_id: ID) -> FieldResult<Delegation> {
        let op = ctx.operation()?;
        let delegation_id = parse_id(&delegation_id, "delegationId")?;
        let model = delegations::revoke(&ctx.app().db, &op, delegation_id).await?;
        delegation(ctx, model).await
    }
}

async fn delegation(ctx: &Context<'_>, model: inzage_entity::delegation::Model) -> FieldResult<Delegation> {
    let mut found = with_clients(ctx, vec![model], |d| d.client_id).await?;
    let (model, client) = found.pop().ok_or_else(|| crate::error::ApiError::internal("delegation vanished"))?;
    Ok(Delegation { model, client })
}
