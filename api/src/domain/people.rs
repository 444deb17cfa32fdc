//! Finding people (`Query.users`) and whom a delegation may go to (`delegationCandidates`).
//!
//! Professionals find the accounts of their own organisation; clients, guardians, relatives and
//! externals find themselves and the accounts linked to them (see [`linked_to`]). Never another
//! organisation's accounts otherwise, whatever the filter.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use inzage_entity::{
    Role, TaskKind, TaskStatus, TrajectoryStatus, consent_request, group_member, guardian_link, program, provider,
    relative_link, supervision_link, task, trajectory, user, user_role,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{accounts, care, conversations, trajectories};
use crate::access::holds;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::error::ApiResult;
use crate::policy::accounts::{self as rules, PeopleScope};
use crate::policy::trajectories as trajectory_rules;
use crate::policy::{Link, RoleSet};

/// What a search for people asks for.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    /// Accounts holding any of these roles (all when empty).
    pub roles: RoleSet,
    /// A part of the display name (or of the e-mail address, where the viewer reads addresses),
    /// ignoring case.
    pub search: Option<String>,
    pub active: Option<bool>,
    pub accepts_delegations: Option<bool>,
}

/// One page of the accounts `viewer` finds, by display name, after the account `after`; at most
/// `limit + 1` rows, so the caller can tell whether there is a next page.
pub async fn find(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &PeopleFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let mut query = user::Entity::find();
    query = match rules::people_scope(viewer.roles) {
        PeopleScope::Organization => query.filter(user::Column::OrganizationId.eq(viewer.organization_id)),
        PeopleScope::Linked => query.filter(user::Column::Id.among(db, linked_to(db, viewer).await?)),
    };
    if !filter.roles.is_empty() {
        query = query.filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(user_role::Column::UserId)
                    .from(user_role::Entity)
                    .and_where(user_role::Column::Role.is_in(filter.roles.iter()))
                    .to_owned(),
            ),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(user::Column::Active.eq(active));
    }
    if let Some(accepts) = filter.accepts_delegations {
        query = query.filter(user::Column::AcceptsDelegations.eq(accepts));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let mut matches = Condition::any().add(contains(user::Column::DisplayName, search));
        if rules::search_emails(viewer.roles) {
            matches = matches.add(contains(user::Column::Email, search));
        }
        query = query.filter(matches);
    }
    // By display name ignoring case, then id; after the cursor's account in that order (the
    // cursor stays an id).
    let name = || Expr::expr(Func::lower(Expr::col((user::Entity, user::Column::DisplayName))));
    if let Some(after) = after {
        let name_of_after = || {
            let statement = Query::select()
                .expr(Func::lower(Expr::col(user::Column::DisplayName)))
                .from(user::Entity)
                .and_where(user::Column::Id.eq(after))
                .to_owned();
            Expr::SubQuery(None, Box::new(statement.into()))
        };
        query = query.filter(
            Condition::any()
                .add(name().gt(name_of_after()))
                .add(Condition::all().add(ExprTrait::eq(name(), name_of_after())).add(user::Column::Id.gt(after))),
        );
    }
    query.order_by_asc(name()).order_by_asc(user::Column::Id).limit(limit + 1).all(db).await
}

