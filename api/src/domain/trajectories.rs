//! Trajectories: care episodes of one client with a primary coach, members and teams, and the
//! protocols and tasks that go with them.

use std::collections::{HashMap, HashSet};

use inzage_entity::{
    AuditAction, NotificationKind, TaskKind, TaskStatus, TrajectoryKind, TrajectoryStatus, protocol, task, team,
    team_member, trajectory, trajectory_member, trajectory_team,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::Operation;
use super::accounts;
use super::care::visible_client;
use super::notifications::{self, Links};
use super::teams;
use super::values::{DisplayName, Invalid};
use crate::access::ClientAccess;
use crate::access::holds;
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::{Database, WriteTransaction};
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::policy::client::{self as client_rules, Basis, BasisSet, TrajectoryScope};
use crate::policy::trajectories::{self as rules, TrajectoryRelation};
use crate::policy::{COUNSELOR_ROLES, Decision, Link};

/// A role in a trajectory or team ("second coach", "back office"): trimmed, 1 to 200 characters.
pub fn parse_role(raw: &str) -> Result<String, Invalid> {
    DisplayName::parse(raw).map(DisplayName::into_inner)
}

/// A new trajectory.
#[derive(Debug, Clone)]
pub struct NewTrajectory {
    pub client_id: Uuid,
    pub title: DisplayName,
    pub kind: TrajectoryKind,
    pub protocol_id: Option<Uuid>,
    pub primary_coach_id: Option<Uuid>,
}

/// A trajectory the viewer may see, with their access to its client and how they work in it.
#[derive(Debug, Clone)]
pub struct VisibleTrajectory {
    pub model: trajectory::Model,
    pub client: ClientAccess,
    pub relation: TrajectoryRelation,
}

/// How `viewer` works in `trajectory`.
pub async fn relation(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    trajectory: &trajectory::Model,
) -> Result<TrajectoryRelation, DbErr> {
    let mut found = relations(db, viewer, std::slice::from_ref(trajectory)).await?;
    Ok(found.remove(&trajectory.id).unwrap_or_default())
}

/// How `viewer` works in each of `trajectories`, in two queries whatever their number.
pub async fn relations(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    trajectories: &[trajectory::Model],
) -> Result<HashMap<Uuid, TrajectoryRelation>, DbErr> {
    let ids: Vec<Uuid> = trajectories.iter().map(|t| t.id).collect();
    let member: HashSet<Uuid> = trajectory_member::Entity::find()
        .filter(trajectory_member::Column::TrajectoryId.among(db, ids.iter().copied()))
        .filter(trajectory_member::Column::UserId.eq(viewer.user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.trajectory_id)
        .collect();
    let team_member: HashSet<Uuid> = trajectory_team::Entity::find()
        .filter(trajectory_team::Column::TrajectoryId.among(db, ids.iter().copied()))
        .filter(
            trajectory_team::Column::TeamId.in_subquery(
                Query::select()
                    .column(team_member::Column::TeamId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::UserId.eq(viewer.user_id))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.trajectory_id)
        .collect();
    Ok(trajectories
        .iter()
        .map(|t| {
            let relation = TrajectoryRelation::of(
                viewer.roles,
                t.primary_coach_id == Some(viewer.user_id),
                member.contains(&t.id),
                team_member.contains(&t.id),
                t.status == TrajectoryStatus::Open,
            );
            (t.id, relation)
        })
        .collect())
}

/// Whether the viewer, with `client` access, sees `trajectory` of that client.
pub fn sees(client: &ClientAccess, trajectory: &trajectory::Model) -> bool {
    match client_rules::trajectory_scope(client.access.bases) {
        TrajectoryScope::All => true,
        TrajectoryScope::OwnOnly => client.access.trajectories.contains(&trajectory.id),
        TrajectoryScope::None => false,
    }
}

/// The trajectory `id` as the operation's viewer may see it; NOT_FOUND otherwise.
pub async fn find(db: &impl ConnectionTrait, op: &Operation<'_>, id: Uuid) -> ApiResult<VisibleTrajectory> {
    let not_found = || ApiError::not_found("trajectory");
    let model = trajectory::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    let client = visible_client(db, op, model.client_id).await.map_err(|_| not_found())?;
    if !sees(&client, &model) {
        return Err(not_found());
    }
    let relation = relation(db, op.viewer, &model).await?;
    Ok(VisibleTrajectory { model, client, relation })
}

/// Logs a refused change of a trajectory of `client_id` and returns the refusal.
async fn refuse(db: &Database, op: &Operation<'_>, client_id: Uuid, reason: &str) -> ApiError {
    op.refuse(db, AuditEntry::denied(client_id, AuditAction::Update, "Trajectory"), reason).await
}

// ---------------------------------------------------------------------------------------------
// Protocols (teams are in `teams.rs`)

/// Creates a protocol of the viewer's organisation (ADMINISTRATOR).
pub async fn create_protocol(
    db: &Database,
    op: &Operation<'_>,
    name: DisplayName,
    kind: TrajectoryKind,
) -> ApiResult<protocol::Model> {
    rules::configure(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    let model = protocol::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(op.viewer.organization_id),
        name: Set(name.into_inner()),
        kind: Set(kind),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// A protocol of the viewer's organisation; BAD_USER_INPUT at `field` otherwise.
pub async fn own_protocol(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
    field: &str,
) -> ApiResult<protocol::Model> {
    protocol::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|p| p.organization_id == viewer.organization_id)
        .ok_or_else(|| ApiError::bad_input(field, "no such protocol"))
}

// ---------------------------------------------------------------------------------------------
// Trajectories

/// Opens a trajectory for a client (a caseload counselor or a secretary). The primary coach
/// defaults to the caller when they are a counselor. An INTERVENTION_DEPLOYMENT trajectory
/// starts with its CONFIRM_INTERVENTION task.
pub async fn open(db: &Database, op: &Operation<'_>, new: NewTrajectory) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let client = visible_client(&*txn, op, new.client_id).await?;
    let basis = match rules::open_trajectory(client.access.bases) {
        Decision::Allow(basis) => basis,
        Decision::Deny(reason) => {
            drop(txn);
            return Err(refuse(db, op, new.client_id, reason).await);
        }
    };
    let organization_id = client.client.organization_id;
    let mut kind = new.kind;
    if let Some(protocol_id) = new.protocol_id {
        kind = own_protocol(&*txn, op.viewer, protocol_id, "input.protocolId").await?.kind;
    }
    let coach = match new.primary_coach_id {
        Some(id) => {
            Some(accounts::care_professional(&*txn, op.viewer, organization_id, id, "input.primaryCoachId").await?.id)
        }
        None => (!op.viewer.roles.is_disjoint(COUNSELOR_ROLES)).then_some(op.viewer.user_id),
    };
    let placement =
        Placement { protocol_id: new.protocol_id, primary_coach_id: coach, program_id: None, parent_id: None };
    let model = insert(&txn, op, &client, basis, new.title.into_inner(), kind, placement).await?;
    if kind == TrajectoryKind::InterventionDeployment {
        create_task(&txn, op, &model, TaskKind::ConfirmIntervention).await?;
    }
    txn.commit().await?;
    Ok(model)
}

/// Where a new trajectory stands: its protocol, coach, program and the trajectory it follows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement {
    pub protocol_id: Option<Uuid>,
    pub primary_coach_id: Option<Uuid>,
    pub program_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
}

/// Writes a new open trajectory and its audit row, on `basis` (what allowed opening it).
pub async fn insert(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    client: &ClientAccess,
    basis: Option<Basis>,
    title: String,
    kind: TrajectoryKind,
    placement: Placement,
) -> ApiResult<trajectory::Model> {
    let Placement { protocol_id, primary_coach_id, program_id, parent_id } = placement;
    let model = trajectory::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(client.client.organization_id),
        client_id: Set(client.client.id),
        title: Set(title),
        kind: Set(kind),
        status: Set(TrajectoryStatus::Open),
        protocol_id: Set(protocol_id),
        primary_coach_id: Set(primary_coach_id),
        program_id: Set(program_id),
        parent_id: Set(parent_id),
        opened_at: Set(op.now),
        closed_at: Set(None),
    }
    .insert(&**txn)
    .await?;
    let entry = AuditEntry::success(client.client.id, AuditAction::Create, "Trajectory")
        .on(model.id)
        .basis(basis, basis.and_then(|b| client.access.grant_for(b)));
    op.log(&**txn, entry).await?;
    Ok(model)
}

/// Writes an open task in a trajectory and tells its primary coach.
pub async fn create_task(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    trajectory: &trajectory::Model,
    kind: TaskKind,
) -> ApiResult<task::Model> {
    let model = task::ActiveModel {
        id: Set(Uuid::now_v7()),
        trajectory_id: Set(trajectory.id),
        kind: Set(kind),
        status: Set(TaskStatus::Open),
        created_at: Set(op.now),
        completed_at: Set(None),
    }
    .insert(&**txn)
    .await?;
    // A coach who no longer holds a care role does not work in it and is not told.
    let coach = match trajectory.primary_coach_id {
        Some(coach) => accounts::holding(&**txn, &[coach], Link::TrajectoryCoach).await?.into_iter().next(),
        None => None,
    };
    if let Some(coach) = coach {
        let title = match kind {
            TaskKind::ConfirmIntervention => format!("Confirm the intervention in {}", trajectory.title),
            TaskKind::DelegateDossier => format!("Choose who the dossier is delegated to in {}", trajectory.title),
        };
        let links = Links { client_id: Some(trajectory.client_id), task_id: Some(model.id), ..Links::default() };
        notifications::notify(txn, [coach], NotificationKind::TaskCreated, &title, links, op.now);
    }
    Ok(model)
}

/// A trajectory loaded for a change, and the basis the policy allowed the change on.
struct ForChange {
    found: VisibleTrajectory,
    basis: Option<Basis>,
}

impl ForChange {
    /// The change's access-log row, on the basis that allowed it.
    fn entry(&self) -> AuditEntry {
        let found = &self.found;
        AuditEntry::success(found.model.client_id, AuditAction::Update, "Trajectory")
            .on(found.model.id)
            .basis(self.basis, self.basis.and_then(|b| found.client.access.grant_for(b)))
    }
}

/// Loads a trajectory for a change by someone the policy allows (`decide`); NOT_FOUND when the
/// viewer may not see it, FORBIDDEN (with a DENIED row) when they may not change it.
async fn for_change(
    db: &Database,
    txn: WriteTransaction,
    op: &Operation<'_>,
    id: Uuid,
    decide: impl Fn(BasisSet, TrajectoryRelation) -> Decision,
) -> ApiResult<(WriteTransaction, ForChange)> {
    let found = find(&*txn, op, id).await?;
    match decide(found.client.access.bases, found.relation) {
        Decision::Allow(basis) => Ok((txn, ForChange { found, basis })),
        Decision::Deny(reason) => {
            drop(txn);
            Err(refuse(db, op, found.model.client_id, reason).await)
        }
    }
}

/// Adds a member (an active professional of the organisation, with a role) to an open
/// trajectory; the member is told.
pub async fn add_member(
    db: &Database,
    op: &Operation<'_>,
    trajectory_id: Uuid,
    user_id: Uuid,
    role: String,
) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let (txn, change) = for_change(db, txn, op, trajectory_id, rules::manage_trajectory).await?;
    let found = &change.found;
    if !found.relation.open {
        return Err(ApiError::conflict("the trajectory is closed"));
    }
    accounts::care_professional(&*txn, op.viewer, found.model.organization_id, user_id, "userId").await?;
    let role = teams::member_role(&*txn, found.model.organization_id, &role, "role").await?;
    trajectory_member::ActiveModel {
        trajectory_id: Set(found.model.id),
        user_id: Set(user_id),
        role: Set(role),
        added_at: Set(op.now),
    }
    .insert(&*txn)
    .await
    .on_unique_violation(|| ApiError::conflict("this user is already a member of the trajectory"))?;
    op.log(&*txn, change.entry()).await?;
    let title = format!("You were added to the trajectory {}", found.model.title);
    let links = Links { client_id: Some(found.model.client_id), ..Links::default() };
    notifications::notify(&txn, [user_id], NotificationKind::TrajectoryMemberAdded, &title, links, op.now);
    txn.commit().await?;
    Ok(change.found.model)
}

/// Removes a member from a trajectory.
pub async fn remove_member(
    db: &Database,
    op: &Operation<'_>,
    trajectory_id: Uuid,
    user_id: Uuid,
) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let (txn, change) = for_change(db, txn, op, trajectory_id, rules::manage_trajectory).await?;
    let found = &change.found;
    let removed = trajectory_member::Entity::delete_by_id((found.model.id, user_id)).exec(&*txn).await?;
    if removed.rows_affected == 0 {
        return Err(ApiError::bad_input("userId", "is not a member of this trajectory"));
    }
    op.log(&*txn, change.entry()).await?;
    txn.commit().await?;
    Ok(change.found.model)
}

