//! Trajectories, their members, teams and tasks; providers, programs and delegations.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use inzage_entity::{delegation, program, protocol, provider, task, team, team_member, trajectory, trajectory_member};
use uuid::Uuid;

use super::accounts::User;
use super::client::Client;
use crate::access::ClientAccess;
use crate::domain::{delegations, trajectories};
use crate::error::{ApiError, FieldResult};
use crate::graphql::enums::{
    DelegationEventKind, DelegationStatus, ExecutorMode, TaskKind, TaskStatus, TrajectoryKind, TrajectoryStatus,
};
use crate::graphql::{ContextExt, prefetch};
use crate::policy::client as client_rules;
use crate::policy::{Decision, Link};

/// A care protocol: the template a trajectory follows.
pub struct Protocol(pub protocol::Model);

#[Object]
impl Protocol {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> TrajectoryKind {
        self.0.kind.into()
    }
}

/// The viewer's access to each client of `models`, loaded at once, paired with the rows.
pub async fn with_clients<T>(
    ctx: &Context<'_>,
    models: Vec<T>,
    client_of: impl Fn(&T) -> Uuid,
) -> FieldResult<Vec<(T, ClientAccess)>> {
    let op = ctx.operation()?;
    let ids: Vec<Uuid> = models.iter().map(&client_of).collect();
    let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &ids).await?;
    models
        .into_iter()
        .map(|model| {
            let client = found.get(&client_of(&model)).cloned();
            Ok((model, client.ok_or_else(|| ApiError::internal("a record of an account that is not a client"))?))
        })
        .collect()
}

/// Trajectories the viewer sees, with their clients' access loaded at once, and the members the
/// selection asks for.
pub async fn visible_trajectories(ctx: &Context<'_>, models: Vec<trajectory::Model>) -> FieldResult<Vec<Trajectory>> {
    let pairs = with_clients(ctx, models, |t| t.client_id).await?;
    let visible: Vec<(trajectory::Model, ClientAccess)> =
        pairs.into_iter().filter(|(model, client)| trajectories::sees(client, model)).collect();
    let ids: Vec<Uuid> = visible.iter().map(|(model, _)| model.id).collect();
    prefetch::trajectory_members(ctx, &ids, &[ctx.look_ahead()]).await?;
    Ok(visible.into_iter().map(|(model, client)| Trajectory::new(model, client)).collect())
}

/// A care episode of one client with a primary coach.
pub struct Trajectory {
    pub model: trajectory::Model,
    /// The viewer's access to the client.
    pub client: ClientAccess,
}

impl Trajectory {
    pub fn new(model: trajectory::Model, client: ClientAccess) -> Self {
        Self { model, client }
    }
}

impl Trajectory {
    /// Whether the viewer sees its tasks (as a professional, not as the client or guardian).
    fn sees_tasks(&self) -> bool {
        client_rules::read_trajectory_tasks(self.client.access.bases).is_allowed()
    }
}

