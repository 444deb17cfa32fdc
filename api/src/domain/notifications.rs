//! Notification rows: written by the operation that concerns a person, in its transaction.

use chrono::{DateTime, Utc};
use inzage_entity::{NotificationKind, notification};
use std::collections::HashMap;

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Statement};

use crate::db::AmongIds;
use crate::db::WriteTransaction;
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

/// Notifies each of `recipients`: their rows are written when the caller's transaction
/// commits, with it or not at all, and announced to live subscribers once it has.
pub fn notify(
    txn: &WriteTransaction,
    recipients: impl IntoIterator<Item = Uuid>,
    kind: NotificationKind,
    title: &str,
    links: Links,
    now: DateTime<Utc>,
) {
    let title = super::values::shorten(title, TITLE_MAX_CHARS);
    txn.notify_on_commit(recipients.into_iter().map(|recipient| notification::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        recipient_id: Set(recipient),
        kind: Set(kind),
        title: Set(title.clone()),
        client_id: Set(links.client_id),
        consent_request_id: Set(links.consent_request_id),
        delegation_id: Set(links.delegation_id),
        task_id: Set(links.task_id),
        message_id: Set(links.message_id),
        emergency_access_id: Set(links.emergency_access_id),
        created_at: Set(now),
        read_at: Set(None),
    }));
}

/// Writes a transaction's notifications, as the last thing before it commits; returns each
/// row's (recipient, id).
///
/// Each recipient's notification ids grow in the order their transactions commit: a subscriber
/// resuming `after` an id can never miss one of theirs that committed later with a smaller id.
/// On PostgreSQL the transaction first takes, for each recipient, a transaction-scoped advisory
/// lock on the recipient's bucket (one of [`RECIPIENT_BUCKETS`], all at once in ascending
/// order, so two transactions never wait for each other in a circle), then gives each new id a
/// value above that recipient's newest. Transactions that notify different people do not wait
/// for each other; two that notify the same person commit one after the other, and since this
/// runs just before the commit, the second waits only for the first's last statements and its
/// commit. (SQLite lets one writer in at a time anyway.)
pub async fn write_ordered(
    txn: &sea_orm::DatabaseTransaction,
    mut rows: Vec<notification::ActiveModel>,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let mut recipients: Vec<Uuid> = rows.iter().map(|row| *row.recipient_id.as_ref()).collect();
    recipients.sort_unstable();
    recipients.dedup();
    if txn.get_database_backend() == DbBackend::Postgres {
        let mut buckets: Vec<i32> = recipients.iter().map(|recipient| bucket_of(*recipient)).collect();
        buckets.sort_unstable();
        buckets.dedup();
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, bucket) FROM unnest($2::int4[]) AS bucket ORDER BY bucket",
            [NOTIFICATION_ORDER_LOCK.into(), buckets.into()],
        ))
        .await?;
    }
    // Ids grow strictly in commit order per recipient, even when instances' clocks disagree:
    // each new id is above every id of that recipient already committed.
    let mut floors = newest_of(txn, &recipients).await?;
    let mut written = Vec::with_capacity(rows.len());
    for row in &mut rows {
        let recipient = *row.recipient_id.as_ref();
        let mut id = Uuid::now_v7();
        if let Some(previous) = floors.get(&recipient)
            && id <= *previous
        {
            id = Uuid::from_u128(previous.as_u128() + 1);
        }
        floors.insert(recipient, id);
        row.id = Set(id);
        written.push((recipient, id));
    }
    notification::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(written)
}

/// The buckets recipients are ordered in on PostgreSQL (see [`notify`]): enough that unrelated
/// writes rarely share one, few enough that a notification to a thousand people takes a
/// bounded number of locks.
pub const RECIPIENT_BUCKETS: u32 = 256;

/// The bucket of `recipient`: from the random bits of its id.
fn bucket_of(recipient: Uuid) -> i32 {
    // UUIDs here are v7: the last 8 bytes are random.
    let random = u64::from_be_bytes(recipient.as_bytes()[8..16].try_into().unwrap_or_default());
    (random % u64::from(RECIPIENT_BUCKETS)) as i32
}