/// Assigns a team of the organisation to an open trajectory.
pub async fn assign_team(
    db: &Database,
    op: &Operation<'_>,
    trajectory_id: Uuid,
    team_id: Uuid,
) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let (txn, change) = for_change(db, txn, op, trajectory_id, rules::manage_trajectory).await?;
    let found = &change.found;
    if !found.relation.open {
        return Err(ApiError::conflict("the trajectory is closed"));
    }
    let team = team::Entity::find_by_id(team_id)
        .one(&*txn)
        .await?
        .filter(|t| t.organization_id == found.model.organization_id)
        .ok_or_else(|| ApiError::bad_input("teamId", "no such team"))?;
    trajectory_team::ActiveModel {
        trajectory_id: Set(found.model.id),
        team_id: Set(team.id),
        assigned_at: Set(op.now),
    }
    .insert(&*txn)
    .await
    .on_unique_violation(|| ApiError::conflict("this team is already assigned to the trajectory"))?;
    op.log(&*txn, change.entry()).await?;
    txn.commit().await?;
    Ok(change.found.model)
}

/// Takes a team off a trajectory (whoever may assign one): its members' TEAM access to the
/// client through this trajectory ends with this transaction.
pub async fn unassign_team(
    db: &Database,
    op: &Operation<'_>,
    trajectory_id: Uuid,
    team_id: Uuid,
) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let (txn, change) = for_change(db, txn, op, trajectory_id, rules::manage_trajectory).await?;
    let removed = trajectory_team::Entity::delete_by_id((change.found.model.id, team_id)).exec(&*txn).await?;
    if removed.rows_affected == 0 {
        return Err(ApiError::bad_input("teamId", "is not assigned to this trajectory"));
    }
    op.log(&*txn, change.entry()).await?;
    txn.commit().await?;
    Ok(change.found.model)
}

