//! Care groups: counselors linked to many members at once, in one of three visibility modes,
//! with reports for the counselors.

use std::collections::HashMap;

use inzage_entity::{
    AuditAction, GroupVisibility, care_group, group_counselor, group_member, group_report, tool, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts;
use super::care::NewTool;
use super::values::DisplayName;
use crate::access::ClientAccess;
use crate::access::holds;
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::Database;
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::policy::groups::{self as rules, GroupRelation};
use crate::policy::{Link, RoleSet};

/// A group the viewer may see, and how they stand to it.
#[derive(Debug, Clone)]
pub struct VisibleGroup {
    pub model: care_group::Model,
    pub relation: GroupRelation,
}

/// How `viewer` stands to `group`.
pub async fn relation(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    group: &care_group::Model,
) -> Result<GroupRelation, DbErr> {
    let counselor = group_counselor::Entity::find_by_id((group.id, viewer.user_id)).one(db).await?.is_some();
    let member = group_member::Entity::find_by_id((group.id, viewer.user_id)).one(db).await?.is_some();
    Ok(GroupRelation::of(viewer.roles, group.organization_id == viewer.organization_id, counselor, member))
}

/// The group `id` if it exists for the viewer; NOT_FOUND otherwise.
pub async fn find(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<VisibleGroup> {
    let not_found = || ApiError::not_found("group");
    let model = care_group::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    let relation = relation(db, viewer, &model).await?;
    if rules::see_group(viewer.roles, relation, model.visibility) {
        Ok(VisibleGroup { model, relation })
    } else {
        Err(not_found())
    }
}

/// The groups that exist for the viewer, oldest first.
pub async fn of_viewer(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<VisibleGroup>, DbErr> {
    let counseled: Vec<Uuid> = group_counselor::Entity::find()
        .filter(group_counselor::Column::UserId.eq(viewer.user_id))
        .select_only()
        .column(group_counselor::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?;
    let joined: Vec<Uuid> = group_member::Entity::find()
        .filter(group_member::Column::UserId.eq(viewer.user_id))
        .select_only()
        .column(group_member::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?;
    let mut query = care_group::Entity::find().order_by_asc(care_group::Column::Id);
    let mut any = sea_orm::Condition::any()
        .add(care_group::Column::Id.among(db, counseled.iter().copied()))
        .add(care_group::Column::Id.among(db, joined.iter().copied()));
    // A counselor-plus manages, and an administrator configures, every group of the organisation.
    if !viewer.roles.is_disjoint(inzage_entity::Role::CounselorPlus | inzage_entity::Role::Administrator) {
        any = any.add(care_group::Column::OrganizationId.eq(viewer.organization_id));
    }
    query = query.filter(any);
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|model| {
            let relation = GroupRelation::of(
                viewer.roles,
                model.organization_id == viewer.organization_id,
                counseled.contains(&model.id),
                joined.contains(&model.id),
            );
            VisibleGroup { model, relation }
        })
        .filter(|g| rules::see_group(viewer.roles, g.relation, g.model.visibility))
        .collect())
}

/// The groups each of `client_ids` is in that the viewer may see, oldest first, by client.
pub async fn of_clients(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    client_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<VisibleGroup>>, DbErr> {
    let memberships = group_member::Entity::find()
        .filter(group_member::Column::UserId.among(db, client_ids.iter().copied()))
        .all(db)
        .await?;
    if memberships.is_empty() {
        return Ok(HashMap::new());
    }
    let mut members_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for membership in memberships {
        members_of.entry(membership.group_id).or_default().push(membership.user_id);
    }
    let mut found: HashMap<Uuid, Vec<VisibleGroup>> = HashMap::new();
    for group in of_viewer(db, viewer).await? {
        for &member in members_of.get(&group.model.id).map(Vec::as_slice).unwrap_or_default() {
            found.entry(member).or_default().push(group.clone());
        }
    }
    Ok(found)
}

async fn manageable(db: &impl ConnectionTrait, op: &Operation<'_>, group_id: Uuid) -> ApiResult<VisibleGroup> {
    let group = find(db, op.viewer, group_id).await?;
    rules::manage_groups(op.viewer.roles, group.relation).check()?;
    Ok(group)
}

/// Creates a group of the viewer's organisation (COUNSELOR_PLUS).
pub async fn create(
    db: &Database,
    op: &Operation<'_>,
    name: DisplayName,
    visibility: GroupVisibility,
) -> ApiResult<care_group::Model> {
    rules::manage_groups(op.viewer.roles, GroupRelation { same_organization: true, ..Default::default() }).check()?;
    let txn = db.begin_write().await?;
    let model = care_group::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(op.viewer.organization_id),
        name: Set(name.into_inner()),
        visibility: Set(visibility),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Changes who sees the group; it takes effect on the next request.
pub async fn set_visibility(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    visibility: GroupVisibility,
) -> ApiResult<care_group::Model> {
    let txn = db.begin_write().await?;
    let group = manageable(&*txn, op, group_id).await?;
    let mut active: care_group::ActiveModel = group.model.into();
    active.visibility = Set(visibility);
    let model = active.update(&*txn).await?;
    txn.commit().await?;
    Ok(model)
}

/// Which list a person joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    Members,
    Counselors,
}

/// Adds members (CLIENT, GUARDIAN, EXTERNAL) or counselors (COUNSELOR, COUNSELOR_PLUS) of the
/// organisation; those already in are left as they are.
pub async fn add(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    user_ids: &[Uuid],
    joining: Joining,
) -> ApiResult<care_group::Model> {
    if user_ids.is_empty() {
        return Err(ApiError::bad_input("userIds", "must name at least one user"));
    }
    let txn = db.begin_write().await?;
    let group = manageable(&*txn, op, group_id).await?;
    let roles = accounts::roles_of(&*txn, user_ids).await?;
    let mut added = Vec::new();
    let needed: RoleSet = match joining {
        Joining::Members => Link::GroupMember.roles(),
        Joining::Counselors => Link::GroupCounselor.roles(),
    };
    for (index, id) in user_ids.iter().enumerate() {
        let field = format!("userIds[{index}]");
        let account = accounts::find_visible(&*txn, op.viewer, *id)
            .await
            .map_err(|_| ApiError::bad_input(field.clone(), "no such user"))?;
        let fits = account.active
            && account.organization_id == group.model.organization_id
            && !roles.get(id).copied().unwrap_or_default().is_disjoint(needed);
        if !fits {
            let what = match joining {
                Joining::Members => "is not an active client, guardian or external of the organisation",
                Joining::Counselors => "is not an active counselor of the organisation",
            };
            return Err(ApiError::bad_input(field, what));
        }
        let exists = match joining {
            Joining::Members => group_member::Entity::find_by_id((group.model.id, *id)).one(&*txn).await?.is_some(),
            Joining::Counselors => {
                group_counselor::Entity::find_by_id((group.model.id, *id)).one(&*txn).await?.is_some()
            }
        };
        if exists {
            continue;
        }
        added.push(*id);
        let inserted = match joining {
            Joining::Members => {
                group_member::ActiveModel { group_id: Set(group.model.id), user_id: Set(*id), added_at: Set(op.now) }
                    .insert(&*txn)
                    .await
                    .map(|_| ())
            }
            Joining::Counselors => {
                group_counselor::ActiveModel { group_id: Set(group.model.id), user_id: Set(*id), added_at: Set(op.now) }
                    .insert(&*txn)
                    .await
                    .map(|_| ())
            }
        };
        inserted.on_unique_violation(|| ApiError::conflict("added at the same time; try again"))?;
    }
    match joining {
        // A new counselor is a linked counselor of every client member.
        Joining::Counselors if !added.is_empty() => {
            let clients = client_members(&*txn, group.model.id).await?;
            log_change(&*txn, op, AuditAction::Create, "GroupCounselor", group.model.id, clients).await?;
        }
        Joining::Members => {
            let clients: Vec<Uuid> =
                added.into_iter().filter(|id| roles.get(id).is_some_and(|r| Link::Client.counts_for(*r))).collect();
            if !clients.is_empty() {
                log_change(&*txn, op, AuditAction::Create, "GroupMember", group.model.id, clients).await?;
            }
        }
        Joining::Counselors => {}
    }
    txn.commit().await?;
    Ok(group.model)
}

/// Removes a member (or a counselor) from the group.
pub async fn remove_member(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    user_id: Uuid,
) -> ApiResult<care_group::Model> {
    let txn = db.begin_write().await?;
    let group = manageable(&*txn, op, group_id).await?;
    let members = group_member::Entity::delete_by_id((group.model.id, user_id)).exec(&*txn).await?.rows_affected;
    let counselors = group_counselor::Entity::delete_by_id((group.model.id, user_id)).exec(&*txn).await?.rows_affected;
    if members + counselors == 0 {
        return Err(ApiError::bad_input("userId", "is not in this group"));
    }
    if counselors > 0 {
        let clients = client_members(&*txn, group.model.id).await?;
        log_change(&*txn, op, AuditAction::Delete, "GroupCounselor", group.model.id, clients).await?;
    }
    if members > 0 && accounts::holding(&*txn, &[user_id], Link::Client).await?.contains(&user_id) {
        log_change(&*txn, op, AuditAction::Delete, "GroupMember", group.model.id, vec![user_id]).await?;
    }
    txn.commit().await?;
    Ok(group.model)
}

/// The members of `group_id` who are clients.
async fn client_members(db: &impl ConnectionTrait, group_id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group_id))
        .filter(holds(group_member::Column::UserId, Link::Client))
        .select_only()
        .column(group_member::Column::UserId)
        .into_tuple()
        .all(db)
        .await
}

/// Logs a change of who is in a group: one row per client it concerns (a group counselor is
/// a linked counselor of every member), or one row without a client when it concerns none.
async fn log_change(
    txn: &impl ConnectionTrait,
    op: &Operation<'_>,
    action: AuditAction,
    object_type: &'static str,
    group_id: Uuid,
    clients: Vec<Uuid>,
) -> Result<(), DbErr> {
    op.log_for(txn, AuditEntry::success(Uuid::nil(), action, object_type).on(group_id), clients).await
}

/// Takes a counselor off the group (COUNSELOR_PLUS or ADMINISTRATOR of the organisation): their
/// group CASELOAD of every member ends with this transaction, which logs that end in each
/// client member's access log.
pub async fn remove_counselor(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    user_id: Uuid,
) -> ApiResult<care_group::Model> {
    let txn = db.begin_write().await?;
    let group = find(&*txn, op.viewer, group_id).await?;
    rules::remove_group_counselor(op.viewer.roles, group.relation).check()?;
    let removed = group_counselor::Entity::delete_by_id((group.model.id, user_id)).exec(&*txn).await?.rows_affected;
    if removed == 0 {
        return Err(ApiError::bad_input("userId", "is not a counselor of this group"));
    }
    let members = client_members(&*txn, group.model.id).await?;
    log_change(&*txn, op, AuditAction::Delete, "GroupCounselor", group.model.id, members).await?;
    txn.commit().await?;
    Ok(group.model)
}

/// A group report's body: not blank, at most 100,000 characters.
pub fn parse_report(raw: &str) -> Result<String, super::values::Invalid> {
    super::values::free_text(raw, 100_000)
}

/// A report by one of the group's counselors.
pub async fn write_report(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    body: String,
) -> ApiResult<group_report::Model> {
    let txn = db.begin_write().await?;
    let group = find(&*txn, op.viewer, group_id).await?;
    rules::group_reports(group.relation).check()?;
    let model = group_report::ActiveModel {
        id: Set(Uuid::now_v7()),
        group_id: Set(group.model.id),
        author_id: Set(op.viewer.user_id),
        body: Set(body),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// One page of a group's reports, oldest first.
pub async fn reports_page(
    db: &impl ConnectionTrait,
    group_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<group_report::Model>, DbErr> {
    let mut query = group_report::Entity::find()
        .filter(group_report::Column::GroupId.eq(group_id))
        .order_by_asc(group_report::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(group_report::Column::Id.gt(after));
    }
    query.all(db).await
}

/// The counselors of each group, by group id: those who are still counselors.
pub async fn counselors_of(
    db: &impl ConnectionTrait,
    group_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<user::Model>>, DbErr> {
    let links = group_counselor::Entity::find()
        .filter(group_counselor::Column::GroupId.among(db, group_ids.iter().copied()))
        .filter(holds(group_counselor::Column::UserId, Link::GroupCounselor))
        .order_by_asc(group_counselor::Column::AddedAt)
        .all(db)
        .await?;
    grouped_users(db, links.into_iter().map(|l| (l.group_id, l.user_id)).collect()).await
}

/// The members of each group, by group id: those who still hold a member's role.
pub async fn members_of(
    db: &impl ConnectionTrait,
    group_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<user::Model>>, DbErr> {
    let links = group_member::Entity::find()
        .filter(group_member::Column::GroupId.among(db, group_ids.iter().copied()))
        .filter(holds(group_member::Column::UserId, Link::GroupMember))
        .order_by_asc(group_member::Column::AddedAt)
        .all(db)
        .await?;
    grouped_users(db, links.into_iter().map(|l| (l.group_id, l.user_id)).collect()).await
}

async fn grouped_users(
    db: &impl ConnectionTrait,
    pairs: Vec<(Uuid, Uuid)>,
) -> Result<HashMap<Uuid, Vec<user::Model>>, DbErr> {
    let ids: Vec<Uuid> = pairs.iter().map(|(_, u)| *u).collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.among(db, ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut grouped: HashMap<Uuid, Vec<user::Model>> = HashMap::new();
    for (group, user_id) in pairs {
        if let Some(user) = users.get(&user_id) {
            grouped.entry(group).or_default().push(user.clone());
        }
    }
    Ok(grouped)
}

/// Sets a tool ready for every CLIENT member of a group (its counselors and a COUNSELOR_PLUS of
/// the organisation), in every visibility mode: one tool per client, owned by them, each client
/// told (TOOL_ASSIGNED) and each creation in that client's access log. Nothing a member can read
/// names the group. `counselor_id` (one of the group's counselors) becomes the tools'
/// counselor; by default the viewer, when they counsel the group.
pub async fn assign_tool(
    db: &Database,
    op: &Operation<'_>,
    group_id: Uuid,
    counselor_id: Option<Uuid>,
    new: NewTool,
) -> ApiResult<(Vec<tool::Model>, HashMap<Uuid, ClientAccess>)> {
    let txn = db.begin_write().await?;
    let group = find(&*txn, op.viewer, group_id).await?;
    rules::address_group(op.viewer.roles, group.relation).check()?;
    let counselor_id = match counselor_id {
        Some(id) => {
            let counsels = counselors_of(&*txn, &[group.model.id]).await?.remove(&group.model.id).unwrap_or_default();
            if !counsels.iter().any(|counselor| counselor.id == id && counselor.active) {
                return Err(ApiError::bad_input("counselorId", "is not a counselor of this group"));
            }
            Some(id)
        }
        None => group.relation.counselor.then_some(op.viewer.user_id),
    };
    let clients = client_members(&*txn, group.model.id).await?;
    let tools: Vec<tool::Model> = clients
        .iter()
        .map(|&owner| tool::Model {
            id: Uuid::now_v7(),
            owner_id: owner,
            counselor_id,
            name: new.name.clone().into_inner(),
            content: new.content.clone(),
            assigned_at: op.now,
        })
        .collect();
    if !tools.is_empty() {
        let rows = tools.iter().cloned().map(sea_orm::IntoActiveModel::into_active_model);
        tool::Entity::insert_many(rows).exec_without_returning(&*txn).await?;
    }
    let access = crate::access::load(&*txn, op.viewer, op.now, &clients).await?;
    let entries = tools.iter().map(|tool| {
        let bases = access.get(&tool.owner_id).map(|found| found.access.bases).unwrap_or_default();
        let basis = crate::policy::client::assign_tool(bases).basis();
        AuditEntry::success(tool.owner_id, AuditAction::Create, "Tool").on(tool.id).basis(basis, None)
    });
    op.log_many(&*txn, entries.collect()).await?;
    super::care::tell_tool_assigned(&txn, op, &new.name.clone().into_inner(), clients.iter().copied()).await?;
    txn.commit().await?;
    Ok((tools, access))
}
