//! The viewer's bases towards clients, loaded for many clients at once with a fixed number of
//! queries (one per kind of link), whatever the number of clients.
//!
//! This module finds facts (links, grants); `policy` decides what they allow. A client is an
//! account with the CLIENT role; anything else is not a client for anyone. `holders` looks the
//! other way: everyone with a basis towards one client.

pub mod holders;
pub mod links;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inzage_entity::{
    DelegationStatus, GroupVisibility, Role, care_group, delegation, group_member, team_member, trajectory,
    trajectory_member, trajectory_team, user, user_role,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::policy::client::{Basis, BasisSet, effective_bases};
use crate::policy::{Link, RoleSet};

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
fn clients_among(db: &impl ConnectionTrait, ids: &[Uuid]) -> Condition {
    Condition::all().add(user::Column::Id.among(db, ids.iter().copied())).add(is_client())
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
///
/// Two statements whatever the number of clients and the viewer's roles, run side by side: the
/// client accounts, and the viewer's links to them (see [`links`]).
pub async fn load(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ClientAccess>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let clients = user::Entity::find().filter(clients_among(db, ids)).all(db);
    let (clients, links) = futures_util::try_join!(clients, links_to(db, viewer, now, ids))?;
    Ok(with_links(viewer, now, clients, links))
}

/// The viewer's access to each of `clients` (client accounts, loaded already): one statement.
pub async fn load_for(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    clients: Vec<user::Model>,
) -> Result<HashMap<Uuid, ClientAccess>, DbErr> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = clients.iter().map(|c| c.id).collect();
    let links = links_to(db, viewer, now, &ids).await?;
    Ok(with_links(viewer, now, clients, links))
}

/// The access the viewer's `links` give them to each of `clients`.
fn with_links(
    viewer: &Viewer,
    now: DateTime<Utc>,
    clients: Vec<user::Model>,
    links: Vec<links::LinkRow>,
) -> HashMap<Uuid, ClientAccess> {
    let roles = viewer.roles;
    let mut found: HashMap<Uuid, Access> = clients.iter().map(|c| (c.id, Access::default())).collect();
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
    for link in links {
        let (Some(access), Some(basis)) = (found.get_mut(&link.client_id), Basis::from_name(&link.basis)) else {
            continue;
        };
        access.bases.insert(basis);
        match (basis, link.grant_id) {
            (Basis::Emergency, Some(id)) => {
                let ends = link.until.unwrap_or(now);
                // Keep the one that lasts longest.
                if access.emergency.is_none_or(|(_, current)| current < ends) {
                    access.emergency = Some((id, ends));
                }
            }
            (Basis::Consent, Some(id)) => {
                if let (Some(workflow_id), Some(until)) = (link.workflow_id, link.until) {
                    access.consents.push(ConsentGrant { id, workflow_id, until });
                }
            }
            (Basis::Trajectory | Basis::Team, Some(id)) if !access.trajectories.contains(&id) => {
                access.trajectories.push(id);
            }
            (Basis::Delegation, Some(id)) => {
                // Keep the one that lasts longest (no end lasts longest).
                let longer = match access.delegation {
                    None => true,
                    Some((_, current)) => current.is_some() && link.until.is_none_or(|ends| Some(ends) > current),
                };
                if longer {
                    access.delegation = Some((id, link.until));
                }
            }
            _ => {}
        }
    }
    clients
        .into_iter()
        .map(|client| {
            let access = narrow(found.remove(&client.id).unwrap_or_default(), roles);
            (client.id, ClientAccess { client, access })
        })
        .collect()
}

/// Client ids per statement of [`links_to`] on SQLite (a part of the links' union per kind of
/// link names them all).
const SQLITE_IDS_PER_LINKS_QUERY: usize = 2_000;

/// The viewer's links to any of `ids`, in one statement, in a fixed order: by basis (trajectory
/// links before team links), then grant, so that the grant a basis is logged with does not
/// depend on the order the database returns rows in.
async fn links_to(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    ids: &[Uuid],
) -> Result<Vec<links::LinkRow>, DbErr> {
    let backend = db.get_database_backend();
    let mut rows = Vec::new();
    // SQLite binds every id of every part as its own parameter, and takes 32,766 at most.
    let chunk = if backend == DbBackend::Postgres { ids.len().max(1) } else { SQLITE_IDS_PER_LINKS_QUERY };
    for ids in ids.chunks(chunk) {
        let Some(union) = links::union(viewer, now, links::Kinds::All, Some((backend, ids))) else {
            return Ok(Vec::new());
        };
        // A client in the caseload directly and through a group, or a trajectory the viewer both
        // coaches and is a member of, is one fact for the bases: sent once.
        let query = Query::select()
            .distinct()
            .column(sea_orm::sea_query::Asterisk)
            .from_subquery(union, Alias::new(links::LINK))
            .to_owned();
        rows.extend(links::LinkRow::find_by_statement(backend.build(&query)).all(db).await?);
    }
    rows.sort_by_key(|row| (Basis::from_name(&row.basis), row.grant_id));
    Ok(rows)
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

/// One page of the client accounts the viewer has a basis for, ordered by id, after the cursor
/// `after`, optionally whose display name contains `search` (case-insensitive). Returns at most
/// `limit + 1` accounts so the caller can tell whether there is a next page.
pub async fn page(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    listing: Listing,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
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
    query.all(db).await
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The condition "the viewer has some basis for this account", from the same links that
/// [`load`] reads; `None` when the viewer can reach no client at all.
///
/// Each kind of link gives a set of ids, and the condition is membership of their union: an
/// `OR` of `IN (subquery)` conditions cannot use an index, so the database would walk every
/// account (a million of them, for a large care provider) to find a caseload of 200.
fn reachable_condition(viewer: &Viewer, now: DateTime<Utc>, listing: Listing) -> Option<Condition> {
    let roles: RoleSet = viewer.roles;
    let me = viewer.user_id;
    let kinds = match listing {
        Listing::Visible => links::Kinds::All,
        Listing::Caseload => links::Kinds::Caseload,
    };
    let mut sources: Vec<SelectStatement> = links::clients(viewer, now, kinds).into_iter().collect();
    if listing == Listing::Visible {
        let ids_where = |condition: Condition| {
            Query::select().column(user::Column::Id).from(user::Entity).cond_where(condition).to_owned()
        };
        if roles.contains(Role::Client) {
            sources.push(ids_where(Condition::all().add(user::Column::Id.eq(me))));
        }
        if roles.contains(Role::Secretary) {
            sources.push(ids_where(Condition::all().add(user::Column::OrganizationId.eq(viewer.organization_id))));
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
        {
            let _one_at_a_time = self.loading.lock().await;
            let generation = db.commits();
            let mut missing = self.missing(generation, ids.iter().copied());
            // The same client may be asked for more than once (several rows of one person).
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                let mut loaded = load(db.conn(), viewer, now, &missing).await?;
                self.remember(generation, missing.into_iter().map(|id| (id, loaded.remove(&id))));
            }
        }
        Ok(self.cached(ids))
    }

    /// One page of clients the viewer has a basis for (see [`page`]), in order: the accounts
    /// and then, for those the request has not loaded yet, the viewer's links to them.
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
        let accounts = page(db.conn(), viewer, now, listing, search, after, limit).await?;
        let ids: Vec<Uuid> = accounts.iter().map(|account| account.id).collect();
        {
            let _one_at_a_time = self.loading.lock().await;
            let generation = db.commits();
            let missing: std::collections::HashSet<Uuid> =
                self.missing(generation, ids.iter().copied()).into_iter().collect();
            let missing: Vec<user::Model> =
                accounts.into_iter().filter(|account| missing.contains(&account.id)).collect();
            if !missing.is_empty() {
                let asked: Vec<Uuid> = missing.iter().map(|account| account.id).collect();
                let mut loaded = load_for(db.conn(), viewer, now, missing).await?;
                self.remember(generation, asked.into_iter().map(|id| (id, loaded.remove(&id))));
            }
        }
        let mut found = self.cached(&ids);
        Ok(ids.into_iter().filter_map(|id| found.remove(&id)).filter(|c| !c.access.bases.is_empty()).collect())
    }

    /// Those of `ids` not loaded in this generation (which empties the cache when it moved on).
    fn missing(&self, generation: u64, ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.0 != generation {
            *entries = (generation, HashMap::new());
        }
        ids.filter(|id| !entries.1.contains_key(id)).collect()
    }

    /// What is cached of `ids`: clients with their access.
    fn cached(&self, ids: &[Uuid]) -> HashMap<Uuid, ClientAccess> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ids.iter().filter_map(|id| entries.1.get(id).cloned().flatten().map(|found| (*id, found))).collect()
    }

    fn remember(&self, generation: u64, found: impl IntoIterator<Item = (Uuid, Option<ClientAccess>)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.0 == generation {
            entries.1.extend(found);
        }
    }
}
