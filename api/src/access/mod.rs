//! The viewer's bases towards clients, loaded for many clients at once with a fixed number of
//! queries (one per kind of link), whatever the number of clients.
//!
//! This module finds facts (links, grants); `policy` decides what they allow. A client is an
//! account with the CLIENT role; anything else is not a client for anyone. `holders` looks the
//! other way: everyone with a basis towards one client.

pub mod holders;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inzage_entity::{
    ConsentStatus, DelegationStatus, GroupVisibility, Role, TrajectoryStatus, care_group, caseload_link,
    consent_request, delegation, emergency_access, group_counselor, group_member, guardian_link, relative_link,
    supervision_link, team_member, trajectory, trajectory_member, trajectory_team, user, user_role,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::policy::client::{Basis, BasisSet, effective_bases};
use crate::policy::links::{CARE_ROLES, EMERGENCY_ROLES, GROUP_MEMBER_ROLES, WORKFLOW_ROLES};
use crate::policy::{COUNSELOR_ROLES, Link, RoleSet};

/// What one viewer has towards one client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The bases, already narrowed to the viewer's roles.
    pub bases: BasisSet,
    /// The active emergency access behind the EMERGENCY basis: its id and end.
    pub emergency: Option<(Uuid, DateTime<Utc>)>,
    /// The granted, unexpired consents behind the CONSENT basis.
    pub consents: Vec<ConsentGrant>,
    /// The open trajectories of the client the viewer works in (TRAJECTORY and TEAM bases).
    pub trajectories: Vec<Uuid>,
    /// The active delegation behind the DELEGATION basis: its id and end, if it has one.
    pub delegation: Option<(Uuid, Option<DateTime<Utc>>)>,
}

/// A participant's consent to the viewer's access to their results in one workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentGrant {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub until: DateTime<Utc>,
}

impl Access {
    /// The access an account has to its own things.
    pub fn own() -> Self {
        Self { bases: Basis::Own.into(), ..Self::default() }
    }

    /// The grant a basis rests on, for the audit log.
    pub fn grant_for(&self, basis: Basis) -> Option<Uuid> {
        match basis {
            Basis::Emergency => self.emergency.map(|(id, _)| id),
            Basis::Consent => self.consents.first().map(|grant| grant.id),
            Basis::Delegation => self.delegation.map(|(id, _)| id),
            Basis::Trajectory | Basis::Team => self.trajectories.first().copied(),
            _ => None,
        }
    }

    /// The consent that lets the viewer read results in `workflow_id`, if any.
    pub fn consent_in(&self, workflow_id: Uuid) -> Option<&ConsentGrant> {
        self.consents.iter().find(|grant| grant.workflow_id == workflow_id)
    }

    /// The workflows whose results the viewer may read on a consent.
    pub fn consented_workflows(&self) -> Vec<Uuid> {
        self.consents.iter().map(|grant| grant.workflow_id).collect()
    }

    /// The earliest end of a time-bound basis, if any.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let emergency = self.emergency.map(|(_, ends)| ends);
        let consent = self.consents.iter().map(|grant| grant.until).min();
        let delegation = self.delegation.and_then(|(_, ends)| ends);
        emergency.into_iter().chain(consent).chain(delegation).min()
    }
}

/// A client account and the viewer's access to it.
#[derive(Debug, Clone)]
pub struct ClientAccess {
    pub client: user::Model,
    pub access: Access,
}

/// `EXISTS (SELECT 1 FROM user_role WHERE user_id = <holder> AND role IN (…))`: the account in
/// `holder` (a column of a link table) holds a role for which `link` counts, so that lists of
/// people shown through a link leave out those who no longer hold it.
pub fn holds(holder: impl ColumnTrait, link: Link) -> sea_orm::sea_query::SimpleExpr {
    // The holder's column is named with its table: unqualified, `user_id` would mean the role
    // table's own column inside the subquery.
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(user_role::Entity)
            .and_where(Expr::col((user_role::Entity, user_role::Column::UserId)).equals((holder.entity_name(), holder)))
            .and_where(user_role::Column::Role.is_in(link.roles().iter()))
            .to_owned(),
    )
}

