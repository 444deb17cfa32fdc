//! Notification rows: written by the operation that concerns a person, in its transaction.

use chrono::{DateTime, Utc};
use inzage_entity::{NotificationKind, notification};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait};

use crate::db::AmongIds;
use crate::db::WriteTransaction;
use crate::events::Event;
use uuid::Uuid;

/// What a notification points at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Links {
    pub client_id: Option<Uuid>,
    pub consent_request_id: Option<Uuid>,
    pub delegation_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub emergency_access_id: Option<Uuid>,
}

/// The longest notification title stored (the column holds 300).
const TITLE_MAX_CHARS: usize = 300;

/// Writes one notification per recipient inside the caller's transaction, and announces each
/// to live subscribers for when it commits.
///
/// On PostgreSQL, transactions that write notifications take one transaction-scoped advisory
/// lock first, so notification ids (time-ordered) are handed out in commit order: a subscriber
/// resuming `after` an id can never miss one that committed later with a smaller id.
pub async fn notify(
    txn: &WriteTransaction,
    recipients: impl IntoIterator<Item = Uuid>,
    kind: NotificationKind,
    title: &str,
    links: Links,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let recipients: Vec<Uuid> = recipients.into_iter().collect();
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({NOTIFICATION_ORDER_LOCK})")).await?;
    }
    // Ids grow strictly in commit order, even when instances' clocks disagree: each new id is
    // above every id already committed.
    let mut floor = newest(&**txn).await?;
    let mut next_id = move || {
        let mut id = Uuid::now_v7();
        if let Some(previous) = floor
            && id <= previous
        {
            id = Uuid::from_u128(previous.as_u128() + 1);
        }
        floor = Some(id);
        id
    };
    let rows: Vec<notification::ActiveModel> = recipients
        .iter()
        .map(|&recipient| notification::ActiveModel {
            id: Set(next_id()),
            recipient_id: Set(recipient),
            kind: Set(kind),
            title: Set(super::values::shorten(title, TITLE_MAX_CHARS)),
            client_id: Set(links.client_id),
            consent_request_id: Set(links.consent_request_id),
            delegation_id: Set(links.delegation_id),
            task_id: Set(links.task_id),
            message_id: Set(links.message_id),
            emergency_access_id: Set(links.emergency_access_id),
            created_at: Set(now),
            read_at: Set(None),
        })
        .collect();
    let announced: Vec<Event> = rows
        .iter()
        .map(|row| Event::Notification { recipient: *row.recipient_id.as_ref(), id: *row.id.as_ref() })
        .collect();
    notification::Entity::insert_many(rows).exec_without_returning(&**txn).await?;
    let mut ids = Vec::with_capacity(announced.len());
    for event in announced {
        if let Event::Notification { id, .. } = event {
            ids.push(id);
        }
        txn.announce(event).await?;
    }
    Ok(ids)
}

/// The newest notification id of all (`recipient` None) or of one recipient.
pub async fn newest(db: &impl ConnectionTrait) -> Result<Option<Uuid>, DbErr> {
    newest_for(db, None).await
}

/// The newest notification id, of everyone or of one recipient.
pub async fn newest_for(db: &impl ConnectionTrait, recipient: Option<Uuid>) -> Result<Option<Uuid>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = notification::Entity::find().select_only().column(notification::Column::Id);
    if let Some(recipient) = recipient {
        query = query.filter(notification::Column::RecipientId.eq(recipient));
    }
    query.order_by_desc(notification::Column::Id).into_tuple::<Uuid>().one(db).await
}

/// The advisory lock key that orders notification-writing transactions on PostgreSQL.
const NOTIFICATION_ORDER_LOCK: i64 = 75_130_001;

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
        .filter(notification::Column::Id.among(&*txn, ids.iter().copied()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(result.rows_affected)
}
