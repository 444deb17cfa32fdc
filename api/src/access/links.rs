//! The links that give a viewer a basis towards clients, as one table: each kind of link is a
//! select of `(client_id, basis, grant_id, until, workflow_id)` rows, and a viewer's links are
//! the `UNION ALL` of the kinds their roles let count. Loading a page's bases is then one
//! statement, and listing the clients a viewer may see reads the same selects.

use chrono::{DateTime, Utc};
use inzage_entity::{
    ConsentStatus, TrajectoryStatus, caseload_link, consent_request, delegation, emergency_access, group_counselor,
    group_member, guardian_link, relative_link, supervision_link, team_member, trajectory, trajectory_member,
    trajectory_team,
};
use sea_orm::sea_query::{
    Alias, ColumnRef, DynIden, Expr, ExprTrait, IntoColumnRef, IntoIden, IntoTableRef, Query, SelectStatement,
    UnionType,
};
use sea_orm::{ColumnTrait, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::{active_delegations, mutual_groups_of};
use crate::auth::Viewer;
use crate::policy::client::Basis;
use crate::policy::links::{CARE_ROLES, EMERGENCY_ROLES, GROUP_MEMBER_ROLES, WORKFLOW_ROLES};
use crate::policy::{COUNSELOR_ROLES, RoleSet};

/// The name of the union of a viewer's links in the statements built on it.
pub const LINK: &str = "link";
/// The client column of the links.
pub const CLIENT: &str = "client_id";

/// One link of the viewer to a client, as the links' union returns it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct LinkRow {
    pub client_id: Uuid,
    /// The contract name of the basis ([`Basis::name`]).
    pub basis: String,
    /// The grant the basis rests on: emergency access, consent, delegation, or the trajectory.
    pub grant_id: Option<Uuid>,
    /// When the grant ends (emergency access, consent, delegation), if it does.
    pub until: Option<DateTime<Utc>>,
    /// The workflow of a consent.
    pub workflow_id: Option<Uuid>,
}

/// Which links to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// Every kind the viewer's roles let count.
    All,
    /// Only the caseload: direct links and the groups the viewer counsels.
    Caseload,
}

/// The `UNION ALL` of the viewer's links of `kinds` at `now`, to the clients `among` names when
/// it does (each part of the union is narrowed to them, so that the database looks up only the
/// links of a page's clients); `None` when their roles let no link count.
pub fn union(
    viewer: &Viewer,
    now: DateTime<Utc>,
    kinds: Kinds,
    among: Option<(DbBackend, &[Uuid])>,
) -> Option<SelectStatement> {
    let mut parts = parts(viewer.user_id, viewer.roles, now, kinds).into_iter().map(|(mut part, client)| {
        if let Some((backend, ids)) = among {
            part.and_where(crate::db::among_on(backend, client, ids.iter().copied()));
        }
        part
    });
    let mut union = parts.next()?;
    for part in parts {
        union.union(UnionType::All, part);
    }
    Some(union)
}

/// `SELECT client_id FROM (<the viewer's links>) AS link`: the clients of the viewer's links.
pub fn clients(viewer: &Viewer, now: DateTime<Utc>, kinds: Kinds) -> Option<SelectStatement> {
    let union = union(viewer, now, kinds, None)?;
    Some(
        Query::select()
            .column((Alias::new(LINK), Alias::new(CLIENT)))
            .from_subquery(union, Alias::new(LINK))
            .to_owned(),
    )
}