/// Accounts among `ids` that are clients.
fn clients_among(ids: &[Uuid]) -> Condition {
    Condition::all().add(user::Column::Id.is_in(ids.iter().copied())).add(is_client())
}

/// `EXISTS (SELECT 1 FROM user_role WHERE user_id = app_user.id AND role = 'CLIENT')`: a
/// lookup in the role table's primary key per account considered. (`id IN (SELECT user_id …
/// WHERE role = 'CLIENT')` would read every client's role row, a million of them for a large
/// care provider, to keep the few accounts a request is about.)
fn is_client() -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(user_role::Entity)
            .and_where(
                Expr::col((user_role::Entity, user_role::Column::UserId)).equals((user::Entity, user::Column::Id)),
            )
            .and_where(user_role::Column::Role.eq(Role::Client))
            .to_owned(),
    )
}

/// Loads the viewer's access to each of `ids` that is a client; ids that are not clients, or
/// that the viewer has no basis for, map to an empty `Access` (or are absent).
pub async fn load(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ClientAccess>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let clients = user::Entity::find().filter(clients_among(ids)).all(db).await?;
    let mut found: HashMap<Uuid, Access> = clients.iter().map(|c| (c.id, Access::default())).collect();
    let client_ids: Vec<Uuid> = found.keys().copied().collect();
    if client_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let roles = viewer.roles;

    if let Some(access) = found.get_mut(&viewer.user_id) {
        access.bases.insert(Basis::Own);
    }
    if roles.contains(Role::Secretary) {
        for client in clients.iter().filter(|c| c.organization_id == viewer.organization_id) {
            if let Some(access) = found.get_mut(&client.id) {
                access.bases.insert(Basis::Secretary);
            }
        }
    }
    if !roles.is_disjoint(COUNSELOR_ROLES) {
        let rows = caseload_link::Entity::find()
            .filter(caseload_link::Column::CounselorId.eq(viewer.user_id))
            .filter(caseload_link::Column::ClientId.is_in(client_ids.iter().copied()))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.client_id), Basis::Caseload);
        // A counselor of a group is a linked counselor of every member.
        let rows = group_member::Entity::find()
            .filter(group_member::Column::UserId.is_in(client_ids.iter().copied()))
            .filter(group_member::Column::GroupId.in_subquery(counselor_groups(viewer.user_id)))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.user_id), Basis::Caseload);
    }
    if !roles.is_disjoint(GROUP_MEMBER_ROLES) {
        let rows = group_member::Entity::find()
            .filter(group_member::Column::UserId.is_in(client_ids.iter().copied()))
            .filter(group_member::Column::UserId.ne(viewer.user_id))
            .filter(group_member::Column::GroupId.in_subquery(mutual_groups_of(viewer.user_id)))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.user_id), Basis::GroupPeer);
    }
    if roles.contains(Role::Supervisor) {
        let rows = supervision_link::Entity::find()
            .filter(supervision_link::Column::SupervisorId.eq(viewer.user_id))
            .filter(supervision_link::Column::ClientId.is_in(client_ids.iter().copied()))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.client_id), Basis::Supervisor);
    }
    if roles.contains(Role::Guardian) {
        let rows = guardian_link::Entity::find()
            .filter(guardian_link::Column::GuardianId.eq(viewer.user_id))
            .filter(guardian_link::Column::ClientId.is_in(client_ids.iter().copied()))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.client_id), Basis::Guardian);
    }
    if roles.contains(Role::Relative) {
        let rows = relative_link::Entity::find()
            .filter(relative_link::Column::RelativeId.eq(viewer.user_id))
            .filter(relative_link::Column::ClientId.is_in(client_ids.iter().copied()))
            .all(db)
            .await?;
        mark(&mut found, rows.into_iter().map(|r| r.client_id), Basis::Relative);
    }
    if !roles.is_disjoint(EMERGENCY_ROLES) {
        let rows = emergency_access::Entity::find()
            .filter(emergency_access::Column::UserId.eq(viewer.user_id))
            .filter(emergency_access::Column::ClientId.is_in(client_ids.iter().copied()))
            .filter(emergency_access::Column::StartsAt.lte(now))
            .filter(emergency_access::Column::EndsAt.gt(now))
            .all(db)
            .await?;
        for row in rows {
            if let Some(access) = found.get_mut(&row.client_id) {
                access.bases.insert(Basis::Emergency);
                // Keep the one that lasts longest.
                if access.emergency.is_none_or(|(_, ends)| ends < row.ends_at) {
                    access.emergency = Some((row.id, row.ends_at));
                }
            }
        }
    }
    if !roles.is_disjoint(WORKFLOW_ROLES) {
        let rows = consent_request::Entity::find()
            .filter(granted_consents(viewer.user_id, now))
            .filter(consent_request::Column::ClientId.is_in(client_ids.iter().copied()))
            .order_by_asc(consent_request::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            if let (Some(access), Some(until)) = (found.get_mut(&row.client_id), row.granted_until) {
                access.bases.insert(Basis::Consent);
                access.consents.push(ConsentGrant { id: row.id, workflow_id: row.workflow_id, until });
            }
        }
    }

    if !roles.is_disjoint(CARE_ROLES) {
        let open = trajectory::Entity::find()
            .filter(trajectory::Column::ClientId.is_in(client_ids.iter().copied()))
            .filter(trajectory::Column::Status.eq(TrajectoryStatus::Open));
        let coached_or_member = open
            .clone()
            .filter(
                Condition::any()
                    .add(trajectory::Column::PrimaryCoachId.eq(viewer.user_id))
                    .add(trajectory::Column::Id.in_subquery(member_of(viewer.user_id))),
            )
            .all(db)
            .await?;
        for row in coached_or_member {
            if let Some(access) = found.get_mut(&row.client_id) {
                access.bases.insert(Basis::Trajectory);
                access.trajectories.push(row.id);
            }
        }
        let through_team =
            open.filter(trajectory::Column::Id.in_subquery(team_trajectories(viewer.user_id))).all(db).await?;
        for row in through_team {
            if let Some(access) = found.get_mut(&row.client_id) {
                access.bases.insert(Basis::Team);
                if !access.trajectories.contains(&row.id) {
                    access.trajectories.push(row.id);
                }
            }
        }
        let delegations = delegation::Entity::find()
            .filter(active_delegations(viewer.user_id, now))
            .filter(delegation::Column::ClientId.is_in(client_ids.iter().copied()))
            .order_by_asc(delegation::Column::Id)
            .all(db)
            .await?;
        for row in delegations {
            if let Some(access) = found.get_mut(&row.client_id) {
                access.bases.insert(Basis::Delegation);
                // Keep the one that lasts longest (no end lasts longest).
                let longer = match access.delegation {
                    None => true,
                    Some((_, current)) => current.is_some() && row.ends_at.is_none_or(|ends| Some(ends) > current),
                };
                if longer {
                    access.delegation = Some((row.id, row.ends_at));
                }
            }
        }
    }

    Ok(clients
        .into_iter()
        .map(|client| {
            let access = narrow(found.remove(&client.id).unwrap_or_default(), roles);
            (client.id, ClientAccess { client, access })
        })
        .collect())
}

