//! Notification rows: written by the operation that concerns a person, in its transaction.

use chrono::{DateTime, Utc};
use inzage_entity::{NotificationKind, notification};
use std::collections::HashMap;

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement};

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

/// Keys one SQLite statement of [`sqlite_page_each`] reads (SQLite joins at most 500 `SELECT`s).
const SQLITE_KEYS_PER_STATEMENT: usize = 250;

/// For each (recipient, id) of `keys`: the recipient's notifications after that id, oldest
/// first, at most `limit`, no key reading more than a page. On PostgreSQL one statement
/// whatever the number of keys (a lateral join per key); on SQLite one, or when a key has a
/// long backlog, one more for every [`SQLITE_KEYS_PER_STATEMENT`] keys.
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
        // SQLite: first one statement for every key, the recipients' rows after the oldest
        // cursor, at most a page a key in all. When that is all of them (the usual wake-up: a
        // row or two each) or there is one key, they are shared out; otherwise (a long backlog
        // among the keys) each key reads its own page.
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
        let most = limit.saturating_mul(keys.len() as u64);
        let recipients: std::collections::HashSet<Uuid> = keys.iter().map(|(recipient, _)| *recipient).collect();
        let rows = notification::Entity::find()
            .filter(notification::Column::RecipientId.is_in(recipients))
            .filter(notification::Column::Id.gt(oldest))
            .order_by_asc(notification::Column::Id)
            .limit(most)
            .all(db)
            .await?;
        if (rows.len() as u64) < most || keys.len() == 1 {
            for &(recipient, after) in keys {
                let mine: Vec<notification::Model> = rows
                    .iter()
                    .filter(|row| row.recipient_id == recipient && row.id > after)
                    .take(usize::try_from(limit).unwrap_or(usize::MAX))
                    .cloned()
                    .collect();
                found.insert((recipient, after), mine);
            }
        } else {
            found = sqlite_page_each(db, keys, limit).await?;
        }
    }
    Ok(found)
}

/// On SQLite, [`after_each`] with a `LIMIT`ed indexed read for each key, as many to a statement
/// (`UNION ALL`) as [`SQLITE_KEYS_PER_STATEMENT`].
async fn sqlite_page_each(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, Uuid)],
    limit: u64,
) -> Result<HashMap<(Uuid, Uuid), Vec<notification::Model>>, DbErr> {
    use sea_orm::FromQueryResult;
    let mut found: HashMap<(Uuid, Uuid), Vec<notification::Model>> = HashMap::new();
    for chunk in keys.chunks(SQLITE_KEYS_PER_STATEMENT) {
        let mut sql = String::new();
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 4);
        for &(recipient, after) in chunk {
            if !sql.is_empty() {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str(
                "SELECT * FROM (SELECT ? AS wanted_after, notification.* FROM notification \
                 WHERE recipient_id = ? AND id > ? ORDER BY id LIMIT ?)",
            );
            values.extend([after.into(), recipient.into(), after.into(), (limit as i64).into()]);
        }
        for row in db.query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await? {
            let after: Uuid = row.try_get("", "wanted_after")?;
            let model = notification::Model::from_query_result(&row, "")?;
            found.entry((model.recipient_id, after)).or_default().push(model);
        }
    }
    for rows in found.values_mut() {
        rows.sort_unstable_by_key(|row| row.id);
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