/// Each kind of link the roles let count, with its client column.
fn parts(me: Uuid, roles: RoleSet, now: DateTime<Utc>, kinds: Kinds) -> Vec<(SelectStatement, ColumnRef)> {
    let mut parts: Vec<(SelectStatement, ColumnRef)> = Vec::new();
    if !roles.is_disjoint(COUNSELOR_ROLES) {
        parts.push((
            link(Basis::Caseload, caseload_link::Column::ClientId, caseload_link::Entity, Grant::None)
                .and_where(caseload_link::Column::CounselorId.eq(me))
                .to_owned(),
            (caseload_link::Entity, caseload_link::Column::ClientId).into_column_ref(),
        ));
        // A counselor of a group is a linked counselor of every member.
        parts.push((
            link(Basis::Caseload, group_member::Column::UserId, group_member::Entity, Grant::None)
                .and_where(
                    group_member::Column::GroupId.in_subquery(
                        Query::select()
                            .column(group_counselor::Column::GroupId)
                            .from(group_counselor::Entity)
                            .and_where(group_counselor::Column::UserId.eq(me))
                            .to_owned(),
                    ),
                )
                .to_owned(),
            (group_member::Entity, group_member::Column::UserId).into_column_ref(),
        ));
    }
    if kinds == Kinds::Caseload {
        return parts;
    }
    if !roles.is_disjoint(GROUP_MEMBER_ROLES) {
        parts.push((
            link(Basis::GroupPeer, group_member::Column::UserId, group_member::Entity, Grant::None)
                .and_where(group_member::Column::GroupId.in_subquery(mutual_groups_of(me)))
                .and_where(group_member::Column::UserId.ne(me))
                .to_owned(),
            (group_member::Entity, group_member::Column::UserId).into_column_ref(),
        ));
    }
    if roles.contains(inzage_entity::Role::Supervisor) {
        parts.push((
            link(Basis::Supervisor, supervision_link::Column::ClientId, supervision_link::Entity, Grant::None)
                .and_where(supervision_link::Column::SupervisorId.eq(me))
                .to_owned(),
            (supervision_link::Entity, supervision_link::Column::ClientId).into_column_ref(),
        ));
    }
    if roles.contains(inzage_entity::Role::Guardian) {
        parts.push((
            link(Basis::Guardian, guardian_link::Column::ClientId, guardian_link::Entity, Grant::None)
                .and_where(guardian_link::Column::GuardianId.eq(me))
                .to_owned(),
            (guardian_link::Entity, guardian_link::Column::ClientId).into_column_ref(),
        ));
    }
    if roles.contains(inzage_entity::Role::Relative) {
        parts.push((
            link(Basis::Relative, relative_link::Column::ClientId, relative_link::Entity, Grant::None)
                .and_where(relative_link::Column::RelativeId.eq(me))
                .to_owned(),
            (relative_link::Entity, relative_link::Column::ClientId).into_column_ref(),
        ));
    }
    if !roles.is_disjoint(EMERGENCY_ROLES) {
        let grant = Grant::Until(
            emergency_access::Column::Id.into_column_ref(),
            emergency_access::Column::EndsAt.into_column_ref(),
        );
        parts.push((
            link(Basis::Emergency, emergency_access::Column::ClientId, emergency_access::Entity, grant)
                .and_where(emergency_access::Column::UserId.eq(me))
                .and_where(emergency_access::Column::StartsAt.lte(now))
                .and_where(emergency_access::Column::EndsAt.gt(now))
                .to_owned(),
            (emergency_access::Entity, emergency_access::Column::ClientId).into_column_ref(),
        ));
    }
    if !roles.is_disjoint(WORKFLOW_ROLES) {
        // A revoked or expired consent is no longer GRANTED; one past its end counts as expired
        // whether or not the scheduler has recorded that yet.
        let grant = Grant::Consent;
        parts.push((
            link(Basis::Consent, consent_request::Column::ClientId, consent_request::Entity, grant)
                .and_where(consent_request::Column::ProfessionalId.eq(me))
                .and_where(consent_request::Column::Status.eq(ConsentStatus::Granted))
                .and_where(consent_request::Column::GrantedUntil.gt(now))
                .to_owned(),
            (consent_request::Entity, consent_request::Column::ClientId).into_column_ref(),
        ));
    }
    if !roles.is_disjoint(CARE_ROLES) {
        let open = |basis: Basis| {
            link(
                basis,
                (trajectory::Entity, trajectory::Column::ClientId),
                trajectory::Entity,
                Grant::Id((trajectory::Entity, trajectory::Column::Id).into_column_ref()),
            )
            .and_where(trajectory::Column::Status.eq(TrajectoryStatus::Open))
            .to_owned()
        };
        let client = || (trajectory::Entity, trajectory::Column::ClientId).into_column_ref();
        let on = |left: (DynIden, DynIden), right: (DynIden, DynIden)| Expr::col(left).equals(right);
        parts.push((open(Basis::Trajectory).and_where(trajectory::Column::PrimaryCoachId.eq(me)).to_owned(), client()));
        // As joins, not `id IN (the viewer's trajectories)`: SQLite would look up every pair of a
        // page's clients and the viewer's trajectories.
        parts.push((
            open(Basis::Trajectory)
                .inner_join(
                    trajectory_member::Entity,
                    on(
                        (trajectory_member::Entity.into_iden(), trajectory_member::Column::TrajectoryId.into_iden()),
                        (trajectory::Entity.into_iden(), trajectory::Column::Id.into_iden()),
                    ),
                )
                .and_where(trajectory_member::Column::UserId.eq(me))
                .to_owned(),
            client(),
        ));
        parts.push((
            open(Basis::Team)
                .inner_join(
                    trajectory_team::Entity,
                    on(
                        (trajectory_team::Entity.into_iden(), trajectory_team::Column::TrajectoryId.into_iden()),
                        (trajectory::Entity.into_iden(), trajectory::Column::Id.into_iden()),
                    ),
                )
                .inner_join(
                    team_member::Entity,
                    on(
                        (team_member::Entity.into_iden(), team_member::Column::TeamId.into_iden()),
                        (trajectory_team::Entity.into_iden(), trajectory_team::Column::TeamId.into_iden()),
                    ),
                )
                .and_where(team_member::Column::UserId.eq(me))
                .to_owned(),
            client(),
        ));
        let grant =
            Grant::Until(delegation::Column::Id.into_column_ref(), delegation::Column::EndsAt.into_column_ref());
        parts.push((
            link(Basis::Delegation, delegation::Column::ClientId, delegation::Entity, grant)
                .cond_where(active_delegations(me, now))
                .to_owned(),
            (delegation::Entity, delegation::Column::ClientId).into_column_ref(),
        ));
    }
    parts
}