/// `access` as someone with `roles` has it: only the bases their roles let count (see
/// [`effective_bases`]), and only the grants behind those bases.
fn narrow(mut access: Access, roles: RoleSet) -> Access {
    access.bases = effective_bases(roles, access.bases);
    if !access.bases.contains(Basis::Emergency) {
        access.emergency = None;
    }
    if !access.bases.contains(Basis::Consent) {
        access.consents.clear();
    }
    if access.bases.is_disjoint(Basis::Trajectory | Basis::Team) {
        access.trajectories.clear();
    }
    if !access.bases.contains(Basis::Delegation) {
        access.delegation = None;
    }
    access
}

/// Consents granted to `professional` that still run at `now`. A revoked or expired consent is
/// no longer GRANTED; one past its end counts as expired whether or not the scheduler has
/// recorded that yet.
fn granted_consents(professional: Uuid, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(consent_request::Column::ProfessionalId.eq(professional))
        .add(consent_request::Column::Status.eq(ConsentStatus::Granted))
        .add(consent_request::Column::GrantedUntil.gt(now))
}

/// The groups `user_id` is a counselor of.
fn counselor_groups(user_id: Uuid) -> SelectStatement {
    Query::select()
        .column(group_counselor::Column::GroupId)
        .from(group_counselor::Entity)
        .and_where(group_counselor::Column::UserId.eq(user_id))
        .to_owned()
}