/// Closes a trajectory: the rights of those who work in it end, and so do the delegations it
/// carries.
pub async fn close(db: &Database, op: &Operation<'_>, trajectory_id: Uuid) -> ApiResult<trajectory::Model> {
    let txn = db.begin_write().await?;
    let (txn, change) = for_change(db, txn, op, trajectory_id, rules::manage_trajectory).await?;
    let found = &change.found;
    if !found.relation.open {
        return Err(ApiError::conflict("the trajectory is already closed"));
    }
    let mut active: trajectory::ActiveModel = found.model.clone().into();
    active.status = Set(TrajectoryStatus::Closed);
    active.closed_at = Set(Some(op.now));
    let model = active.update(&*txn).await?;
    op.log(&*txn, change.entry()).await?;
    super::delegations::ending::end_with_trajectory(&txn, op, &model).await?;
    txn.commit().await?;
    Ok(model)
}

// ---------------------------------------------------------------------------------------------
// Reads behind the GraphQL fields

/// The trajectories of each of `client_ids`, newest first.
pub async fn of_clients(db: &impl ConnectionTrait, client_ids: &[Uuid]) -> Result<Vec<trajectory::Model>, DbErr> {
    trajectory::Entity::find()
        .filter(trajectory::Column::ClientId.among(db, client_ids.iter().copied()))
        .order_by_desc(trajectory::Column::Id)
        .all(db)
        .await
}