/// The account `id` if the viewer may see it: as [`accounts::find_visible`], and for a
/// client-side viewer also when it is linked to them (see [`linked_to`]); `NOT_FOUND` otherwise.
pub async fn find_visible(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<user::Model> {
    let refused = match accounts::find_visible(db, viewer, id).await {
        Ok(account) => return Ok(account),
        Err(refused) => refused,
    };
    if rules::people_scope(viewer.roles) != PeopleScope::Linked || !linked_to(db, viewer).await?.contains(&id) {
        return Err(refused);
    }
    user::Entity::find_by_id(id).one(db).await?.ok_or(refused)
}

/// `column` contains `text`, ignoring case (`%` and `_` in `text` match themselves).
fn contains(column: user::Column, text: &str) -> Expr {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// The accounts linked to a client-side viewer: themselves; for those they speak for (themselves
/// and, for a guardian, their wards) their counselors, supervisors, trajectory coaches and
/// members, relatives, and the professionals on their consent requests; the wards themselves and
/// the client a relative is linked to; the members of their MUTUAL groups; and everyone they share
/// a conversation with. A fixed number of queries, whatever the number of links.
pub async fn linked_to(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<HashSet<Uuid>, DbErr> {
    let me = viewer.user_id;
    let mut linked = HashSet::from([me]);
    let mut speaks_for = vec![me];
    if viewer.roles.contains(Role::Guardian) {
        let wards: Vec<Uuid> = guardian_link::Entity::find()
            .filter(guardian_link::Column::GuardianId.eq(me))
            .select_only()
            .column(guardian_link::Column::ClientId)
            .into_tuple()
            .all(db)
            .await?;
        speaks_for.extend(wards);
    }
    linked.extend(speaks_for.iter().copied());
    linked.extend(care::shown_counselors(db, &speaks_for).await?.into_iter().map(|(_, counselor)| counselor.id));
    let supervisors: Vec<Uuid> = supervision_link::Entity::find()
        .filter(supervision_link::Column::ClientId.among(db, speaks_for.iter().copied()))
        .filter(holds(supervision_link::Column::SupervisorId, Link::Supervision))
        .select_only()
        .column(supervision_link::Column::SupervisorId)
        .into_tuple()
        .all(db)
        .await?;
    linked.extend(supervisors);
    let relatives = relative_link::Entity::find()
        .filter(
            Condition::any()
                .add(relative_link::Column::ClientId.among(db, speaks_for.iter().copied()))
                .add(relative_link::Column::RelativeId.eq(me)),
        )
        .all(db)
        .await?;
    linked.extend(relatives.into_iter().flat_map(|link| [link.client_id, link.relative_id]));
    let professionals: Vec<Option<Uuid>> = consent_request::Entity::find()
        .filter(consent_request::Column::ClientId.among(db, speaks_for.iter().copied()))
        .select_only()
        .column(consent_request::Column::ProfessionalId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    linked.extend(professionals.into_iter().flatten());
    let peers: Vec<Uuid> = group_member::Entity::find()
        .filter(group_member::Column::GroupId.in_subquery(crate::access::mutual_groups_of(me)))
        .select_only()
        .column(group_member::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    linked.extend(peers);
    linked.extend(conversations::sharing_with(db, me).await?);
    Ok(linked)
}

/// The active users of the provider's organisation who hold a care role and accept
/// delegations, by display name: whom `viewer` may name as the provider's or a program's
/// executor, or choose as delegate for an open DELEGATE_DOSSIER task of one of its programs.
/// NOT_FOUND when the viewer may not see the provider, FORBIDDEN when they may choose no one.
pub async fn delegation_candidates(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    provider_id: Uuid,
) -> ApiResult<Vec<user::Model>> {
    let provider: provider::Model = super::delegations::find_provider(db, viewer, provider_id).await?;
    let same_organization = provider.organization_id == viewer.organization_id;
    let delegates_for_it = delegates_for(db, viewer, now, provider.id).await?;
    trajectory_rules::see_delegation_candidates(viewer.roles, same_organization, delegates_for_it).check()?;
    Ok(user::Entity::find()
        .filter(user::Column::OrganizationId.eq(provider.organization_id))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::AcceptsDelegations.eq(true))
        .filter(holds(user::Column::Id, Link::Delegate))
        .order_by_asc(user::Column::DisplayName)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

/// Whether `viewer` may work on an open DELEGATE_DOSSIER task of an open trajectory of one of
/// the provider's programs (as `delegateDossier` would decide), in a fixed number of queries.
async fn delegates_for(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    provider_id: Uuid,
) -> Result<bool, DbErr> {
    let of_provider = Query::select()
        .column(program::Column::Id)
        .from(program::Entity)
        .and_where(program::Column::ProviderId.eq(provider_id))
        .to_owned();
    let with_open_task = Query::select()
        .column(task::Column::TrajectoryId)
        .from(task::Entity)
        .and_where(task::Column::Kind.eq(TaskKind::DelegateDossier))
        .and_where(task::Column::Status.eq(TaskStatus::Open))
        .to_owned();
    let waiting = trajectory::Entity::find()
        .filter(trajectory::Column::Status.eq(TrajectoryStatus::Open))
        .filter(trajectory::Column::ProgramId.in_subquery(of_provider))
        .filter(trajectory::Column::Id.in_subquery(with_open_task))
        .all(db)
        .await?;
    if waiting.is_empty() {
        return Ok(false);
    }
    let relations = trajectories::relations(db, viewer, &waiting).await?;
    let clients: Vec<Uuid> = waiting.iter().map(|t| t.client_id).collect();
    let access = crate::access::load(db, viewer, now, &clients).await?;
    Ok(waiting.iter().any(|t| {
        let bases = access.get(&t.client_id).map(|found| found.access.bases).unwrap_or_default();
        let relation = relations.get(&t.id).copied().unwrap_or_default();
        trajectory_rules::work_on_trajectory(bases, relation).is_allowed()
    }))
}