/// The MUTUAL groups `user_id` is a member of.
pub fn mutual_groups_of(user_id: Uuid) -> SelectStatement {
    Query::select()
        .column(group_member::Column::GroupId)
        .from(group_member::Entity)
        .and_where(group_member::Column::UserId.eq(user_id))
        .and_where(
            group_member::Column::GroupId.in_subquery(
                Query::select()
                    .column(care_group::Column::Id)
                    .from(care_group::Entity)
                    .and_where(care_group::Column::Visibility.eq(GroupVisibility::Mutual))
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// `SELECT trajectory_id FROM trajectory_member WHERE user_id = ?`.
fn member_of(user_id: Uuid) -> SelectStatement {
    Query::select()
        .column(trajectory_member::Column::TrajectoryId)
        .from(trajectory_member::Entity)
        .and_where(trajectory_member::Column::UserId.eq(user_id))
        .to_owned()
}

/// The trajectories a team of `user_id` is assigned to.
fn team_trajectories(user_id: Uuid) -> SelectStatement {
    Query::select()
        .column(trajectory_team::Column::TrajectoryId)
        .from(trajectory_team::Entity)
        .and_where(
            trajectory_team::Column::TeamId.in_subquery(
                Query::select()
                    .column(team_member::Column::TeamId)
                    .from(team_member::Entity)
                    .and_where(team_member::Column::UserId.eq(user_id))
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// Delegations to `delegate` that run at `now`: ACTIVE, started, and not past their end.
pub fn active_delegations(delegate: Uuid, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(delegation::Column::DelegateId.eq(delegate))
        .add(delegation::Column::Status.eq(DelegationStatus::Active))
        .add(delegation::Column::StartsAt.lte(now))
        .add(Condition::any().add(delegation::Column::EndsAt.is_null()).add(delegation::Column::EndsAt.gt(now)))
}

fn mark(found: &mut HashMap<Uuid, Access>, client_ids: impl Iterator<Item = Uuid>, basis: Basis) {
    for id in client_ids {
        if let Some(access) = found.get_mut(&id) {
            access.bases.insert(basis);
        }
    }
}

/// Loads one client the viewer has a basis for; `None` when it is not a client or has no basis.
pub async fn load_one(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: Uuid,
) -> Result<Option<ClientAccess>, DbErr> {
    Ok(load(db, viewer, now, &[id]).await?.remove(&id).filter(|c| !c.access.bases.is_empty()))
}

/// How to pick the clients a viewer may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Every client the viewer has a basis for.
    Visible,
    /// Clients linked to the viewer as counselor.
    Caseload,
}

/// The ids of one page of clients the viewer has a basis for, ordered by id, after the cursor
/// `after`, optionally whose display name contains `search` (case-insensitive). Returns at most
/// `limit + 1` ids so the caller can tell whether there is a next page.
pub async fn page_ids(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    listing: Listing,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let Some(reachable) = reachable_condition(viewer, now, listing) else {
        return Ok(Vec::new());
    };
    let mut query =
        user::Entity::find().filter(is_client()).filter(reachable).order_by_asc(user::Column::Id).limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(user::Column::DisplayName)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        );
    }
    query.select_only().column(user::Column::Id).into_tuple().all(db).await
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The condition "the viewer has some basis for this account", from the same links that
/// [`load`] reads; `None` when the viewer can reach no client at all.
///
/// Each kind of link gives a set of ids, and the condition is membership of their `UNION`: an
/// `OR` of `IN (subquery)` conditions cannot use an index, so the database would walk every
/// account (a million of them, for a large care provider) to find a caseload of 200.
fn reachable_condition(viewer: &Viewer, now: DateTime<Utc>, listing: Listing) -> Option<Condition> {
    let roles: RoleSet = viewer.roles;
    let me = viewer.user_id;
    let mut sources: Vec<SelectStatement> = Vec::new();
    let ids_where = |column: user::Column, condition: Condition| {
        Query::select().column(column).from(user::Entity).cond_where(condition).to_owned()
    };
    if !roles.is_disjoint(COUNSELOR_ROLES) {
        sources.push(
            Query::select()
                .column(caseload_link::Column::ClientId)
                .from(caseload_link::Entity)
                .and_where(caseload_link::Column::CounselorId.eq(me))
                .to_owned(),
        );
        sources.push(
            Query::select()
                .column(group_member::Column::UserId)
                .from(group_member::Entity)
                .and_where(group_member::Column::GroupId.in_subquery(counselor_groups(me)))
                .to_owned(),
        );
    }
    if listing == Listing::Visible {
        if roles.contains(Role::Client) {
            sources.push(ids_where(user::Column::Id, Condition::all().add(user::Column::Id.eq(me))));
        }
        if !roles.is_disjoint(GROUP_MEMBER_ROLES) {
            sources.push(
                Query::select()
                    .column(group_member::Column::UserId)
                    .from(group_member::Entity)
                    .and_where(group_member::Column::GroupId.in_subquery(mutual_groups_of(me)))
                    .and_where(group_member::Column::UserId.ne(me))
                    .to_owned(),
            );
        }
        if roles.contains(Role::Secretary) {
            sources.push(ids_where(
                user::Column::Id,
                Condition::all().add(user::Column::OrganizationId.eq(viewer.organization_id)),
            ));
        }
        if roles.contains(Role::Supervisor) {
            sources.push(
                Query::select()
                    .column(supervision_link::Column::ClientId)
                    .from(supervision_link::Entity)
                    .and_where(supervision_link::Column::SupervisorId.eq(me))
                    .to_owned(),
            );
        }
        if roles.contains(Role::Guardian) {
            sources.push(
                Query::select()
                    .column(guardian_link::Column::ClientId)
                    .from(guardian_link::Entity)
                    .and_where(guardian_link::Column::GuardianId.eq(me))
                    .to_owned(),
            );
        }
        if roles.contains(Role::Relative) {
            sources.push(
                Query::select()
                    .column(relative_link::Column::ClientId)
                    .from(relative_link::Entity)
                    .and_where(relative_link::Column::RelativeId.eq(me))
                    .to_owned(),
            );
        }
        if !roles.is_disjoint(EMERGENCY_ROLES) {
            sources.push(
                Query::select()
                    .column(emergency_access::Column::ClientId)
                    .from(emergency_access::Entity)
                    .and_where(emergency_access::Column::UserId.eq(me))
                    .and_where(emergency_access::Column::StartsAt.lte(now))
                    .and_where(emergency_access::Column::EndsAt.gt(now))
                    .to_owned(),
            );
        }
        if !roles.is_disjoint(CARE_ROLES) {
            sources.push(
                Query::select()
                    .column(trajectory::Column::ClientId)
                    .from(trajectory::Entity)
                    .and_where(trajectory::Column::Status.eq(TrajectoryStatus::Open))
                    .and_where(trajectory::Column::Id.in_subquery(union_of(trajectories_worked_in(me))?))
                    .to_owned(),
            );
            sources.push(
                Query::select()
                    .column(delegation::Column::ClientId)
                    .from(delegation::Entity)
                    .cond_where(active_delegations(me, now))
                    .to_owned(),
            );
        }
        if !roles.is_disjoint(WORKFLOW_ROLES) {
            sources.push(
                Query::select()
                    .column(consent_request::Column::ClientId)
                    .from(consent_request::Entity)
                    .cond_where(granted_consents(me, now))
                    .to_owned(),
            );
        }
    }
    let union = union_of(sources)?;
    Some(Condition::all().add(user::Column::Id.in_subquery(union)))
}

/// `first UNION second UNION …`, or `None` for no selects.
pub(crate) fn union_of(selects: Vec<SelectStatement>) -> Option<SelectStatement> {
    let mut selects = selects.into_iter();
    let mut union = selects.next()?;
    for select in selects {
        union.union(sea_orm::sea_query::UnionType::Distinct, select);
    }
    Some(union)
}

/// Selects of the ids of the trajectories `me` works in: as primary coach, as member, and
/// through a team (for [`union_of`]).
pub(crate) fn trajectories_worked_in(me: Uuid) -> Vec<SelectStatement> {
    let coached = Query::select()
        .column(trajectory::Column::Id)
        .from(trajectory::Entity)
        .and_where(trajectory::Column::PrimaryCoachId.eq(me))
        .to_owned();
    vec![coached, member_of(me), team_trajectories(me)]
}

/// The bases of one request's viewer, loaded once per client and kept for the request. Any
/// write committed on this instance meanwhile (a mutation earlier in the same request, say)
/// empties it, so a cached answer is never older than the last change made here.
#[derive(Default)]
pub struct AccessCache {
    entries: std::sync::Mutex<(u64, HashMap<Uuid, Option<ClientAccess>>)>,
    /// One load at a time, so fields resolved side by side do not load the same client twice.
    loading: tokio::sync::Mutex<()>,
}

impl AccessCache {
    /// The viewer's access to each of `ids` that is a client (with empty bases when none),
    /// loading only what the request has not loaded yet.
    pub async fn load(
        &self,
        db: &crate::db::Database,
        viewer: &Viewer,
        now: DateTime<Utc>,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, ClientAccess>, DbErr> {
        let _one_at_a_time = self.loading.lock().await;
        let generation = db.commits();
        let missing: Vec<Uuid> = {
            let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if entries.0 != generation {
                *entries = (generation, HashMap::new());
            }
            let mut missing: Vec<Uuid> = ids.iter().copied().filter(|id| !entries.1.contains_key(id)).collect();
            // The same client may be asked for more than once (several rows of one person).
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        if !missing.is_empty() {
            let mut loaded = load(db.conn(), viewer, now, &missing).await?;
            self.remember(generation, missing.into_iter().map(|id| (id, loaded.remove(&id))));
        }
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(ids.iter().filter_map(|id| entries.1.get(id).cloned().flatten().map(|found| (*id, found))).collect())
    }

    /// One page of clients the viewer has a basis for (see [`page_ids`]), in order.
    #[allow(clippy::too_many_arguments)]
    pub async fn list(
        &self,
        db: &crate::db::Database,
        viewer: &Viewer,
        now: DateTime<Utc>,
        listing: Listing,
        search: Option<&str>,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ClientAccess>, DbErr> {
        let ids = page_ids(db.conn(), viewer, now, listing, search, after, limit).await?;
        let mut found = self.load(db, viewer, now, &ids).await?;
        Ok(ids.into_iter().filter_map(|id| found.remove(&id)).filter(|c| !c.access.bases.is_empty()).collect())
    }

    fn remember(&self, generation: u64, found: impl IntoIterator<Item = (Uuid, Option<ClientAccess>)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.0 == generation {
            entries.1.extend(found);
        }
    }
}