/// The newest notification id of each of `recipients` that has one. PostgreSQL has no `max`
/// of a uuid: there each recipient's newest is the first row of its index, backwards.
pub async fn newest_of(db: &impl ConnectionTrait, recipients: &[Uuid]) -> Result<HashMap<Uuid, Uuid>, DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, Func};
    if recipients.is_empty() {
        return Ok(HashMap::new());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT wanted.recipient, newest.id \
             FROM unnest($1::uuid[]) AS wanted(recipient) \
             CROSS JOIN LATERAL (SELECT id FROM notification WHERE recipient_id = wanted.recipient \
                 ORDER BY id DESC LIMIT 1) AS newest",
            [recipients.to_vec().into()],
        );
        let mut newest = HashMap::with_capacity(recipients.len());
        for row in db.query_all_raw(statement).await? {
            newest.insert(row.try_get::<Uuid>("", "recipient")?, row.try_get::<Uuid>("", "id")?);
        }
        return Ok(newest);
    }
    let rows: Vec<(Uuid, Uuid)> = notification::Entity::find()
        .select_only()
        .column(notification::Column::RecipientId)
        .expr(Func::max(Expr::col(notification::Column::Id)))
        .filter(notification::Column::RecipientId.among(db, recipients.iter().copied()))
        .group_by(notification::Column::RecipientId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
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

/// The first key of the advisory locks that order notifications per recipient bucket.
const NOTIFICATION_ORDER_LOCK: i32 = 75_130_001;

/// For each (recipient, id) of `keys`: the recipient's notifications after that id, oldest
/// first, at most `limit`. One statement whatever the number of keys: on PostgreSQL a lateral
/// join per key; on SQLite every recipient's rows after the oldest of the ids, shared out.
pub async fn after_each(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, Uuid)],
    limit: u64,
) -> Result<HashMap<(Uuid, Uuid), Vec<notification::Model>>, DbErr> {
    use sea_orm::FromQueryResult;
    let mut found: HashMap<(Uuid, Uuid), Vec<notification::Model>> = HashMap::new();
    if db.get_database_backend() == DbBackend::Postgres {
        let recipients: Vec<Uuid> = keys.iter().map(|(recipient, _)| *recipient).collect();
        let afters: Vec<Uuid> = keys.iter().map(|(_, after)| *after).collect();
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT wanted.after AS wanted_after, n.* \
             FROM unnest($1::uuid[], $2::uuid[]) AS wanted(recipient, after) \
             CROSS JOIN LATERAL (SELECT * FROM notification WHERE recipient_id = wanted.recipient \
                 AND id > wanted.after ORDER BY id LIMIT $3) AS n \
             ORDER BY n.recipient_id, n.id",
            [recipients.into(), afters.into(), (limit as i64).into()],
        );
        for row in db.query_all_raw(statement).await? {
            let after: Uuid = row.try_get("", "wanted_after")?;
            let model = notification::Model::from_query_result(&row, "")?;
            found.entry((model.recipient_id, after)).or_default().push(model);
        }
    } else if let Some(oldest) = keys.iter().map(|(_, after)| *after).min() {
        // SQLite: one statement for all keys, from the oldest cursor on; each key keeps its own.
        use sea_orm::{ColumnTrait, QueryOrder};
        let recipients: std::collections::HashSet<Uuid> = keys.iter().map(|(recipient, _)| *recipient).collect();
        let rows = notification::Entity::find()
            .filter(notification::Column::RecipientId.is_in(recipients))
            .filter(notification::Column::Id.gt(oldest))
            .order_by_asc(notification::Column::Id)
            .all(db)
            .await?;
        for &(recipient, after) in keys {
            let mine: Vec<notification::Model> = rows
                .iter()
                .filter(|row| row.recipient_id == recipient && row.id > after)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect();
            found.insert((recipient, after), mine);
        }
    }
    Ok(found)
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
        .filter(notification::Column::Id.among(&*txn, ids.iter().copied()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(result.rows_affected)
}
