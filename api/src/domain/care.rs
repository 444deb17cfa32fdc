//! Care relations, the dossier and tools: linking people to clients, writing dossier entries,
//! assigning tools, and the reads behind the Client fields.

use chrono::{DateTime, Utc};
use inzage_entity::{
    AuditAction, DossierEntryKind, NotificationKind, Role, audit_event, caseload_link, dossier_entry, relative_link,
    tool, tool_feedback, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts::{self, NewAccount, NewContact};
use super::links;
pub use super::links::CareLink;
use super::notifications::{self, Links};
use super::values::{DisplayName, Email, Invalid};
use crate::access::{self, ClientAccess, holds};
use crate::audit::AuditEntry;
use crate::db::AmongIds;
use crate::error::{ApiError, ApiResult};
use crate::policy::client::{self as rules, Basis, DossierScope, EntryTarget};
use crate::policy::{self, COUNSELOR_ROLES, Link};

/// The client `client_id` as the operation's viewer may see it; `NOT_FOUND` otherwise.
pub async fn visible_client(db: &impl ConnectionTrait, op: &Operation<'_>, client_id: Uuid) -> ApiResult<ClientAccess> {
    access::load_one(db, op.viewer, op.now, client_id).await?.ok_or_else(|| ApiError::not_found("client"))
}

/// Logs a refused change of `object_type` of `client_id` and returns the refusal.
async fn refuse(
    db: &crate::db::Database,
    op: &Operation<'_>,
    client_id: Uuid,
    action: AuditAction,
    object_type: &'static str,
    reason: &'static str,
) -> ApiError {
    op.refuse(db, AuditEntry::denied(client_id, action, object_type), reason).await
}

/// Links (or unlinks) a counselor, supervisor or guardian to a client.
pub async fn set_link(
    db: &crate::db::Database,
    op: &Operation<'_>,
    client_id: Uuid,
    person_id: Uuid,
    link: CareLink,
    linked: bool,
) -> ApiResult<ClientAccess> {
    let txn = db.begin_write().await?;
    let client = visible_client(&*txn, op, client_id).await?;
    let action = if linked { AuditAction::Create } else { AuditAction::Delete };
    let basis = match rules::link_to_client(op.viewer.roles, client.access.bases) {
        policy::Decision::Allow(basis) => basis,
        policy::Decision::Deny(reason) => {
            drop(txn);
            return Err(refuse(db, op, client_id, action, link.object_type(), reason).await);
        }
    };
    let person = accounts::find_visible(&*txn, op.viewer, person_id).await?;
    let person_roles = accounts::roles_of(&*txn, &[person.id]).await?.remove(&person.id).unwrap_or_default();
    if linked
        && (person.organization_id != client.client.organization_id
            || !person.active
            || person_roles.is_disjoint(link.required_roles()))
    {
        return Err(ApiError::bad_input(
            link.field(),
            "is not an active account with the right role in this organisation",
        ));
    }
    let now = op.now;
    if linked {
        links::insert(&*txn, link, person.id, client_id, now).await?;
    } else if link == CareLink::Counselor {
        links::remove_caseload(&*txn, person.id, client_id).await?;
    } else {
        return Err(ApiError::internal("unlinking supervisors and guardians is not offered"));
    }
    op.log(&*txn, AuditEntry::success(client_id, action, link.object_type()).on(person.id).basis(basis, None)).await?;
    txn.commit().await?;
    // The viewer's access may have changed (a counselor linking themself, or unlinking).
    Ok(access::load(db.conn(), op.viewer, now, &[client_id]).await?.remove(&client_id).unwrap_or(client))
}

/// A client creates a RELATIVE account linked to them.
pub async fn add_relative(
    db: &crate::db::Database,
    op: &Operation<'_>,
    email: Email,
    display_name: DisplayName,
) -> ApiResult<user::Model> {
    rules::add_relative(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    let relative = accounts::insert_account(
        &*txn,
        op.viewer.organization_id,
        NewAccount {
            email,
            display_name,
            roles: Role::Relative.into(),
            accepts_delegations: false,
            contact: NewContact::default(),
        },
        op.now,
    )
    .await?;
    relative_link::Entity::insert(relative_link::ActiveModel {
        relative_id: Set(relative.id),
        client_id: Set(op.viewer.user_id),
        created_at: Set(op.now),
    })
    .exec_without_returning(&*txn)
    .await?;
    let entry = AuditEntry::success(op.viewer.user_id, AuditAction::Create, "Relative")
        .on(relative.id)
        .basis(Some(Basis::Own), None);
    op.log(&*txn, entry).await?;
    txn.commit().await?;
    Ok(relative)
}

/// The relatives each of `client_ids` added who are still relatives, as (client, relative)
/// pairs ordered by relative.
pub async fn relatives_of(db: &impl ConnectionTrait, client_ids: &[Uuid]) -> Result<Vec<(Uuid, user::Model)>, DbErr> {
    let links = relative_link::Entity::find()
        .filter(relative_link::Column::ClientId.among(db, client_ids.iter().copied()))
        .filter(holds(relative_link::Column::RelativeId, Link::Relative))
        .all(db)
        .await?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let relatives = user::Entity::find()
        .filter(user::Column::Id.among(db, links.iter().map(|l| l.relative_id)))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let mut clients_of: std::collections::HashMap<Uuid, Vec<Uuid>> = std::collections::HashMap::new();
    for link in &links {
        clients_of.entry(link.relative_id).or_default().push(link.client_id);
    }
    let mut pairs = Vec::with_capacity(links.len());
    for relative in relatives {
        for &client in clients_of.get(&relative.id).map(Vec::as_slice).unwrap_or_default() {
            pairs.push((client, relative.clone()));
        }
    }
    Ok(pairs)
}

/// A new dossier entry, parsed.
#[derive(Debug, Clone)]
pub struct NewDossierEntry {
    pub kind: DossierEntryKind,
    pub title: DisplayName,
    pub body: String,
    pub trajectory_id: Option<Uuid>,
    pub workflow_id: Option<Uuid>,
}

/// Parses a dossier entry body: not blank, at most 100,000 characters.
pub fn parse_body(raw: &str) -> Result<String, Invalid> {
    super::values::free_text(raw, 100_000)
}

/// Writes a dossier entry (CASELOAD, DELEGATION, EMERGENCY; TRAJECTORY/TEAM in their
/// trajectory; the client a RESULT in their workflow).
pub async fn add_dossier_entry(
    db: &crate::db::Database,
    op: &Operation<'_>,
    client_id: Uuid,
    new: NewDossierEntry,
) -> ApiResult<dossier_entry::Model> {
    let txn = db.begin_write().await?;
    let client = visible_client(&*txn, op, client_id).await?;
    let in_own_trajectory = match new.trajectory_id {
        Some(trajectory_id) => {
            let of_client = inzage_entity::trajectory::Entity::find_by_id(trajectory_id)
                .one(&*txn)
                .await?
                .is_some_and(|t| t.client_id == client_id);
            if !of_client {
                return Err(ApiError::bad_input("input.trajectoryId", "is not a trajectory of this client"));
            }
            client.access.trajectories.contains(&trajectory_id)
        }
        None => false,
    };
    let in_participated_workflow = match new.workflow_id {
        Some(workflow_id) => {
            if !super::workflows::takes_part(&*txn, client_id, workflow_id).await? {
                return Err(ApiError::bad_input("input.workflowId", "is not a workflow this client takes part in"));
            }
            true
        }
        None => false,
    };
    let target =
        EntryTarget { is_result: new.kind == DossierEntryKind::Result, in_participated_workflow, in_own_trajectory };
    let decision = rules::write_dossier(client.access.bases, target);
    if let policy::Decision::Deny(reason) = decision {
        drop(txn);
        return Err(refuse(db, op, client_id, AuditAction::Create, "DossierEntry", reason).await);
    }
    let entry = dossier_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        kind: Set(new.kind),
        title: Set(new.title.into_inner()),
        body: Set(new.body),
        author_id: Set(Some(op.viewer.user_id)),
        trajectory_id: Set(new.trajectory_id),
        workflow_id: Set(new.workflow_id),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    let basis = decision.basis();
    let grant = basis.and_then(|b| client.access.grant_for(b));
    op.log(&*txn, AuditEntry::success(client_id, AuditAction::Create, "DossierEntry").on(entry.id).basis(basis, grant))
        .await?;
    txn.commit().await?;
    Ok(entry)
}

/// One page of a client's dossier, oldest first, limited to what `scope` allows:
/// `consented_workflows` are the workflows whose RESULT entries a CONSENT basis reads,
/// `own_trajectories` those whose entries a TRAJECTORY or TEAM basis reads.
pub async fn dossier_page(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    scope: DossierScope,
    consented_workflows: &[Uuid],
    own_trajectories: &[Uuid],
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<dossier_entry::Model>, DbErr> {
    let mut query = dossier_entry::Entity::find()
        .filter(dossier_entry::Column::ClientId.eq(client_id))
        .order_by_asc(dossier_entry::Column::Id)
        .limit(limit + 1);
    if !scope.all {
        let mut parts = Condition::any();
        let mut any = false;
        if scope.consented_results && !consented_workflows.is_empty() {
            parts = parts.add(
                Condition::all()
                    .add(dossier_entry::Column::Kind.eq(DossierEntryKind::Result))
                    .add(dossier_entry::Column::WorkflowId.among(db, consented_workflows.iter().copied())),
            );
            any = true;
        }
        if scope.own_trajectories && !own_trajectories.is_empty() {
            parts = parts.add(dossier_entry::Column::TrajectoryId.among(db, own_trajectories.iter().copied()));
            any = true;
        }
        if !any {
            return Ok(Vec::new());
        }
        query = query.filter(parts);
    }
    if let Some(after) = after {
        query = query.filter(dossier_entry::Column::Id.gt(after));
    }
    query.all(db).await
}

/// One page of a client's access log, oldest first.
pub async fn access_log_page(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut query = audit_event::Entity::find()
        .filter(audit_event::Column::ClientId.eq(client_id))
        .order_by_asc(audit_event::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(audit_event::Column::Id.gt(after));
    }
    query.all(db).await
}

/// A tool to assign, parsed.
#[derive(Debug, Clone)]
pub struct NewTool {
    pub name: DisplayName,
    pub content: String,
}

/// Assigns a tool to a client (SECRETARY or a counselor of the client).
pub async fn assign_tool(
    db: &crate::db::Database,
    op: &Operation<'_>,
    client_id: Uuid,
    counselor_id: Option<Uuid>,
    new: NewTool,
) -> ApiResult<(tool::Model, ClientAccess)> {
    let txn = db.begin_write().await?;
    let client = visible_client(&*txn, op, client_id).await?;
    let decision = rules::assign_tool(client.access.bases);
    if let policy::Decision::Deny(reason) = decision {
        drop(txn);
        return Err(refuse(db, op, client_id, AuditAction::Create, "Tool", reason).await);
    }
    let counselor_id = match counselor_id {
        Some(id) => {
            let counselor = accounts::find_visible(&*txn, op.viewer, id).await?;
            let roles = accounts::roles_of(&*txn, &[id]).await?.remove(&id).unwrap_or_default();
            if roles.is_disjoint(COUNSELOR_ROLES) || counselor.organization_id != client.client.organization_id {
                return Err(ApiError::bad_input("input.counselorId", "is not a counselor of this organisation"));
            }
            Some(id)
        }
        None if !op.viewer.roles.is_disjoint(COUNSELOR_ROLES) => Some(op.viewer.user_id),
        None => None,
    };
    let tool = insert_tool(&*txn, client_id, counselor_id, new, op.now).await?;
    let basis = decision.basis();
    op.log(&*txn, AuditEntry::success(client_id, AuditAction::Create, "Tool").on(tool.id).basis(basis, None)).await?;
    tell_tool_assigned(&txn, op, &tool.name, [client_id]).await?;
    txn.commit().await?;
    Ok((tool, client))
}

/// Tells `owners` that the tool `name` was set ready for each of them, with one notification
/// each. The title names the tool only: a tool given to every client of a group never names
/// the group.
pub(super) async fn tell_tool_assigned(
    txn: &crate::db::WriteTransaction,
    op: &Operation<'_>,
    name: &str,
    owners: impl IntoIterator<Item = Uuid>,
) -> Result<(), DbErr> {
    let title = format!("A new tool for you: {name}");
    notifications::notify(txn, owners, NotificationKind::ToolAssigned, &title, Links::default(), op.now);
    Ok(())
}

/// Feedback's body: not blank, at most 20,000 characters.
pub fn parse_feedback(raw: &str) -> Result<String, super::values::Invalid> {
    super::values::free_text(raw, 20_000)
}

/// Gives feedback on a tool (see [`rules::give_tool_feedback`]); its owner is told. NOT_FOUND
/// when the viewer may not see the tool (no basis for its owner that shows the tool list).
pub async fn give_tool_feedback(
    db: &crate::db::Database,
    op: &Operation<'_>,
    tool_id: Uuid,
    body: String,
) -> ApiResult<tool_feedback::Model> {
    let not_found = || ApiError::not_found("tool");
    let txn = db.begin_write().await?;
    let tool = tool::Entity::find_by_id(tool_id).one(&*txn).await?.ok_or_else(not_found)?;
    let owner = crate::access::load(&*txn, op.viewer, op.now, &[tool.owner_id]).await?.remove(&tool.owner_id);
    let Some(owner) = owner.filter(|owner| rules::read_tools(owner.access.bases).is_allowed()) else {
        return Err(not_found());
    };
    let owner_roles = accounts::roles_of(&*txn, &[tool.owner_id]).await?.remove(&tool.owner_id).unwrap_or_default();
    let relation = rules::ToolRelation {
        own_counselor: tool.counselor_id == Some(op.viewer.user_id),
        owner_is_relative: owner_roles.contains(Role::Relative) && !owner_roles.contains(Role::Client),
    };
    let decision = rules::give_tool_feedback(op.viewer.roles, owner.access.bases, relation);
    let basis = match decision {
        policy::Decision::Allow(basis) => basis,
        policy::Decision::Deny(reason) => {
            drop(txn);
            return Err(refuse(db, op, tool.owner_id, AuditAction::Create, "ToolFeedback", reason).await);
        }
    };
    let feedback = tool_feedback::ActiveModel {
        id: Set(Uuid::now_v7()),
        tool_id: Set(tool.id),
        author_id: Set(op.viewer.user_id),
        body: Set(body),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    let grant = basis.and_then(|basis| owner.access.grant_for(basis));
    let entry = AuditEntry::success(tool.owner_id, AuditAction::Create, "ToolFeedback").on(feedback.id);
    op.log(&*txn, entry.basis(basis, grant)).await?;
    let title = format!("Feedback on your tool {}", tool.name);
    let links = Links { client_id: Some(tool.owner_id), ..Links::default() };
    notifications::notify(&txn, [tool.owner_id], NotificationKind::ToolFeedback, &title, links, op.now);
    txn.commit().await?;
    Ok(feedback)
}

/// The feedback on each of `tool_ids`, oldest first.
pub async fn feedback_on(db: &impl ConnectionTrait, tool_ids: &[Uuid]) -> Result<Vec<tool_feedback::Model>, DbErr> {
    tool_feedback::Entity::find()
        .filter(tool_feedback::Column::ToolId.among(db, tool_ids.iter().copied()))
        .order_by_asc(tool_feedback::Column::Id)
        .all(db)
        .await
}

/// Inserts one tool for `owner_id`.
pub(super) async fn insert_tool(
    txn: &impl ConnectionTrait,
    owner_id: Uuid,
    counselor_id: Option<Uuid>,
    new: NewTool,
    now: DateTime<Utc>,
) -> Result<tool::Model, DbErr> {
    tool::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(owner_id),
        counselor_id: Set(counselor_id),
        name: Set(new.name.into_inner()),
        content: Set(new.content),
        assigned_at: Set(now),
    }
    .insert(txn)
    .await
}

/// A client or relative makes a self-help tool of their own.
pub async fn create_self_help_tool(
    db: &crate::db::Database,
    op: &Operation<'_>,
    new: NewTool,
) -> ApiResult<tool::Model> {
    rules::create_self_help_tool(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    let tool = insert_tool(&*txn, op.viewer.user_id, None, new, op.now).await?;
    let entry =
        AuditEntry::success(op.viewer.user_id, AuditAction::Create, "Tool").on(tool.id).basis(Some(Basis::Own), None);
    op.log(&*txn, entry).await?;
    txn.commit().await?;
    Ok(tool)
}

/// The tools each of `owner_ids` owns, oldest first.
pub async fn tools_of(db: &impl ConnectionTrait, owner_ids: &[Uuid]) -> Result<Vec<tool::Model>, DbErr> {
    tool::Entity::find()
        .filter(tool::Column::OwnerId.among(db, owner_ids.iter().copied()))
        .order_by_asc(tool::Column::Id)
        .all(db)
        .await
}

/// The active counselors linked to each of `client_ids` who are still counselors, as (client,
/// counselor) pairs.
pub async fn counselors_of(db: &impl ConnectionTrait, client_ids: &[Uuid]) -> Result<Vec<(Uuid, user::Model)>, DbErr> {
    let links = caseload_link::Entity::find()
        .filter(caseload_link::Column::ClientId.among(db, client_ids.iter().copied()))
        .filter(holds(caseload_link::Column::CounselorId, Link::Caseload))
        .all(db)
        .await?;
    let counselor_ids: Vec<Uuid> = links.iter().map(|l| l.counselor_id).collect();
    let counselors: std::collections::HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(Condition::all().add(user::Column::Id.among(db, counselor_ids)).add(user::Column::Active.eq(true)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut pairs: Vec<(Uuid, user::Model)> =
        links.into_iter().filter_map(|l| counselors.get(&l.counselor_id).map(|c| (l.client_id, c.clone()))).collect();
    pairs.sort_by_key(|(client, counselor)| (*client, counselor.id));
    Ok(pairs)
}

/// Everyone shown to each of `client_ids` as their counselor: their caseload counselors, the
/// primary coaches and members of their open trajectories, and the counselors of their
/// CLIENT_VISIBLE and MUTUAL groups; only active accounts that still hold the role their link
/// needs, each once per client, in that order (then by id). Returns (client, counselor).
///
/// Two statements whatever the number of clients: the links, then the few accounts they name
/// with their roles (checking each link's role in the database would look the same handful of
/// counselors up once per client).
pub async fn shown_counselors(
    db: &impl ConnectionTrait,
    client_ids: &[Uuid],
) -> Result<Vec<(Uuid, user::Model)>, DbErr> {
    use inzage_entity::{
        GroupVisibility, TrajectoryStatus, care_group, group_counselor, group_member, trajectory, trajectory_member,
    };
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Where each shown counselor comes from, in the order they are listed.
    const ORDER: [Link; 4] = [Link::Caseload, Link::TrajectoryCoach, Link::TrajectoryMember, Link::GroupCounselor];
    let ids = || client_ids.iter().copied();
    // Each kind of link is one bit: its place in ORDER.
    let pair = |client: Expr, counselor: Expr, place: usize| {
        Query::select()
            .expr_as(client, Alias::new("client_id"))
            .expr_as(counselor, Alias::new("counselor_id"))
            .expr_as(Expr::val(1i32 << place), Alias::new("link"))
            .to_owned()
    };
    let caseload: SelectStatement = pair(
        Expr::col((caseload_link::Entity, caseload_link::Column::ClientId)),
        Expr::col((caseload_link::Entity, caseload_link::Column::CounselorId)),
        0,
    )
    .from(caseload_link::Entity)
    .and_where(caseload_link::Column::ClientId.among(db, ids()))
    .to_owned();
    let coaches = pair(
        Expr::col((trajectory::Entity, trajectory::Column::ClientId)),
        Expr::col((trajectory::Entity, trajectory::Column::PrimaryCoachId)),
        1,
    )
    .from(trajectory::Entity)
    .and_where(trajectory::Column::ClientId.among(db, ids()))
    .and_where(trajectory::Column::Status.eq(TrajectoryStatus::Open))
    .and_where(trajectory::Column::PrimaryCoachId.is_not_null())
    .to_owned();
    let members = pair(
        Expr::col((trajectory::Entity, trajectory::Column::ClientId)),
        Expr::col((trajectory_member::Entity, trajectory_member::Column::UserId)),
        2,
    )
    .from(trajectory_member::Entity)
    .inner_join(
        trajectory::Entity,
        Expr::col((trajectory::Entity, trajectory::Column::Id))
            .equals((trajectory_member::Entity, trajectory_member::Column::TrajectoryId)),
    )
    .and_where(trajectory::Column::ClientId.among(db, ids()))
    .and_where(trajectory::Column::Status.eq(TrajectoryStatus::Open))
    .to_owned();
    let groups = pair(
        Expr::col((group_member::Entity, group_member::Column::UserId)),
        Expr::col((group_counselor::Entity, group_counselor::Column::UserId)),
        3,
    )
    .from(group_member::Entity)
    .inner_join(
        care_group::Entity,
        Expr::col((care_group::Entity, care_group::Column::Id))
            .equals((group_member::Entity, group_member::Column::GroupId)),
    )
    .inner_join(
        group_counselor::Entity,
        Expr::col((group_counselor::Entity, group_counselor::Column::GroupId))
            .equals((group_member::Entity, group_member::Column::GroupId)),
    )
    .and_where(group_member::Column::UserId.among(db, ids()))
    .and_where(care_group::Column::Visibility.ne(GroupVisibility::Invisible))
    .to_owned();
    let mut union = caseload;
    for part in [coaches, members, groups] {
        union.union(UnionType::All, part);
    }
    // One row per client and counselor, with the set of kinds of link between them as bits (a
    // counselor is often the caseload counselor, the coach and a member at once).
    let shown = Alias::new("shown");
    let query = Query::select()
        .column((shown.clone(), Alias::new("client_id")))
        .column((shown.clone(), Alias::new("counselor_id")))
        .expr_as(Expr::cust("SUM(DISTINCT \"shown\".\"link\")"), Alias::new("links"))
        .from_subquery(union, shown.clone())
        .group_by_col((shown.clone(), Alias::new("client_id")))
        .group_by_col((shown, Alias::new("counselor_id")))
        .to_owned();
    let mut pairs: Vec<(Uuid, Uuid, i64)> = Vec::new();
    for row in db.query_all(&query).await? {
        pairs.push((row.try_get("", "client_id")?, row.try_get("", "counselor_id")?, row.try_get("", "links")?));
    }
    let named: Vec<Uuid> = pairs.iter().map(|(_, counselor, _)| *counselor).collect();
    let accounts = accounts::with_roles(db, &named).await?;
    // Listed by the first kind of link that counts for the counselor's roles, then by id.
    let mut shown: Vec<(Uuid, usize, user::Model)> = pairs
        .into_iter()
        .filter_map(|(client, counselor, links)| {
            let (account, roles) = accounts.get(&counselor).filter(|(account, _)| account.active)?;
            let first = (0..ORDER.len()).find(|&place| links & (1 << place) != 0 && ORDER[place].counts_for(*roles))?;
            Some((client, first, account.clone()))
        })
        .collect();
    shown.sort_unstable_by_key(|(client, first, counselor)| (*client, *first, counselor.id));
    Ok(shown.into_iter().map(|(client, _, counselor)| (client, counselor)).collect())
}

/// The grants behind time-bound bases, by id.
#[derive(Debug, Default)]
pub struct Grants {
    pub consents: std::collections::HashMap<Uuid, inzage_entity::consent_request::Model>,
    pub delegations: std::collections::HashMap<Uuid, inzage_entity::delegation::Model>,
    pub emergencies: std::collections::HashMap<Uuid, inzage_entity::emergency_access::Model>,
}

/// The grants behind the time-bound bases of `accesses`, in three queries at most.
pub async fn grants_of<'a>(
    db: &impl ConnectionTrait,
    accesses: impl IntoIterator<Item = &'a crate::access::Access>,
) -> Result<Grants, DbErr> {
    use inzage_entity::{consent_request, delegation, emergency_access};
    let (mut consents, mut delegations, mut emergencies) = (Vec::new(), Vec::new(), Vec::new());
    for access in accesses {
        consents.extend(access.consents.iter().map(|grant| grant.id));
        delegations.extend(access.delegation.map(|(id, _)| id));
        emergencies.extend(access.emergency.map(|(id, _)| id));
    }
    let mut grants = Grants::default();
    if !consents.is_empty() {
        let rows =
            consent_request::Entity::find().filter(consent_request::Column::Id.among(db, consents)).all(db).await?;
        grants.consents = rows.into_iter().map(|row| (row.id, row)).collect();
    }
    if !delegations.is_empty() {
        let rows = delegation::Entity::find().filter(delegation::Column::Id.among(db, delegations)).all(db).await?;
        grants.delegations = rows.into_iter().map(|row| (row.id, row)).collect();
    }
    if !emergencies.is_empty() {
        let rows = emergency_access::Entity::find()
            .filter(emergency_access::Column::Id.among(db, emergencies))
            .all(db)
            .await?;
        grants.emergencies = rows.into_iter().map(|row| (row.id, row)).collect();
    }
    Ok(grants)
}
