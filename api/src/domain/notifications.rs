//! Notification rows: written by the operation that concerns a person, in its transaction.

use chrono::{DateTime, Utc};
use inzage_entity::{NotificationKind, notification};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

/// What a notification points at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Links {
    pub client_id: Option<Uuid>,
    pub emergency_access_id: Option<Uuid>,
}

/// Writes one notification per recipient (inside the caller's transaction).
pub async fn notify(
    txn: &impl ConnectionTrait,
    recipients: impl IntoIterator<Item = Uuid>,
    kind: NotificationKind,
    title: &str,
    links: Links,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows: Vec<notification::ActiveModel> = recipients
        .into_iter()
        .map(|recipient| notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            recipient_id: Set(recipient),
            kind: Set(kind),
            title: Set(title.to_owned()),
            client_id: Set(links.client_id),
            consent_request_id: Set(None),
            delegation_id: Set(None),
            task_id: Set(None),
            message_id: Set(None),
            emergency_access_id: Set(links.emergency_access_id),
            created_at: Set(now),
            read_at: Set(None),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    notification::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(())
}
