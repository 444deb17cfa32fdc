//! The access log over years: on PostgreSQL partitioned by month (migrating an existing log
//! keeps every row), months made ahead, and rows past the retention period removed (whole
//! months on PostgreSQL, rows on SQLite) without breaking the verification of the seals.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use inzage_api::db::Database;
use inzage_api::{retention, sealing};
use inzage_entity::{AuditAction, AuditOutcome, audit_event};
use inzage_migration::{Migrator, MigratorTrait};
use inzage_testkit::{Backend, TestApp, TestDatabase, on_every_database};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, Statement};
use uuid::Uuid;

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 12, 0, 0).single().expect("a date")
}

/// Writes one access-log row dated `occurred_at` directly, as the service would.
async fn row(db: &impl ConnectionTrait, occurred_at: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(id),
        occurred_at: Set(occurred_at),
        actor_id: Set(Some(Uuid::now_v7())),
        actor_role: Set(None),
        client_id: Set(Some(Uuid::now_v7())),
        action: Set(AuditAction::Read),
        object_type: Set("DossierEntry".into()),
        object_id: Set(None),
        basis: Set(Some("CASELOAD".into())),
        grant_id: Set(None),
        outcome: Set(AuditOutcome::Success),
        request_id: Set(None),
        emergency: Set(false),
    })
    .exec_without_returning(db)
    .await
    .expect("a row");
    id
}

/// The partition a row is in (PostgreSQL).
async fn partition_of(db: &Database, id: Uuid) -> String {
    let row = db
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT tableoid::regclass::text AS part FROM audit_event WHERE id = $1",
            [id.into()],
        ))
        .await
        .expect("query")
        .expect("the row");
    row.try_get("", "part").expect("a name")
}

async fn partition_exists(db: &Database, name: &str) -> bool {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT to_regclass('{name}') IS NOT NULL AS found"),
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get("", "found").expect("a bool")
}

async fn migrating_an_existing_log_keeps_every_row(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let db = Database::connect(&database.url).await.expect("connect");
    // The schema before the log was partitioned, with rows of several years.
    Migrator::up(db.conn(), Some(13)).await.expect("the earlier migrations");
    let dates = [at(2024, 1, 15), at(2025, 7, 31), at(2026, 3, 1), Utc::now()];
    let mut ids = Vec::new();
    for date in dates {
        ids.push(row(db.conn(), date).await);
    }
    Migrator::up(db.conn(), None).await.expect("the rest");
    assert_eq!(audit_event::Entity::find().count(db.conn()).await.expect("count"), dates.len() as u64);
    if db.backend() == DbBackend::Postgres {
        assert_eq!(partition_of(&db, ids[0]).await, "audit_event_y2024m01");
        assert_eq!(partition_of(&db, ids[1]).await, "audit_event_y2025m07");
        // Every month in between exists, for rows written late.
        assert!(partition_exists(&db, "audit_event_y2024m09").await);
    }
    // The log still takes rows, today's and next month's.
    row(db.conn(), Utc::now()).await;
    row(db.conn(), Utc::now() + chrono::Duration::days(31)).await;
}

async fn months_ahead_exist_and_what_is_past_the_retention_is_removed(backend: Backend) {
    // The instance keeps five years (its own upkeep leaves these rows alone); the test prunes
    // at 400 days itself.
    let app = TestApp::spawn(&backend).await;
    let db = &app.app.db;
    let now = app.clock_now();
    // Months ahead were made at start: a row dated ten months on is taken.
    row(db.conn(), now + chrono::Duration::days(300)).await;

    // A row of long ago, sealed when it was written, and a recent one, sealed now.
    let old_day = now - chrono::Duration::days(500);
    retention::ensure_months(db, old_day, old_day).await.expect("an old month");
    let old = row(db.conn(), old_day).await;
    seal_all(&app, old_day + chrono::Duration::seconds(5)).await;
    let recent = row(db.conn(), now - chrono::Duration::days(10)).await;
    seal_all(&app, now).await;

    let pruned = retention::prune(db, now, Duration::from_secs(400 * 86_400)).await.expect("pruning");
    let kept =
        |id: Uuid| async move { audit_event::Entity::find_by_id(id).one(db.conn()).await.expect("find").is_some() };
    assert!(!kept(old).await, "the row past the retention period was removed");
    assert!(kept(recent).await, "the recent row was kept");
    if db.backend() == DbBackend::Postgres {
        let month = format!("audit_event_y{}", old_day.format("%Ym%m"));
        assert_eq!(pruned.months, vec![month.clone()], "the whole month was dropped");
        assert!(!partition_exists(db, &month).await);
    } else {
        assert_eq!(pruned.rows, 1);
    }

    // The seals still verify, the pruned rows' seal by its place in the chain only.
    let retained_since = now - chrono::Duration::days(400);
    let finding = sealing::verify(db, &[], Some(retained_since)).await.expect("verifying");
    assert!(matches!(finding, sealing::Finding::Intact { .. }), "{finding}");
    // Without the retention period the removal shows.
    let finding = sealing::verify(db, &[], None).await.expect("verifying");
    assert!(matches!(finding, sealing::Finding::RowRemoved { id, .. } if id == old), "{finding}");
}

/// Seals everything written so far, dated `at`.
async fn seal_all(app: &TestApp, at: DateTime<Utc>) {
    for _ in 0..200 {
        sealing::seal_now(&app.app.db, at).await.expect("sealing");
        if matches!(sealing::verify(&app.app.db, &[], None).await, Ok(sealing::Finding::Intact { unsealed: 0, .. })) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rows were left unsealed for 10 s");
}

on_every_database!(
    migrating_an_existing_log_keeps_every_row,
    months_ahead_exist_and_what_is_past_the_retention_is_removed,
);
