//! The access log over years: on PostgreSQL `audit_event` is partitioned by month; months are
//! made ahead of time and a month past the retention period is dropped whole. SQLite keeps one
//! table and deletes rows past the retention period.
//!
//! Every instance runs the upkeep (months at start, then a minute after start and every hour);
//! it is idempotent, so whichever
//! instance gets there first does the work and the others find nothing to do. A month is
//! dropped, and an SQLite row deleted, only a day after it passed the retention period, so that
//! it was sealed long before (see `sealing.rs`): a verification skips the rows of seals older
//! than the retention period and checks only their place in the chain.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use inzage_migration::partitions::{create_partition, next_month, partition_name};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::clock::SharedClock;
use crate::db::Database;

/// Months made ahead of the current one.
pub const MONTHS_AHEAD: u32 = 12;

/// How long after the retention period a month (or row) is removed.
const MARGIN: chrono::Duration = chrono::Duration::days(1);

/// Rows deleted per statement on SQLite.
const DELETE_BATCH: i64 = 10_000;

/// The first day of the month of `at`.
fn month_of(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive().with_day(1).unwrap_or(NaiveDate::MIN)
}

/// The months that must exist at `now`: the one before (a request that began before midnight
/// on the last day logs under that month, and instances' clocks differ a little) up to
/// [`MONTHS_AHEAD`] on.
pub fn months_needed(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - chrono::Duration::days(31), now + chrono::Duration::days(31 * i64::from(MONTHS_AHEAD)))
}

/// Makes sure the months from `from` to `to` have their partitions (PostgreSQL; nothing to do
/// on SQLite). Only missing months are created, so that a run that finds them all takes no lock.
pub async fn ensure_months(db: &Database, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<usize, DbErr> {
    if db.backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let existing = partitions(db).await?;
    let mut made = 0;
    let mut month = month_of(from);
    while month <= month_of(to) {
        if !existing.iter().any(|(name, _)| *name == partition_name(month)) {
            match db.conn().execute_unprepared(&create_partition(month)).await {
                Ok(_) => made += 1,
                // Another instance made it at the same moment.
                Err(err) if err.to_string().contains("already exists") => {}
                Err(err) => return Err(err),
            }
        }
        month = next_month(month);
    }
    Ok(made)
}

/// The access log's partitions with the first day of their month.
async fn partitions(db: &Database) -> Result<Vec<(String, NaiveDate)>, DbErr> {
    let rows = db
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit_event' AND c.relkind = 'r'",
        ))
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let month = name
            .strip_prefix("audit_event_y")
            .and_then(|rest| rest.split_once('m'))
            .and_then(|(year, month)| NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1));
        if let Some(month) = month {
            found.push((name, month));
        }
    }
    Ok(found)
}

/// What one pruning removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// Months dropped (PostgreSQL).
    pub months: Vec<String>,
    /// Rows deleted (SQLite).
    pub rows: u64,
}

/// Removes the access log past `retention` at `now`: whole months on PostgreSQL (detached
/// concurrently, so writes never wait, then dropped), rows on SQLite.
pub async fn prune(db: &Database, now: DateTime<Utc>, retention: Duration) -> Result<Pruned, DbErr> {
    let Ok(retention) = chrono::Duration::from_std(retention) else { return Ok(Pruned::default()) };
    let Some(cutoff) = now.checked_sub_signed(retention).and_then(|at| at.checked_sub_signed(MARGIN)) else {
        return Ok(Pruned::default());
    };
    let mut pruned = Pruned::default();
    if db.backend() == DbBackend::Postgres {
        for (name, month) in partitions(db).await? {
            let ends = next_month(month).and_hms_opt(0, 0, 0).map(|at| at.and_utc());
            if ends.is_none_or(|ends| ends > cutoff) {
                continue;
            }
            // Not in a transaction: DETACH … CONCURRENTLY waits for running writes instead of
            // blocking new ones.
            let detach = format!("ALTER TABLE audit_event DETACH PARTITION {name} CONCURRENTLY");
            match db.conn().execute_unprepared(&detach).await {
                Ok(_) => {}
                // Another instance is detaching it.
                Err(err) if err.to_string().contains("is not a partition") => continue,
                Err(err) => return Err(err),
            }
            db.conn().execute_unprepared(&format!("DROP TABLE IF EXISTS {name}")).await?;
            tracing::info!(partition = %name, "dropped a month of the access log past its retention");
            pruned.months.push(name);
        }
    } else {
        loop {
            let deleted = db
                .conn()
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "DELETE FROM audit_event WHERE rowid IN \
                     (SELECT rowid FROM audit_event WHERE occurred_at < ? LIMIT ?)",
                    [cutoff.into(), DELETE_BATCH.into()],
                ))
                .await?
                .rows_affected();
            pruned.rows += deleted;
            if deleted < DELETE_BATCH as u64 {
                break;
            }
        }
    }
    Ok(pruned)
}

/// Keeps months ahead and prunes past `retention`: a minute after start, then every hour.
pub fn spawn(db: Database, clock: SharedClock, retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The months needed now were made at start; the first upkeep comes a minute later.
        let start = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut every = tokio::time::interval_at(start, Duration::from_secs(3600));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let (from, to) = months_needed(clock.now());
            if let Err(err) = ensure_months(&db, from, to).await {
                tracing::warn!(error = %err, "making the access log's months ahead failed; retrying in an hour");
            }
            if let Err(err) = prune(&db, clock.now(), retention).await {
                tracing::warn!(error = %err, "pruning the access log failed; retrying in an hour");
            }
        }
    })
}
