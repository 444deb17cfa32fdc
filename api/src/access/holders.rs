//! The other side of [`super::load`]: for one client, everyone who has a basis towards them
//! now, with the same facts `load` finds for each of them as a viewer (bases narrowed to the
//! holder's roles, and the grants behind time-bound bases). One query per kind of link,
//! whatever the number of holders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inzage_entity::{
    ConsentStatus, DelegationStatus, Role, TrajectoryStatus, caseload_link, consent_request, delegation,
    emergency_access, group_counselor, group_member, guardian_link, relative_link, supervision_link, team_member,
    trajectory, trajectory_member, trajectory_team, user, user_role,
};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{Access, ConsentGrant, mutual_groups_of};
use crate::db::AmongIds;
use crate::policy::RoleSet;
use crate::policy::client::Basis;

/// Everyone (active) with a basis towards `client` at `now`, and what they have, by user id.
pub async fn of_client(
    db: &impl ConnectionTrait,
    client: &user::Model,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Access>, DbErr> {
    let c = client.id;
    let mut found: HashMap<Uuid, Access> = HashMap::new();
    let mut mark = |holder: Uuid, basis: Basis| {
        found.entry(holder).or_default().bases.insert(basis);
    };

    mark(c, Basis::Own);
    let secretaries: Vec<Uuid> = user_role::Entity::find()
        .filter(user_role::Column::Role.eq(Role::Secretary))
        .filter(
            user_role::Column::UserId.in_subquery(
                Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::OrganizationId.eq(client.organization_id))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect();
    for holder in secretaries {
        mark(holder, Basis::Secretary);
    }
    for row in caseload_link::Entity::find().filter(caseload_link::Column::ClientId.eq(c)).all(db).await? {
        mark(row.counselor_id, Basis::Caseload);
    }
    let groups_of_client = Query::select()
        .column(group_member::Column::GroupId)
        .from(group_member::Entity)
        .and_where(group_member::Column::UserId.eq(c))
        .to_owned();
    let group_counselors =
        group_counselor::Entity::find().filter(group_counselor::Column::GroupId.in_subquery(groups_of_client)).all(db);
    for row in group_counselors.await? {
        mark(row.user_id, Basis::Caseload);
    }
    let peers = group_member::Entity::find()
        .filter(group_member::Column::GroupId.in_subquery(mutual_groups_of(c)))
        .filter(group_member::Column::UserId.ne(c))
        .all(db)
        .await?;
    for row in peers {
        mark(row.user_id, Basis::GroupPeer);
    }
    for row in supervision_link::Entity::find().filter(supervision_link::Column::ClientId.eq(c)).all(db).await? {
        mark(row.supervisor_id, Basis::Supervisor);
    }
    for row in guardian_link::Entity::find().filter(guardian_link::Column::ClientId.eq(c)).all(db).await? {
        mark(row.guardian_id, Basis::Guardian);
    }
    for row in relative_link::Entity::find().filter(relative_link::Column::ClientId.eq(c)).all(db).await? {
        mark(row.relative_id, Basis::Relative);
    }

    let emergencies = emergency_access::Entity::find()
        .filter(emergency_access::Column::ClientId.eq(c))
        .filter(emergency_access::Column::StartsAt.lte(now))
        .filter(emergency_access::Column::EndsAt.gt(now))
        .all(db)
        .await?;
    for row in emergencies {
        let access = found.entry(row.user_id).or_default();
        access.bases.insert(Basis::Emergency);
        if access.emergency.is_none_or(|(_, ends)| ends < row.ends_at) {
            access.emergency = Some((row.id, row.ends_at));
        }
    }
    let consents = consent_request::Entity::find()
        .filter(consent_request::Column::ClientId.eq(c))
        .filter(consent_request::Column::Status.eq(ConsentStatus::Granted))
        .filter(consent_request::Column::GrantedUntil.gt(now))
        .order_by_asc(consent_request::Column::Id)
        .all(db)
        .await?;
    for row in consents {
        if let (Some(professional), Some(until)) = (row.professional_id, row.granted_until) {
            let access = found.entry(professional).or_default();
            access.bases.insert(Basis::Consent);
            access.consents.push(ConsentGrant { id: row.id, workflow_id: row.workflow_id, until });
        }
    }

    let open: Vec<trajectory::Model> = trajectory::Entity::find()
        .filter(trajectory::Column::ClientId.eq(c))
        .filter(trajectory::Column::Status.eq(TrajectoryStatus::Open))
        .order_by_asc(trajectory::Column::Id)
        .all(db)
        .await?;
    let open_ids: Vec<Uuid> = open.iter().map(|t| t.id).collect();
    let members = trajectory_member::Entity::find()
        .filter(trajectory_member::Column::TrajectoryId.among(db, open_ids.iter().copied()));
    let members = members.all(db).await?;
    let mut in_trajectory = |holder: Uuid, trajectory: Uuid, basis: Basis| {
        let access = found.entry(holder).or_default();
        access.bases.insert(basis);
        if !access.trajectories.contains(&trajectory) {
            access.trajectories.push(trajectory);
        }
    };
    // As `load` does: coaching or membership first, in the order of the trajectories, then teams.
    for t in &open {
        let coach = t.primary_coach_id.into_iter();
        let member = members.iter().filter(|m| m.trajectory_id == t.id).map(|m| m.user_id);
        for holder in coach.chain(member) {
            in_trajectory(holder, t.id, Basis::Trajectory);
        }
    }
    let teams = trajectory_team::Entity::find()
        .filter(trajectory_team::Column::TrajectoryId.among(db, open_ids.iter().copied()))
        .all(db)
        .await?;
    let team_members = team_member::Entity::find()
        .filter(team_member::Column::TeamId.among(db, teams.iter().map(|t| t.team_id)))
        .all(db)
        .await?;
    for t in &open {
        let on_it = teams.iter().filter(|team| team.trajectory_id == t.id).map(|team| team.team_id);
        for team in on_it {
            for member in team_members.iter().filter(|m| m.team_id == team) {
                in_trajectory(member.user_id, t.id, Basis::Team);
            }
        }
    }
    let delegations = delegation::Entity::find()
        .filter(delegation::Column::ClientId.eq(c))
        .filter(delegation::Column::Status.eq(DelegationStatus::Active))
        .filter(delegation::Column::StartsAt.lte(now))
        .filter(Condition::any().add(delegation::Column::EndsAt.is_null()).add(delegation::Column::EndsAt.gt(now)))
        .order_by_asc(delegation::Column::Id)
        .all(db)
        .await?;
    for row in delegations {
        let access = found.entry(row.delegate_id).or_default();
        access.bases.insert(Basis::Delegation);
        let longer = match access.delegation {
            None => true,
            Some((_, current)) => current.is_some() && row.ends_at.is_none_or(|ends| Some(ends) > current),
        };
        if longer {
            access.delegation = Some((row.id, row.ends_at));
        }
    }

    // Narrowed to each holder's roles, as for a viewer; inactive accounts see nothing.
    let holders: Vec<Uuid> = found.keys().copied().collect();
    let active: std::collections::HashSet<Uuid> = user::Entity::find()
        .filter(user::Column::Id.among(db, holders.iter().copied()))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let roles = crate::domain::accounts::roles_of(db, &holders).await?;
    Ok(found
        .into_iter()
        .filter(|(holder, _)| active.contains(holder))
        .filter_map(|(holder, access)| {
            let narrowed = super::narrow(access, roles.get(&holder).copied().unwrap_or_else(RoleSet::empty));
            (!narrowed.bases.is_empty()).then_some((holder, narrowed))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::client::effective_bases;

    #[test]
    fn narrowing_keeps_only_the_bases_of_the_holders_roles() {
        let mut access = Access::default();
        access.bases.insert(Basis::Caseload);
        access.bases.insert(Basis::Secretary);
        let narrowed = super::super::narrow(access, RoleSet::only(Role::Secretary));
        assert_eq!(narrowed.bases, effective_bases(RoleSet::only(Role::Secretary), Basis::Secretary.into()));
    }
}
