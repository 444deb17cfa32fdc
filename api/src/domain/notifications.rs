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

/// One page of a person's notifications, oldest first.
pub async fn page(
    db: &impl ConnectionTrait,
    recipient: Uuid,
    unread_only: bool,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(recipient))
        .order_by_asc(notification::Column::Id)
        .limit(limit + 1);
    if unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(after) = after {
        query = query.filter(notification::Column::Id.gt(after));
    }
    query.all(db).await
}

/// Marks the given notifications of `recipient` read; others' ids are ignored. Returns how
/// many changed (already read ones do not count).
pub async fn mark_read(
    db: &crate::db::Database,
    recipient: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let txn = db.begin_write().await?;
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::RecipientId.eq(recipient))
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(result.rows_affected)
}
