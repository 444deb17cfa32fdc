//! The order of notification ids: per recipient, the order their transactions commit in (see
//! [`write_ordered`]). A subscriber that has delivered a recipient's notifications up to an id
//! and reads those after it, when woken, can therefore never miss one.

use std::collections::HashMap;

use inzage_entity::notification;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Statement};
use uuid::Uuid;

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
        if let [row] = rows.as_mut_slice()
            && let Some(written) = write_one_if_newest(txn, row).await?
        {
            return Ok(vec![written]);
        }
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
    // In statements of a bounded size: a database binds only so many values in one (SQLite
    // 32,766, PostgreSQL 65,535), and a commit may notify thousands.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let statement: Vec<_> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        notification::Entity::insert_many(statement).exec_without_returning(txn).await?;
    }
    Ok(written)
}

/// Notifications written by one `INSERT` (12 values each).
const ROWS_PER_STATEMENT: usize = 1_000;

/// On PostgreSQL, with the recipient's lock held: writes the one notification of a transaction
/// with a new id, in the same statement as the check that the id is above every id of that
/// recipient already committed (one round trip less while the lock is held); `None`, writing
/// nothing, when it is not (a clock behind another instance's), for [`write_ordered`] to give it
/// an id above the newest.
async fn write_one_if_newest(
    txn: &sea_orm::DatabaseTransaction,
    row: &mut notification::ActiveModel,
) -> Result<Option<(Uuid, Uuid)>, DbErr> {
    use sea_orm::{ActiveModelTrait, IdenStatic, Iterable};
    let recipient = *row.recipient_id.as_ref();
    let id = Uuid::now_v7();
    row.id = Set(id);
    let mut values = Vec::with_capacity(notification::Column::iter().len());
    for column in notification::Column::iter() {
        values.push(row.get(column).into_value().ok_or_else(|| DbErr::Custom(format!("{column:?} is not set")))?);
    }
    // The statement's text, made once: the columns in their order, then the check.
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let names: Vec<&str> = notification::Column::iter().map(|column| column.as_str()).collect();
        let position = |wanted: notification::Column| names.iter().position(|name| *name == wanted.as_str());
        let placeholder = |wanted| position(wanted).map_or(0, |i| i + 1);
        format!(
            "INSERT INTO notification ({}) SELECT {} WHERE NOT EXISTS \
             (SELECT 1 FROM notification WHERE recipient_id = ${} AND id >= ${})",
            names.join(", "),
            (1..=names.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
            placeholder(notification::Column::RecipientId),
            placeholder(notification::Column::Id),
        )
    });
    let result = txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values)).await?;
    Ok((result.rows_affected() == 1).then_some((recipient, id)))
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
        .filter(notification::Column::RecipientId.is_in(recipients.iter().copied()))
        .group_by(notification::Column::RecipientId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The first key of the advisory locks that order notifications per recipient bucket.
const NOTIFICATION_ORDER_LOCK: i32 = 75_130_001;