/// The trajectories the viewer is the client of, or works in (as coach, member or through a
/// team), newest first.
pub async fn of_viewer(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    status: Option<TrajectoryStatus>,
) -> Result<Vec<trajectory::Model>, DbErr> {
    let me = viewer.user_id;
    // One set of ids, as a UNION: an OR of subqueries would make the database walk every
    // trajectory (see `access::reachable_condition`). Links count only with their role.
    let mut sources = Vec::new();
    if rules::can_join_trajectories(viewer.roles) {
        sources.extend(crate::access::trajectories_worked_in(me));
    }
    if Link::Client.counts_for(viewer.roles) {
        sources.push(
            Query::select()
                .column(trajectory::Column::Id)
                .from(trajectory::Entity)
                .and_where(trajectory::Column::ClientId.eq(me))
                .to_owned(),
        );
    }
    let Some(ids) = crate::access::union_of(sources) else { return Ok(Vec::new()) };
    let mine = trajectory::Column::Id.in_subquery(ids);
    let mut query = trajectory::Entity::find().filter(mine).order_by_desc(trajectory::Column::Id);
    if let Some(status) = status {
        query = query.filter(trajectory::Column::Status.eq(status));
    }
    query.all(db).await
}

/// The members of each trajectory who still hold a care role, in the order they were added.
pub async fn members_of(
    db: &impl ConnectionTrait,
    trajectory_ids: &[Uuid],
) -> Result<Vec<trajectory_member::Model>, DbErr> {
    trajectory_member::Entity::find()
        .filter(trajectory_member::Column::TrajectoryId.among(db, trajectory_ids.iter().copied()))
        .filter(holds(trajectory_member::Column::UserId, Link::TrajectoryMember))
        .order_by_asc(trajectory_member::Column::AddedAt)
        .order_by_asc(trajectory_member::Column::UserId)
        .all(db)
        .await
}