#[Object]
impl Trajectory {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.model.title
    }

    async fn kind(&self) -> TrajectoryKind {
        self.model.kind.into()
    }

    async fn status(&self) -> TrajectoryStatus {
        self.model.status.into()
    }

    /// The client, as a name-only reference unless the viewer has a basis for more.
    async fn client(&self) -> Client {
        Client::from(self.client.clone())
    }

    async fn protocol(&self, ctx: &Context<'_>) -> FieldResult<Option<Protocol>> {
        let Some(id) = self.model.protocol_id else { return Ok(None) };
        Ok(ctx.loaders().protocols.load_one(id).await?.map(Protocol))
    }

    /// Null while the coach holds no care role: they do not coach it then.
    async fn primary_coach(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(id) = self.model.primary_coach_id else { return Ok(None) };
        let roles = ctx.loaders().roles.load_one(id).await?.unwrap_or_default();
        if !Link::TrajectoryCoach.counts_for(roles) {
            return Ok(None);
        }
        Ok(ctx.loaders().users.load_one(id).await?.map(User))
    }

    /// Shown to the client as their counselors.
    async fn members(&self, ctx: &Context<'_>) -> FieldResult<Vec<TrajectoryMember>> {
        let rows = ctx.loaders().trajectory_members.load_one(self.model.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(TrajectoryMember).collect())
    }

    /// Never shown to the client: FORBIDDEN for SELF and GUARDIAN.
    async fn teams(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<Team>>> {
        if let Decision::Deny(reason) = client_rules::read_trajectory_teams(self.client.access.bases) {
            return Err(ApiError::forbidden(reason).into());
        }
        let rows = ctx.loaders().trajectory_teams.load_one(self.model.id).await?.unwrap_or_default();
        Ok(Some(rows.into_iter().map(Team).collect()))
    }

    async fn program(&self, ctx: &Context<'_>) -> FieldResult<Option<Program>> {
        let Some(id) = self.model.program_id else { return Ok(None) };
        Ok(ctx.loaders().program_rows.load_one(id).await?.map(Program))
    }

    async fn parent(&self, ctx: &Context<'_>) -> FieldResult<Option<Trajectory>> {
        let Some(id) = self.model.parent_id else { return Ok(None) };
        let Some(model) = ctx.loaders().trajectories.load_one(id).await? else { return Ok(None) };
        Ok(trajectories::sees(&self.client, &model).then(|| Trajectory::new(model, self.client.clone())))
    }

    /// The trajectory's tasks, for those who work with the client (empty for the client).
    async fn tasks(&self, ctx: &Context<'_>) -> FieldResult<Vec<Task>> {
        if !self.sees_tasks() {
            return Ok(Vec::new());
        }
        let rows = ctx.loaders().tasks.load_one(self.model.id).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|model| Task { model, trajectory: Some(self.model.clone()), client: Some(self.client.clone()) })
            .collect())
    }

    async fn delegations(&self, ctx: &Context<'_>) -> FieldResult<Vec<Delegation>> {
        let rows = ctx.loaders().trajectory_delegations.load_one(self.model.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|model| Delegation { model, client: self.client.clone() }).collect())
    }

    async fn opened_at(&self) -> DateTime<Utc> {
        self.model.opened_at
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.model.closed_at
    }
}

/// A professional working in a trajectory besides its primary coach.
pub struct TrajectoryMember(pub trajectory_member::Model);

#[Object]
impl TrajectoryMember {
    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.0.user_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("member without account"))?))
    }

    async fn role(&self) -> &str {
        &self.0.role
    }

    async fn added_at(&self) -> DateTime<Utc> {
        self.0.added_at
    }
}

/// A predefined team of an organisation.
pub struct Team(pub team::Model);

#[Object]
impl Team {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn members(&self, ctx: &Context<'_>) -> FieldResult<Vec<TeamMember>> {
        let rows = ctx.loaders().team_members.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(TeamMember).collect())
    }
}

/// A professional in a team.
pub struct TeamMember(pub team_member::Model);

#[Object]
impl TeamMember {
    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.0.user_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("team member without account"))?))
    }

    async fn role(&self) -> &str {
        &self.0.role
    }
}

/// Something to do in a trajectory.
pub struct Task {
    pub model: task::Model,
    /// The trajectory, when already at hand.
    pub trajectory: Option<trajectory::Model>,
    /// The viewer's access to the trajectory's client, when already at hand.
    pub client: Option<ClientAccess>,
}

#[Object]
impl Task {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn kind(&self) -> TaskKind {
        self.model.kind.into()
    }

    async fn status(&self) -> TaskStatus {
        self.model.status.into()
    }

    async fn trajectory(&self, ctx: &Context<'_>) -> FieldResult<Trajectory> {
        if let (Some(model), Some(client)) = (&self.trajectory, &self.client) {
            return Ok(Trajectory::new(model.clone(), client.clone()));
        }
        let model = match &self.trajectory {
            Some(model) => model.clone(),
            None => ctx
                .loaders()
                .trajectories
                .load_one(self.model.trajectory_id)
                .await?
                .ok_or_else(|| ApiError::internal("task without trajectory"))?,
        };
        let mut found = with_clients(ctx, vec![model], |t| t.client_id).await?;
        let (model, client) = found.pop().ok_or_else(|| ApiError::internal("task without trajectory"))?;
        Ok(Trajectory::new(model, client))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.model.completed_at
    }
}

/// Answers an executor field: the user when the viewer may see them, FORBIDDEN otherwise.
async fn executor_field(ctx: &Context<'_>, organization_id: Uuid, executor: Option<Uuid>) -> FieldResult<Option<User>> {
    let viewer = ctx.viewer()?;
    delegations::sees_executor(viewer, organization_id, executor).check()?;
    let Some(id) = executor else { return Ok(None) };
    Ok(ctx.loaders().users.load_one(id).await?.map(User))
}

/// An intervention provider.
pub struct Provider(pub provider::Model);