/// What a link carries besides its client and basis.
enum Grant {
    None,
    /// The grant's id (a trajectory's).
    Id(sea_orm::sea_query::ColumnRef),
    /// The grant's id and end.
    Until(sea_orm::sea_query::ColumnRef, sea_orm::sea_query::ColumnRef),
    /// A consent: its id, end and workflow.
    Consent,
}

/// `SELECT <client> AS client_id, '<basis>' AS basis, … FROM <table>`, its grant columns typed
/// even when empty, so that every part of the union has the same columns.
fn link(basis: Basis, client: impl IntoColumnRef, table: impl IntoTableRef, grant: Grant) -> SelectStatement {
    let no_id = || Expr::cust("CAST(NULL AS uuid)");
    let no_end = || Expr::cust("CAST(NULL AS timestamptz)");
    let (grant_id, until, workflow_id) = match grant {
        Grant::None => (no_id(), no_end(), no_id()),
        Grant::Id(id) => (Expr::col(id), no_end(), no_id()),
        Grant::Until(id, ends) => (Expr::col(id), Expr::col(ends), no_id()),
        Grant::Consent => (
            Expr::col(consent_request::Column::Id.into_column_ref()),
            Expr::col(consent_request::Column::GrantedUntil.into_column_ref()),
            Expr::col(consent_request::Column::WorkflowId.into_column_ref()),
        ),
    };
    Query::select()
        .expr_as(Expr::col(client), Alias::new(CLIENT))
        .expr_as(Expr::val(basis.name()), Alias::new("basis"))
        .expr_as(grant_id, Alias::new("grant_id"))
        .expr_as(until, Alias::new("until"))
        .expr_as(workflow_id, Alias::new("workflow_id"))
        .from(table)
        .to_owned()
}