/// The teams assigned to each trajectory: (trajectory id, team).
pub async fn teams_of(db: &impl ConnectionTrait, trajectory_ids: &[Uuid]) -> Result<Vec<(Uuid, team::Model)>, DbErr> {
    let links = trajectory_team::Entity::find()
        .filter(trajectory_team::Column::TrajectoryId.among(db, trajectory_ids.iter().copied()))
        .order_by_asc(trajectory_team::Column::AssignedAt)
        .all(db)
        .await?;
    let ids: HashSet<Uuid> = links.iter().map(|l| l.team_id).collect();
    let teams: HashMap<Uuid, team::Model> = team::Entity::find()
        .filter(team::Column::Id.among(db, ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(links.into_iter().filter_map(|l| teams.get(&l.team_id).map(|t| (l.trajectory_id, t.clone()))).collect())
}

/// The members of each team who still hold a care role.
pub async fn team_members_of(db: &impl ConnectionTrait, team_ids: &[Uuid]) -> Result<Vec<team_member::Model>, DbErr> {
    team_member::Entity::find()
        .filter(team_member::Column::TeamId.among(db, team_ids.iter().copied()))
        .filter(holds(team_member::Column::UserId, Link::TeamMember))
        .order_by_asc(team_member::Column::AddedAt)
        .order_by_asc(team_member::Column::UserId)
        .all(db)
        .await
}

/// The tasks of each trajectory, oldest first.
pub async fn tasks_of(db: &impl ConnectionTrait, trajectory_ids: &[Uuid]) -> Result<Vec<task::Model>, DbErr> {
    task::Entity::find()
        .filter(task::Column::TrajectoryId.among(db, trajectory_ids.iter().copied()))
        .order_by_asc(task::Column::Id)
        .all(db)
        .await
}

/// Open tasks, or all, of the trajectories the viewer works in, oldest first, each with its
/// trajectory: the tasks in one statement (their trajectories picked by the viewer's links in the
/// database), then only their trajectories.
pub async fn tasks_of_viewer(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    status: Option<TaskStatus>,
) -> Result<Vec<(task::Model, trajectory::Model)>, DbErr> {
    if !rules::can_join_trajectories(viewer.roles) {
        return Ok(Vec::new());
    }
    let Some(worked_in) = crate::access::union_of(crate::access::trajectories_worked_in(viewer.user_id)) else {
        return Ok(Vec::new());
    };
    let mut query =
        task::Entity::find().filter(task::Column::TrajectoryId.in_subquery(worked_in)).order_by_asc(task::Column::Id);
    if let Some(status) = status {
        query = query.filter(task::Column::Status.eq(status));
    }
    let tasks = query.all(db).await?;
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    // A professional who is also the client of a trajectory does not work on its tasks.
    let trajectories: HashMap<Uuid, trajectory::Model> = trajectory::Entity::find()
        .filter(trajectory::Column::Id.among(db, tasks.iter().map(|task| task.trajectory_id)))
        .filter(trajectory::Column::ClientId.ne(viewer.user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(tasks
        .into_iter()
        .filter_map(|task| trajectories.get(&task.trajectory_id).cloned().map(|trajectory| (task, trajectory)))
        .collect())
}

/// The task `id` and its trajectory, as the viewer may see them; NOT_FOUND otherwise.
pub async fn find_task(
    db: &impl ConnectionTrait,
    op: &Operation<'_>,
    id: Uuid,
) -> ApiResult<(task::Model, VisibleTrajectory)> {
    let task = task::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("task"))?;
    let trajectory = find(db, op, task.trajectory_id).await.map_err(|_| ApiError::not_found("task"))?;
    Ok((task, trajectory))
}

/// Marks an open task done; CONFLICT when it already is.
pub async fn complete_task(txn: &WriteTransaction, op: &Operation<'_>, task: &task::Model) -> ApiResult<()> {
    let done = task::Entity::update_many()
        .col_expr(task::Column::Status, sea_orm::sea_query::Expr::value(TaskStatus::Done))
        .col_expr(task::Column::CompletedAt, sea_orm::sea_query::Expr::value(op.now))
        .filter(task::Column::Id.eq(task.id))
        .filter(task::Column::Status.eq(TaskStatus::Open))
        .exec(&**txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::conflict("this task is already done"));
    }
    Ok(())
}

/// Protocols by id.
pub async fn protocols(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<protocol::Model>, DbErr> {
    protocol::Entity::find().filter(protocol::Column::Id.among(db, ids.iter().copied())).all(db).await
}
