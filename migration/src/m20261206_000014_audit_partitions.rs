//! On PostgreSQL the access log becomes a table partitioned by month of `occurred_at`, so that
//! it can grow for years and a month past the retention period is dropped whole. Every row is
//! kept: the rows move into the new table's partitions, which cover every month that has rows
//! and the months ahead. (SQLite keeps one table and deletes rows past the retention period.)

use chrono::{Datelike, NaiveDate, Utc};

use crate::partitions::{create_partition, next_month};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Months made ahead of the current one at migration time (the service keeps making them).
const MONTHS_AHEAD: u32 = 3;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "ALTER TABLE audit_event RENAME TO audit_event_unpartitioned",
            "ALTER TABLE audit_event_unpartitioned RENAME CONSTRAINT audit_event_pkey TO audit_event_unpartitioned_pkey",
            "DROP INDEX ix_audit_event_client",
            "DROP INDEX ix_audit_event_actor",
            "DROP INDEX ix_audit_event_written",
            "CREATE TABLE audit_event (LIKE audit_event_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) \
             PARTITION BY RANGE (occurred_at)",
            // A partitioned table's keys include the partition key.
            "ALTER TABLE audit_event ADD PRIMARY KEY (id, occurred_at)",
            "CREATE INDEX ix_audit_event_client ON audit_event (client_id, id)",
            "CREATE INDEX ix_audit_event_actor ON audit_event (actor_id, id)",
            "CREATE INDEX ix_audit_event_written ON audit_event USING brin (written_xid)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        let oldest = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (MIN(occurred_at) AT TIME ZONE 'UTC')::date AS oldest FROM audit_event_unpartitioned",
            ))
            .await?
            .and_then(|row| row.try_get::<Option<NaiveDate>>("", "oldest").ok().flatten());
        let today = Utc::now().date_naive();
        let mut month = Ord::min(oldest.unwrap_or(today), today).with_day(1).unwrap_or(today);
        let mut last = today.with_day(1).unwrap_or(today);
        for _ in 0..MONTHS_AHEAD {
            last = next_month(last);
        }
        // Rows dated after the months made (a clock far ahead) get months of their own too.
        let newest = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (MAX(occurred_at) AT TIME ZONE 'UTC')::date AS newest FROM audit_event_unpartitioned",
            ))
            .await?
            .and_then(|row| row.try_get::<Option<NaiveDate>>("", "newest").ok().flatten());
        if let Some(newest) = newest.and_then(|newest| newest.with_day(1)) {
            last = Ord::max(last, newest);
        }
        while month <= last {
            db.execute_unprepared(&create_partition(month)).await?;
            month = next_month(month);
        }
        db.execute_unprepared("INSERT INTO audit_event SELECT * FROM audit_event_unpartitioned").await?;
        db.execute_unprepared("DROP TABLE audit_event_unpartitioned").await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // A partitioned log stays partitioned.
        Ok(())
    }
}
