//! An organisation's trajectory teams and the roles its trajectory and team members may be
//! given. A team on a trajectory gives each of its members TEAM access to the trajectory's
//! client; taking a member off a team, or a team off a trajectory, ends that access with the
//! transaction that does it (access is read afresh on every request, on every instance).

use inzage_entity::{
    AuditAction, TrajectoryKind, TrajectoryStatus, member_role, protocol, team, team_member, trajectory,
    trajectory_team,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts::care_professional;
use super::values::{DisplayName, Invalid};
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::Database;
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::policy::trajectories as rules;

/// The roles an organisation starts with, until its administrator sets its own.
pub const DEFAULT_MEMBER_ROLES: [&str; 3] = ["second coach", "labour expert", "back office"];

/// How many roles an organisation may list.
pub const MAX_MEMBER_ROLES: usize = 50;

/// A list of member roles: each a name (see [`DisplayName`]), none twice (ignoring case), at
/// least one and at most [`MAX_MEMBER_ROLES`]. `Err` names the index at fault, if one is.
pub fn parse_member_roles(raw: &[String]) -> Result<Vec<String>, (Option<usize>, Invalid)> {
    if raw.is_empty() {
        return Err((None, Invalid("must list at least one role".into())));
    }
    if raw.len() > MAX_MEMBER_ROLES {
        return Err((None, Invalid(format!("must list at most {MAX_MEMBER_ROLES} roles"))));
    }
    let mut roles: Vec<String> = Vec::with_capacity(raw.len());
    for (index, role) in raw.iter().enumerate() {
        let role = DisplayName::parse(role).map_err(|e| (Some(index), e))?.into_inner();
        if roles.iter().any(|known| known.to_lowercase() == role.to_lowercase()) {
            return Err((Some(index), Invalid(format!("lists \"{role}\" twice"))));
        }
        roles.push(role);
    }
    Ok(roles)
}

/// The member roles of each of `organization_ids`, in their order (the defaults for an
/// organisation that set none).
pub async fn member_roles_of(
    db: &impl ConnectionTrait,
    organization_ids: &[Uuid],
) -> Result<Vec<(Uuid, Vec<String>)>, DbErr> {
    let rows = member_role::Entity::find()
        .filter(member_role::Column::OrganizationId.among(db, organization_ids.iter().copied()))
        .order_by_asc(member_role::Column::Position)
        .all(db)
        .await?;
    Ok(organization_ids
        .iter()
        .map(|&organization| {
            let own: Vec<String> =
                rows.iter().filter(|row| row.organization_id == organization).map(|row| row.name.clone()).collect();
            let roles = if own.is_empty() { DEFAULT_MEMBER_ROLES.map(str::to_owned).to_vec() } else { own };
            (organization, roles)
        })
        .collect())
}

/// `role` as the organisation lists it (matched ignoring case); BAD_USER_INPUT at `field` when
/// the organisation does not list it.
pub async fn member_role(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    role: &str,
    field: &str,
) -> ApiResult<String> {
    let listed = member_roles_of(db, &[organization_id]).await?.pop().map(|(_, roles)| roles).unwrap_or_default();
    listed.into_iter().find(|known| known.to_lowercase() == role.to_lowercase()).ok_or_else(|| {
        ApiError::bad_input(field, "is not one of the organisation's member roles (see Organization.memberRoles)")
    })
}

/// Replaces the organisation's member roles (ADMINISTRATOR). Members who already hold a role
/// that is no longer listed keep it; the list governs who is added from now on.
pub async fn set_member_roles(db: &Database, op: &Operation<'_>, roles: Vec<String>) -> ApiResult<()> {
    rules::configure(op.viewer.roles).check()?;
    let organization = op.viewer.organization_id;
    let txn = db.begin_write().await?;
    member_role::Entity::delete_many().filter(member_role::Column::OrganizationId.eq(organization)).exec(&*txn).await?;
    let rows = roles.into_iter().enumerate().map(|(position, name)| member_role::ActiveModel {
        organization_id: Set(organization),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        name: Set(name),
    });
    member_role::Entity::insert_many(rows).exec_without_returning(&*txn).await?;
    op.log(
        &*txn,
        AuditEntry { client_id: None, ..AuditEntry::success(Uuid::nil(), AuditAction::Update, "MemberRoles") },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Teams

/// The teams of the viewer's organisation, by name; none for those who may not see its
/// configuration.
pub async fn of_organization(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<team::Model>, DbErr> {
    if !rules::see_configuration(viewer.roles, true) {
        return Ok(Vec::new());
    }
    team::Entity::find()
        .filter(team::Column::OrganizationId.eq(viewer.organization_id))
        .order_by_asc(team::Column::Name)
        .order_by_asc(team::Column::Id)
        .all(db)
        .await
}

/// The protocols of the viewer's organisation (of one kind, when given), by name; none for
/// those who may not see its configuration.
pub async fn protocols(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    kind: Option<TrajectoryKind>,
) -> Result<Vec<protocol::Model>, DbErr> {
    if !rules::see_configuration(viewer.roles, true) {
        return Ok(Vec::new());
    }
    let mut query = protocol::Entity::find().filter(protocol::Column::OrganizationId.eq(viewer.organization_id));
    if let Some(kind) = kind {
        query = query.filter(protocol::Column::Kind.eq(kind));
    }
    query.order_by_asc(protocol::Column::Name).order_by_asc(protocol::Column::Id).all(db).await
}

/// Creates a team of the viewer's organisation (ADMINISTRATOR).
pub async fn create(db: &Database, op: &Operation<'_>, name: DisplayName) -> ApiResult<team::Model> {
    rules::configure(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    let model = team::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(op.viewer.organization_id),
        name: Set(name.into_inner()),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    op.log(&*txn, entry(AuditAction::Create, "Team", model.id)).await?;
    txn.commit().await?;
    Ok(model)
}

/// The team `id` if the viewer is a professional of its organisation; NOT_FOUND otherwise.
pub async fn find(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<team::Model> {
    team::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| rules::see_configuration(viewer.roles, t.organization_id == viewer.organization_id))
        .ok_or_else(|| ApiError::not_found("team"))
}

/// The team `id` for a change by its organisation's ADMINISTRATOR: NOT_FOUND when the viewer
/// may not see it, FORBIDDEN when they may see but not change it.
async fn for_change(db: &impl ConnectionTrait, op: &Operation<'_>, id: Uuid) -> ApiResult<team::Model> {
    let team = find(db, op.viewer, id).await?;
    rules::configure(op.viewer.roles).check()?;
    Ok(team)
}

/// Adds a member (an active professional of the organisation) to a team with one of the
/// organisation's member roles (ADMINISTRATOR).
pub async fn add_member(
    db: &Database,
    op: &Operation<'_>,
    team_id: Uuid,
    user_id: Uuid,
    role: String,
) -> ApiResult<team::Model> {
    let txn = db.begin_write().await?;
    let team = for_change(&*txn, op, team_id).await?;
    care_professional(&*txn, op.viewer, team.organization_id, user_id, "userId").await?;
    let role = member_role(&*txn, team.organization_id, &role, "role").await?;
    team_member::ActiveModel { team_id: Set(team.id), user_id: Set(user_id), role: Set(role), added_at: Set(op.now) }
        .insert(&*txn)
        .await
        .on_unique_violation(|| ApiError::conflict("this user is already in the team"))?;
    let clients = clients_of(&*txn, team.id).await?;
    op.log_for(&*txn, entry(AuditAction::Create, "TeamMember", team.id), clients).await?;
    txn.commit().await?;
    Ok(team)
}

/// Renames a team (ADMINISTRATOR).
pub async fn rename(db: &Database, op: &Operation<'_>, team_id: Uuid, name: DisplayName) -> ApiResult<team::Model> {
    let txn = db.begin_write().await?;
    let team = for_change(&*txn, op, team_id).await?;
    let mut active = team.into_active_model();
    active.name = Set(name.into_inner());
    let team = active.update(&*txn).await?;
    op.log(&*txn, entry(AuditAction::Update, "Team", team.id)).await?;
    txn.commit().await?;
    Ok(team)
}

/// Takes a member off a team (ADMINISTRATOR): their TEAM access to the clients of the team's
/// trajectories ends with this transaction, which logs that end in each client's access log.
pub async fn remove_member(db: &Database, op: &Operation<'_>, team_id: Uuid, user_id: Uuid) -> ApiResult<team::Model> {
    let txn = db.begin_write().await?;
    let team = for_change(&*txn, op, team_id).await?;
    let removed = team_member::Entity::delete_by_id((team.id, user_id)).exec(&*txn).await?.rows_affected;
    if removed == 0 {
        return Err(ApiError::bad_input("userId", "is not a member of this team"));
    }
    let clients = clients_of(&*txn, team.id).await?;
    op.log_for(&*txn, entry(AuditAction::Delete, "TeamMember", team.id), clients).await?;
    txn.commit().await?;
    Ok(team)
}

/// Deletes a team (ADMINISTRATOR), taking it off every trajectory first: its members' TEAM
/// access ends with this transaction.
pub async fn delete(db: &Database, op: &Operation<'_>, team_id: Uuid) -> ApiResult<Uuid> {
    let txn = db.begin_write().await?;
    let team = for_change(&*txn, op, team_id).await?;
    let clients = clients_of(&*txn, team.id).await?;
    trajectory_team::Entity::delete_many().filter(trajectory_team::Column::TeamId.eq(team.id)).exec(&*txn).await?;
    team_member::Entity::delete_many().filter(team_member::Column::TeamId.eq(team.id)).exec(&*txn).await?;
    team::Entity::delete_by_id(team.id).exec(&*txn).await?;
    op.log_for(&*txn, entry(AuditAction::Delete, "Team", team.id), clients).await?;
    txn.commit().await?;
    Ok(team.id)
}

/// The clients of the open trajectories `team_id` is assigned to: those whose access changes
/// when the team's membership does.
async fn clients_of(db: &impl ConnectionTrait, team_id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    trajectory::Entity::find()
        .select_only()
        .column(trajectory::Column::ClientId)
        .distinct()
        .filter(trajectory::Column::Status.eq(TrajectoryStatus::Open))
        .filter(
            trajectory::Column::Id.in_subquery(
                Query::select()
                    .column(trajectory_team::Column::TrajectoryId)
                    .from(trajectory_team::Entity)
                    .and_where(trajectory_team::Column::TeamId.eq(team_id))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(db)
        .await
}

/// A change to the organisation's teams, with the team as its object.
fn entry(action: AuditAction, object_type: &'static str, team_id: Uuid) -> AuditEntry {
    AuditEntry { client_id: None, ..AuditEntry::success(Uuid::nil(), action, object_type).on(team_id) }
}
