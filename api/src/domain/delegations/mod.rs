//! Dossier delegation to intervention providers: providers and their programs with their
//! executors, confirming an intervention (which opens the guidance trajectory and delegates the
//! dossier), delegating by hand, revoking, and ending with the trajectory.

use chrono::{DateTime, Utc};
use inzage_entity::{
    AuditAction, DelegationStatus, ExecutorMode, NotificationKind, TaskKind, TrajectoryKind, delegation, organization,
    program, protocol, provider, task, trajectory, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

pub use ending::{effective_status, end_with_trajectory, release_coach};
use ending::{finish, with_actor_basis};

pub mod ending;

use super::Operation;
use super::care::visible_client;
use super::notifications::{self, Links};
use super::trajectories::{self, VisibleTrajectory};
use super::values::DisplayName;
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::{Database, WriteTransaction};
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::policy::trajectories as rules;
use crate::policy::{Decision, Link};

// ---------------------------------------------------------------------------------------------
// Providers and programs

/// The provider `id` if the viewer is a professional of its organisation; NOT_FOUND otherwise.
pub async fn find_provider(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<provider::Model> {
    provider::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|p| rules::see_configuration(viewer.roles, p.organization_id == viewer.organization_id))
        .ok_or_else(|| ApiError::not_found("provider"))
}

/// The program `id` if the viewer is a professional of its organisation; NOT_FOUND otherwise.
pub async fn find_program(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<program::Model> {
    program::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|p| rules::see_configuration(viewer.roles, p.organization_id == viewer.organization_id))
        .ok_or_else(|| ApiError::not_found("program"))
}

/// Creates a provider of the viewer's organisation (ADMINISTRATOR).
pub async fn create_provider(db: &Database, op: &Operation<'_>, name: DisplayName) -> ApiResult<provider::Model> {
    rules::configure(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    let model = provider::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(op.viewer.organization_id),
        name: Set(name.into_inner()),
        default_executor_id: Set(None),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Creates a program of a provider (ADMINISTRATOR); it inherits the provider's executor.
pub async fn create_program(
    db: &Database,
    op: &Operation<'_>,
    provider_id: Uuid,
    name: DisplayName,
) -> ApiResult<program::Model> {
    let txn = db.begin_write().await?;
    let provider = find_provider(&*txn, op.viewer, provider_id).await?;
    rules::configure(op.viewer.roles).check()?;
    let model = program::ActiveModel {
        id: Set(Uuid::now_v7()),
        provider_id: Set(provider.id),
        organization_id: Set(provider.organization_id),
        name: Set(name.into_inner()),
        executor_mode: Set(ExecutorMode::Inherit),
        executor_id: Set(None),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// An active account that accepts delegations and holds a care role; BAD_USER_INPUT at `field`
/// otherwise.
async fn executor(db: &impl ConnectionTrait, id: Uuid, field: &str) -> ApiResult<user::Model> {
    let care = crate::domain::accounts::holding(db, &[id], Link::Delegate).await?.contains(&id);
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.active && u.accepts_delegations && care)
        .ok_or_else(|| ApiError::bad_input(field, "is not an active user who accepts delegations"))
}

/// Whether the viewer may see `executor` (the configured one) of something of `organization_id`.
pub fn sees_executor(viewer: &Viewer, organization_id: Uuid, executor: Option<Uuid>) -> Decision {
    match executor {
        None => rules::see_executor(viewer.roles, viewer.organization_id == organization_id, false),
        Some(id) => rules::see_executor(viewer.roles, viewer.organization_id == organization_id, id == viewer.user_id),
    }
}

/// Names (or clears) a provider's default executor.
pub async fn set_provider_executor(
    db: &Database,
    op: &Operation<'_>,
    provider_id: Uuid,
    user_id: Option<Uuid>,
) -> ApiResult<provider::Model> {
    let txn = db.begin_write().await?;
    let provider = find_provider(&*txn, op.viewer, provider_id).await?;
    let same_organization = provider.organization_id == op.viewer.organization_id;
    let sees = sees_executor(op.viewer, provider.organization_id, provider.default_executor_id).is_allowed();
    rules::change_executor(op.viewer.roles, same_organization, sees).check()?;
    if let Some(id) = user_id {
        executor(&*txn, id, "userId").await?;
    }
    let mut active: provider::ActiveModel = provider.into();
    active.default_executor_id = Set(user_id);
    let model = active.update(&*txn).await?;
    txn.commit().await?;
    Ok(model)
}

/// Sets where a program's executor comes from: the provider's (INHERIT, no user), or its own
/// (OWN; without a user the program has none).
pub async fn set_program_executor(
    db: &Database,
    op: &Operation<'_>,
    program_id: Uuid,
    mode: ExecutorMode,
    user_id: Option<Uuid>,
) -> ApiResult<program::Model> {
    let txn = db.begin_write().await?;
    let program = find_program(&*txn, op.viewer, program_id).await?;
    let same_organization = program.organization_id == op.viewer.organization_id;
    let sees = sees_executor(op.viewer, program.organization_id, program.executor_id).is_allowed();
    rules::change_executor(op.viewer.roles, same_organization, sees).check()?;
    match (mode, user_id) {
        (ExecutorMode::Inherit, Some(_)) => {
            return Err(ApiError::bad_input("userId", "must be empty when the program inherits the executor"));
        }
        (ExecutorMode::Own, Some(id)) => {
            executor(&*txn, id, "userId").await?;
        }
        _ => {}
    }
    let mut active: program::ActiveModel = program.into();
    active.executor_mode = Set(mode);
    active.executor_id = Set(user_id);
    let model = active.update(&*txn).await?;
    txn.commit().await?;
    Ok(model)
}

/// Names (or clears) the organisation's guidance protocol (an INTERVENTION_GUIDANCE protocol).
pub async fn set_guidance_protocol(
    db: &Database,
    op: &Operation<'_>,
    protocol_id: Option<Uuid>,
) -> ApiResult<organization::Model> {
    rules::configure(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    if let Some(id) = protocol_id {
        let protocol = trajectories::own_protocol(&*txn, op.viewer, id, "protocolId").await?;
        if protocol.kind != TrajectoryKind::InterventionGuidance {
            return Err(ApiError::bad_input("protocolId", "is not an INTERVENTION_GUIDANCE protocol"));
        }
    }
    let organization = organization::Entity::find_by_id(op.viewer.organization_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ApiError::internal("viewer without organisation"))?;
    let mut active: organization::ActiveModel = organization.into();
    active.guidance_protocol_id = Set(protocol_id);
    let model = active.update(&*txn).await?;
    txn.commit().await?;
    Ok(model)
}

/// The user who carries out a program: its own executor (OWN) or its provider's (INHERIT).
pub fn effective_executor(program: &program::Model, provider: &provider::Model) -> Option<Uuid> {
    match program.executor_mode {
        ExecutorMode::Own => program.executor_id,
        ExecutorMode::Inherit => provider.default_executor_id,
    }
}

// ---------------------------------------------------------------------------------------------
// Confirming an intervention, delegating

/// What confirming an intervention started.
#[derive(Debug, Clone)]
pub struct InterventionStart {
    pub guidance: trajectory::Model,
    pub delegation: Option<delegation::Model>,
    pub delegation_task: Option<task::Model>,
    pub client: crate::access::ClientAccess,
}

/// Loads an open task of `kind` for someone who works on its trajectory.
async fn task_to_do(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    task_id: Uuid,
    kind: TaskKind,
) -> ApiResult<(task::Model, VisibleTrajectory, Option<crate::policy::client::Basis>)> {
    let (task, trajectory) = trajectories::find_task(&**txn, op, task_id).await?;
    if task.kind != kind {
        return Err(ApiError::bad_input("taskId", "is a task of another kind"));
    }
    let basis = rules::work_on_trajectory(trajectory.client.access.bases, trajectory.relation).check()?;
    Ok((task, trajectory, basis))
}

/// Completes a CONFIRM_INTERVENTION task with a program: opens the INTERVENTION_GUIDANCE
/// trajectory and either delegates the dossier to the program's executor (their primary coach)
/// or leaves a DELEGATE_DOSSIER task in it.
pub async fn confirm_intervention(
    db: &Database,
    op: &Operation<'_>,
    task_id: Uuid,
    program_id: Uuid,
) -> ApiResult<InterventionStart> {
    let txn = db.begin_write().await?;
    let (task, deployment, basis) = task_to_do(&txn, op, task_id, TaskKind::ConfirmIntervention).await?;
    let program = program::Entity::find_by_id(program_id)
        .one(&*txn)
        .await?
        .filter(|p| p.organization_id == deployment.model.organization_id)
        .ok_or_else(|| ApiError::bad_input("programId", "no such program"))?;
    let provider = provider::Entity::find_by_id(program.provider_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ApiError::internal("program without provider"))?;
    trajectories::complete_task(&txn, op, &task).await?;
    let organization = organization::Entity::find_by_id(deployment.model.organization_id).one(&*txn).await?;
    let guidance_protocol = match organization.and_then(|o| o.guidance_protocol_id) {
        Some(id) => protocol::Entity::find_by_id(id).one(&*txn).await?.map(|p| p.id),
        None => None,
    };
    // An executor who left, stopped accepting delegations or holds no care role is no executor.
    let executor = match effective_executor(&program, &provider) {
        Some(id) => {
            let care = crate::domain::accounts::holding(&*txn, &[id], Link::Delegate).await?.contains(&id);
            user::Entity::find_by_id(id).one(&*txn).await?.filter(|u| u.active && u.accepts_delegations && care)
        }
        None => None,
    };
    // Without one, the deployment's coach coaches the guidance too, while still a care role.
    let deployment_coach = match deployment.model.primary_coach_id {
        Some(coach) => {
            crate::domain::accounts::holding(&*txn, &[coach], Link::TrajectoryCoach).await?.into_iter().next()
        }
        None => None,
    };
    let coach = executor.as_ref().map(|u| u.id).or(deployment_coach);
    let placement = trajectories::Placement {
        protocol_id: guidance_protocol,
        primary_coach_id: coach,
        program_id: Some(program.id),
        parent_id: Some(deployment.model.id),
    };
    let guidance = trajectories::insert(
        &txn,
        op,
        &deployment.client,
        basis,
        program.name.clone(),
        TrajectoryKind::InterventionGuidance,
        placement,
    )
    .await?;
    let (delegation, delegation_task) = match executor {
        Some(executor) => (Some(delegate(&txn, op, &guidance, executor.id, None).await?), None),
        None => (None, Some(trajectories::create_task(&txn, op, &guidance, TaskKind::DelegateDossier).await?)),
    };
    txn.commit().await?;
    let client = visible_client(db.conn(), op, guidance.client_id).await?;
    Ok(InterventionStart { guidance, delegation, delegation_task, client })
}

/// Completes a DELEGATE_DOSSIER task: delegates the client's dossier to `user_id` (who accepts
/// delegations and becomes the guidance trajectory's primary coach), optionally until `ends_at`.
pub async fn delegate_dossier(
    db: &Database,
    op: &Operation<'_>,
    task_id: Uuid,
    user_id: Uuid,
    ends_at: Option<DateTime<Utc>>,
) -> ApiResult<delegation::Model> {
    if ends_at.is_some_and(|ends| ends <= op.now) {
        return Err(ApiError::bad_input("endsAt", "must be in the future"));
    }
    let txn = db.begin_write().await?;
    let (task, trajectory, _) = task_to_do(&txn, op, task_id, TaskKind::DelegateDossier).await?;
    if !trajectory.relation.open {
        return Err(ApiError::conflict("the trajectory is closed"));
    }
    let delegate_user = executor(&*txn, user_id, "userId").await?;
    trajectories::complete_task(&txn, op, &task).await?;
    let mut active: trajectory::ActiveModel = trajectory.model.clone().into();
    active.primary_coach_id = Set(Some(delegate_user.id));
    let guidance = active.update(&*txn).await?;
    let model = delegate(&txn, op, &guidance, delegate_user.id, ends_at).await?;
    txn.commit().await?;
    Ok(model)
}

/// Writes an ACTIVE delegation of the trajectory's client to `delegate_id`, its audit row, and
/// tells the delegate.
async fn delegate(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    trajectory: &trajectory::Model,
    delegate_id: Uuid,
    ends_at: Option<DateTime<Utc>>,
) -> ApiResult<delegation::Model> {
    let model = delegation::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(trajectory.client_id),
        delegate_id: Set(delegate_id),
        trajectory_id: Set(Some(trajectory.id)),
        granted_by: Set(Some(op.viewer.user_id)),
        status: Set(DelegationStatus::Active),
        starts_at: Set(op.now),
        ends_at: Set(ends_at),
        ended_at: Set(None),
        warned_at: Set(None),
    }
    .insert(&**txn)
    .await?;
    let entry = AuditEntry::success(trajectory.client_id, AuditAction::Create, "Delegation").on(model.id);
    let entry = with_actor_basis(txn, op, entry).await?;
    op.log(&**txn, entry).await?;
    let title = format!("A dossier was delegated to you for {}", trajectory.title);
    let links = Links { client_id: Some(trajectory.client_id), delegation_id: Some(model.id), ..Links::default() };
    notifications::notify(txn, [delegate_id], NotificationKind::DelegationGranted, &title, links, op.now);
    if let Some(ends_at) = ends_at {
        txn.announce(Event::DeadlineSet { ends_at });
    }
    Ok(model)
}

/// Revokes an ACTIVE delegation (an ADMINISTRATOR of the client's organisation, or a caseload
/// counselor of the client).
pub async fn revoke(db: &Database, op: &Operation<'_>, delegation_id: Uuid) -> ApiResult<delegation::Model> {
    let txn = db.begin_write().await?;
    let not_found = || ApiError::not_found("delegation");
    let model = delegation::Entity::find_by_id(delegation_id).one(&*txn).await?.ok_or_else(not_found)?;
    let client = crate::access::load(&*txn, op.viewer, op.now, &[model.client_id]).await?.remove(&model.client_id);
    let Some(client) = client else { return Err(not_found()) };
    let same_organization = client.client.organization_id == op.viewer.organization_id;
    if let Decision::Deny(reason) = rules::revoke_delegation(op.viewer.roles, client.access.bases, same_organization) {
        drop(txn);
        if client.access.bases.is_empty() && !same_organization {
            return Err(not_found());
        }
        let entry = AuditEntry::denied(model.client_id, AuditAction::Update, "Delegation").on(model.id);
        return Err(op.refuse(db, entry, reason).await);
    }
    if effective_status(&model, op.now) != DelegationStatus::Active {
        return Err(ApiError::conflict("only an active delegation can be revoked"));
    }
    let model = finish(&txn, op, model, DelegationStatus::Revoked).await?;
    txn.commit().await?;
    Ok(model)
}

// ---------------------------------------------------------------------------------------------
// Reads

/// Delegations by id.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<delegation::Model>, DbErr> {
    delegation::Entity::find().filter(delegation::Column::Id.among(db, ids.iter().copied())).all(db).await
}

/// Whether the viewer holds `delegation`: its delegate, while holding a care role.
pub fn is_held_by(viewer: &Viewer, delegation: &delegation::Model) -> bool {
    delegation.delegate_id == viewer.user_id && Link::Delegate.counts_for(viewer.roles)
}

/// The delegations to the viewer, newest first, optionally with one status (as of `now`).
pub async fn of_delegate(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    status: Option<DelegationStatus>,
    now: DateTime<Utc>,
) -> Result<Vec<delegation::Model>, DbErr> {
    // A delegate holds delegations only while they hold a care role.
    if !Link::Delegate.counts_for(viewer.roles) {
        return Ok(Vec::new());
    }
    let rows = delegation::Entity::find()
        .filter(delegation::Column::DelegateId.eq(viewer.user_id))
        .order_by_desc(delegation::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter(|d| status.is_none_or(|s| effective_status(d, now) == s)).collect())
}

/// The delegations of each trajectory, oldest first.
pub async fn of_trajectories(
    db: &impl ConnectionTrait,
    trajectory_ids: &[Uuid],
) -> Result<Vec<delegation::Model>, DbErr> {
    delegation::Entity::find()
        .filter(delegation::Column::TrajectoryId.among(db, trajectory_ids.iter().copied()))
        .order_by_asc(delegation::Column::Id)
        .all(db)
        .await
}

/// The providers of the viewer's organisation, oldest first, if the viewer works there.
pub async fn providers_of(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<provider::Model>, DbErr> {
    if !rules::see_configuration(viewer.roles, true) {
        return Ok(Vec::new());
    }
    provider::Entity::find()
        .filter(provider::Column::OrganizationId.eq(viewer.organization_id))
        .order_by_asc(provider::Column::Id)
        .all(db)
        .await
}

/// Programs of each provider, oldest first.
pub async fn programs_of(db: &impl ConnectionTrait, provider_ids: &[Uuid]) -> Result<Vec<program::Model>, DbErr> {
    program::Entity::find()
        .filter(program::Column::ProviderId.among(db, provider_ids.iter().copied()))
        .order_by_asc(program::Column::Id)
        .all(db)
        .await
}