#[Object]
impl Provider {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// FORBIDDEN ('not authorized to view the default executor') when the viewer may not see
    /// that user.
    async fn default_executor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        executor_field(ctx, self.0.organization_id, self.0.default_executor_id).await
    }

    async fn has_default_executor(&self) -> bool {
        self.0.default_executor_id.is_some()
    }

    async fn programs(&self, ctx: &Context<'_>) -> FieldResult<Vec<Program>> {
        let rows = ctx.loaders().provider_programs.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Program).collect())
    }
}

/// A program of an intervention provider.
pub struct Program(pub program::Model);

impl Program {
    async fn provider_model(&self, ctx: &Context<'_>) -> FieldResult<provider::Model> {
        let provider = ctx.loaders().providers.load_one(self.0.provider_id).await?;
        Ok(provider.ok_or_else(|| ApiError::internal("program without provider"))?)
    }

    async fn effective(&self, ctx: &Context<'_>) -> FieldResult<Option<Uuid>> {
        Ok(delegations::effective_executor(&self.0, &self.provider_model(ctx).await?))
    }
}

#[Object]
impl Program {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn provider(&self, ctx: &Context<'_>) -> FieldResult<Provider> {
        Ok(Provider(self.provider_model(ctx).await?))
    }

    async fn executor_mode(&self) -> ExecutorMode {
        self.0.executor_mode.into()
    }

    /// The program's own executor (OWN mode); same visibility rule as Provider.defaultExecutor.
    async fn default_executor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let own = match self.0.executor_mode {
            inzage_entity::ExecutorMode::Own => self.0.executor_id,
            inzage_entity::ExecutorMode::Inherit => None,
        };
        executor_field(ctx, self.0.organization_id, own).await
    }

    /// OWN: the program's executor; INHERIT: the provider's. Same visibility rule.
    async fn effective_executor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let effective = self.effective(ctx).await?;
        executor_field(ctx, self.0.organization_id, effective).await
    }

    async fn has_effective_executor(&self, ctx: &Context<'_>) -> FieldResult<bool> {
        Ok(self.effective(ctx).await?.is_some())
    }
}

/// A client's dossier delegated to a user.
pub struct Delegation {
    pub model: delegation::Model,
    /// The viewer's access to the client.
    pub client: ClientAccess,
}

#[Object]
impl Delegation {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    /// The client, as a name-only reference unless the viewer has a basis for more.
    async fn client(&self) -> Client {
        Client::from(self.client.clone())
    }

    async fn delegate(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.model.delegate_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("delegation without delegate"))?))
    }

    async fn trajectory(&self, ctx: &Context<'_>) -> FieldResult<Option<Trajectory>> {
        let Some(id) = self.model.trajectory_id else { return Ok(None) };
        let Some(model) = ctx.loaders().trajectories.load_one(id).await? else { return Ok(None) };
        Ok(trajectories::sees(&self.client, &model).then(|| Trajectory::new(model, self.client.clone())))
    }

    async fn granted_by(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(id) = self.model.granted_by else { return Ok(None) };
        Ok(ctx.loaders().users.load_one(id).await?.map(User))
    }

    /// As of now: an ACTIVE delegation past its end is EXPIRED.
    async fn status(&self, ctx: &Context<'_>) -> DelegationStatus {
        delegations::effective_status(&self.model, ctx.app().clock.now()).into()
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        self.model.starts_at
    }

    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.model.ends_at
    }

    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.model.ended_at
    }
}

/// What confirming an intervention started.
pub struct InterventionStart(pub delegations::InterventionStart);

#[Object]
impl InterventionStart {
    async fn guidance_trajectory(&self) -> Trajectory {
        Trajectory::new(self.0.guidance.clone(), self.0.client.clone())
    }

    /// Set when the program had an effective executor.
    async fn delegation(&self) -> Option<Delegation> {
        self.0.delegation.clone().map(|model| Delegation { model, client: self.0.client.clone() })
    }

    /// Set when it had none: a DELEGATE_DOSSIER task in the guidance trajectory.
    async fn delegation_task(&self) -> Option<Task> {
        self.0.delegation_task.clone().map(|model| Task {
            model,
            trajectory: Some(self.0.guidance.clone()),
            client: None,
        })
    }
}

/// Something that happened to a delegation the viewer holds.
pub struct DelegationEvent {
    pub kind: DelegationEventKind,
    pub delegation: Delegation,
    pub at: DateTime<Utc>,
}

#[Object]
impl DelegationEvent {
    async fn kind(&self) -> DelegationEventKind {
        self.kind
    }

    async fn delegation(&self) -> &Delegation {
        &self.delegation
    }

    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
}
