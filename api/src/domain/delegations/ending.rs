//! How a delegation ends: with its trajectory (ENDED), by revocation (REVOKED) or at its end
//! date (EXPIRED). Closing a trajectory ends its delegations here, so trajectories need not know
//! the rest of delegation.

use chrono::{DateTime, Utc};
use inzage_entity::{AuditAction, DelegationStatus, NotificationKind, delegation, trajectory};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::audit::AuditEntry;
use crate::db::WriteTransaction;
use crate::domain::Operation;
use crate::domain::notifications::{self, Links};
use crate::error::ApiResult;
use crate::policy::Link;

/// A delegation's status at `now`: an ACTIVE one past its end is EXPIRED whether or not the
/// scheduler has recorded it yet.
pub fn effective_status(model: &delegation::Model, now: DateTime<Utc>) -> DelegationStatus {
    match model.status {
        DelegationStatus::Active if model.ends_at.is_some_and(|ends| ends <= now) => DelegationStatus::Expired,
        status => status,
    }
}

/// Adds to an audit entry the basis the actor holds towards its client (if any).
pub(super) async fn with_actor_basis(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    entry: AuditEntry,
) -> ApiResult<AuditEntry> {
    let Some(client_id) = entry.client_id else { return Ok(entry) };
    let found = crate::access::load(&**txn, op.viewer, op.now, &[client_id]).await?.remove(&client_id);
    Ok(match found {
        Some(client) => {
            let basis = crate::policy::client::find_client(client.access.bases).basis();
            entry.basis(basis, basis.and_then(|b| client.access.grant_for(b)))
        }
        None => entry,
    })
}

/// Ends the ACTIVE delegations a closed trajectory carries (ENDED), telling each delegate.
pub async fn end_with_trajectory(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    trajectory: &trajectory::Model,
) -> ApiResult<()> {
    let running = delegation::Entity::find()
        .filter(delegation::Column::TrajectoryId.eq(trajectory.id))
        .filter(delegation::Column::Status.eq(DelegationStatus::Active))
        .all(&**txn)
        .await?;
    for model in running.into_iter().filter(|d| effective_status(d, op.now) == DelegationStatus::Active) {
        finish(txn, op, model, DelegationStatus::Ended).await?;
    }
    Ok(())
}

/// A delegate is the guidance trajectory's primary coach only by their delegation: when it is
/// revoked or expires, they stop coaching it too (a closed trajectory gives no rights anyway).
pub async fn release_coach(db: &impl ConnectionTrait, model: &delegation::Model) -> Result<(), DbErr> {
    let Some(trajectory_id) = model.trajectory_id else { return Ok(()) };
    trajectory::Entity::update_many()
        .col_expr(trajectory::Column::PrimaryCoachId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
        .filter(trajectory::Column::Id.eq(trajectory_id))
        .filter(trajectory::Column::PrimaryCoachId.eq(model.delegate_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a delegation's final status and tells the delegate.
pub(super) async fn finish(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    model: delegation::Model,
    status: DelegationStatus,
) -> ApiResult<delegation::Model> {
    let mut active: delegation::ActiveModel = model.into();
    active.status = Set(status);
    active.ended_at = Set(Some(op.now));
    let model = active.update(&**txn).await?;
    if status != DelegationStatus::Ended {
        release_coach(&**txn, &model).await?;
    }
    let entry = AuditEntry::success(model.client_id, AuditAction::Update, "Delegation").on(model.id);
    let entry = with_actor_basis(txn, op, entry).await?;
    op.log(&**txn, entry).await?;
    let title = match status {
        DelegationStatus::Revoked => "A delegation to you was revoked",
        _ => "A delegation to you has ended",
    };
    let links = Links { client_id: Some(model.client_id), delegation_id: Some(model.id), ..Links::default() };
    // A delegate who no longer holds a care role holds no delegation, and is not told of it.
    let delegate = crate::domain::accounts::holding(&**txn, &[model.delegate_id], Link::Delegate).await?;
    notifications::notify(txn, delegate, NotificationKind::DelegationEnded, title, links, op.now);
    Ok(model)
}
