//! Emergency access ("break the glass"): time-boxed, reason required, logged, and the client
//! and their counselors notified.

use chrono::Duration;
use inzage_entity::{AuditAction, NotificationKind, emergency_access};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use uuid::Uuid;

use super::Operation;
use super::care::{counselors_of, visible_client};
use super::notifications::{self, Links};
use crate::access::{self, ClientAccess};
use crate::audit::AuditEntry;
use crate::db::Database;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::mailer;
use crate::policy::client::{self as rules, Basis};

/// The shortest reason accepted, in characters.
pub const MIN_REASON_CHARS: usize = 10;

/// A reason for emergency access: trimmed, at least [`MIN_REASON_CHARS`] characters.
pub fn parse_reason(raw: &str) -> Result<String, super::values::Invalid> {
    super::values::trimmed_text(raw, MIN_REASON_CHARS, 2000)
}

/// Breaks the glass on a client of the viewer's organisation. While one is active, a second
/// call returns it.
pub async fn break_glass(
    db: &Database,
    op: &Operation<'_>,
    client_id: Uuid,
    reason: String,
    duration: Duration,
) -> ApiResult<(emergency_access::Model, ClientAccess)> {
    let txn = db.begin_write().await?;
    // The client must exist in the viewer's organisation; without any basis it is otherwise
    // invisible, so look it up directly.
    let found = access::load(&*txn, op.viewer, op.now, &[client_id]).await?.remove(&client_id);
    let Some(client) = found.filter(|c| c.client.organization_id == op.viewer.organization_id) else {
        return Err(ApiError::not_found("client"));
    };
    if let Some((active_id, _)) = client.access.emergency {
        let active = emergency_access::Entity::find_by_id(active_id).one(&*txn).await?;
        if let Some(active) = active {
            return Ok((active, client));
        }
    }
    if let crate::policy::Decision::Deny(reason) = rules::break_glass(op.viewer.roles, client.access.bases) {
        drop(txn);
        let entry = AuditEntry::denied(client_id, AuditAction::EmergencyAccess, "EmergencyAccess");
        return Err(op.refuse(db, entry, reason).await);
    }
    let grant = emergency_access::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        user_id: Set(op.viewer.user_id),
        reason: Set(reason),
        starts_at: Set(op.now),
        ends_at: Set(op.now + duration),
        warned_at: Set(None),
        ended_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    op.log(
        &*txn,
        AuditEntry::success(client_id, AuditAction::EmergencyAccess, "EmergencyAccess")
            .on(grant.id)
            .basis(Some(Basis::Emergency), Some(grant.id)),
    )
    .await?;
    let mut recipients: Vec<Uuid> = counselors_of(&*txn, &[client_id]).await?.into_iter().map(|(_, c)| c.id).collect();
    recipients.push(client_id);
    recipients.retain(|id| *id != op.viewer.user_id);
    let title =
        format!("{} used emergency access to the dossier of {}", op.viewer.display_name, client.client.display_name);
    let links = Links { client_id: Some(client_id), emergency_access_id: Some(grant.id), ..Links::default() };
    notifications::notify(&txn, recipients, NotificationKind::EmergencyAccess, &title, links, op.now);
    // The client also hears of it by e-mail; the reason stays in the portal.
    let subject = "Emergency access to your dossier";
    let body = format!(
        "{} used emergency access to your dossier at {} (UTC). Log in to see why and for how long.",
        op.viewer.display_name,
        op.now.format("%Y-%m-%d %H:%M")
    );
    mailer::queue(&txn, Some(client_id), &client.client.email, subject, &body, op.now).await?;
    txn.announce(Event::DeadlineSet { ends_at: grant.ends_at });
    txn.commit().await?;
    let client = visible_client(db.conn(), op, client_id).await?;
    Ok((grant, client))
}

/// An emergency access by id.
pub async fn find(
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> Result<Option<emergency_access::Model>, sea_orm::DbErr> {
    emergency_access::Entity::find_by_id(id).one(db).await
}
