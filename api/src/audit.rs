//! The NEN 7513 access log: who read or changed which client's data, on which basis, with what
//! outcome.
//!
//! Changes write their rows inside their own transaction ([`write`]). Reads are collected per
//! request in a [`ReadLog`] (one row per client, action, outcome and basis, naming the kinds of
//! object read) and written before the response is sent: a response never carries client data
//! whose read is not logged.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use inzage_entity::{AuditAction, AuditOutcome, Basis, audit_event};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::Database;

/// One event to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditEntry {
    pub client_id: Option<Uuid>,
    pub action: AuditAction,
    pub object_type: &'static str,
    pub object_id: Option<Uuid>,
    pub basis: Option<Basis>,
    pub grant_id: Option<Uuid>,
    pub outcome: AuditOutcome,
}

impl AuditEntry {
    /// A successful action on a client's data.
    pub fn success(client_id: Uuid, action: AuditAction, object_type: &'static str) -> Self {
        Self {
            client_id: Some(client_id),
            action,
            object_type,
            object_id: None,
            basis: None,
            grant_id: None,
            outcome: AuditOutcome::Success,
        }
    }

    /// A refused attempt on a client's data.
    pub fn denied(client_id: Uuid, action: AuditAction, object_type: &'static str) -> Self {
        Self { outcome: AuditOutcome::Denied, ..Self::success(client_id, action, object_type) }
    }

    pub fn on(mut self, object_id: Uuid) -> Self {
        self.object_id = Some(object_id);
        self
    }

    pub fn basis(mut self, basis: Option<Basis>, grant_id: Option<Uuid>) -> Self {
        self.basis = basis;
        self.grant_id = grant_id;
        self
    }
}

fn row(viewer: &Viewer, now: DateTime<Utc>, request_id: &str, entry: AuditEntry) -> audit_event::ActiveModel {
    model(viewer, now, request_id, entry).into_active_model()
}

fn model(viewer: &Viewer, now: DateTime<Utc>, request_id: &str, entry: AuditEntry) -> audit_event::Model {
    audit_event::Model {
        id: Uuid::now_v7(),
        occurred_at: now,
        actor_id: Some(viewer.user_id),
        actor_role: crate::policy::client::acting_role(viewer.roles, entry.basis),
        client_id: entry.client_id,
        action: entry.action,
        object_type: entry.object_type.to_owned(),
        object_id: entry.object_id,
        basis: entry.basis.map(|b| b.name().to_owned()),
        grant_id: entry.grant_id,
        outcome: entry.outcome,
        request_id: (!request_id.is_empty()).then(|| request_id.to_owned()),
        emergency: entry.basis == Some(Basis::Emergency) || entry.action == AuditAction::EmergencyAccess,
    }
}

/// The rows of a request's reads on PostgreSQL: one statement whatever their number, each
/// column bound as one array. Its text never changes, so it is prepared once per connection;
/// a multi-row `VALUES` list of a thousand rows costs PostgreSQL more to parse and plan (13
/// parameters a row) than to insert.
const INSERT_UNNEST: &str = "INSERT INTO audit_event (id, occurred_at, actor_id, actor_role, client_id, action, \
     object_type, object_id, basis, grant_id, outcome, request_id, emergency) \
     SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], \
     $7::text[], $8::uuid[], $9::text[], $10::uuid[], $11::text[], $12::text[], $13::bool[])";

async fn write_unnest(db: &Database, rows: Vec<audit_event::Model>) -> Result<(), DbErr> {
    use sea_orm::ActiveEnum;
    let query = sea_orm::sqlx::query(INSERT_UNNEST)
        .bind(rows.iter().map(|r| r.id).collect::<Vec<Uuid>>())
        .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<DateTime<Utc>>>())
        .bind(rows.iter().map(|r| r.actor_id).collect::<Vec<Option<Uuid>>>())
        .bind(rows.iter().map(|r| r.actor_role.map(|role| role.to_value())).collect::<Vec<Option<String>>>())
        .bind(rows.iter().map(|r| r.client_id).collect::<Vec<Option<Uuid>>>())
        .bind(rows.iter().map(|r| r.action.to_value()).collect::<Vec<String>>())
        .bind(rows.iter().map(|r| r.object_type.clone()).collect::<Vec<String>>())
        .bind(rows.iter().map(|r| r.object_id).collect::<Vec<Option<Uuid>>>())
        .bind(rows.iter().map(|r| r.basis.clone()).collect::<Vec<Option<String>>>())
        .bind(rows.iter().map(|r| r.grant_id).collect::<Vec<Option<Uuid>>>())
        .bind(rows.iter().map(|r| r.outcome.to_value()).collect::<Vec<String>>())
        .bind(rows.iter().map(|r| r.request_id.clone()).collect::<Vec<Option<String>>>())
        .bind(rows.iter().map(|r| r.emergency).collect::<Vec<bool>>());
    db.count_statement();
    query.execute(db.conn().get_postgres_connection_pool()).await.map_err(|err| DbErr::Custom(err.to_string()))?;
    Ok(())
}

/// Writes one row (inside the caller's transaction, for changes).
pub async fn write(
    txn: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    request_id: &str,
    entry: AuditEntry,
) -> Result<(), DbErr> {
    audit_event::Entity::insert(row(viewer, now, request_id, entry)).exec_without_returning(txn).await?;
    Ok(())
}

/// Rows per insert statement: 13 parameters a row stays under SQLite's limit of 32,766 bound
/// parameters (and PostgreSQL's 65,535), so a page of 200 clients logs in one statement.
const ROWS_PER_INSERT: usize = 2_000;

/// Writes many rows (inside the caller's transaction), in as few statements as the databases'
/// parameter limits allow.
pub async fn write_many(
    txn: &impl ConnectionTrait,
    viewer: &Viewer,
    now: DateTime<Utc>,
    request_id: &str,
    entries: Vec<AuditEntry>,
) -> Result<(), DbErr> {
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let rows = chunk.iter().map(|entry| row(viewer, now, request_id, *entry));
        audit_event::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// The reads of one request, written together before the response leaves.
///
/// One row per client, action, outcome, basis and grant: a dashboard that reads the contact
/// details, counselors and trajectories of 200 clients on one basis writes 200 rows, each
/// naming the kinds of object it covers (`AuditEvent.objectTypes` in the schema), not one row
/// per kind. NEN 7513 asks who accessed whose data, when, how, on which basis and with what
/// outcome; a row per kind of object answers none of those better, and cost four times the
/// writing.
pub struct ReadLog {
    viewer: Viewer,
    now: DateTime<Utc>,
    request_id: String,
    rows: Mutex<ReadRows>,
}

/// What makes two reads in one request the same row: client, action, outcome, basis, grant.
type ReadKey = (Option<Uuid>, AuditAction, AuditOutcome, Option<Basis>, Option<Uuid>);

#[derive(Default)]
struct ReadRows {
    /// The first read of each row, and the kinds of object read under it.
    rows: Vec<(AuditEntry, Vec<&'static str>)>,
    index: HashMap<ReadKey, usize>,
}

/// The separator of the kinds of object in a read row's `object_type`.
pub const KINDS_SEPARATOR: char = ',';

impl ReadLog {
    pub fn new(viewer: Viewer, now: DateTime<Utc>, request_id: String) -> Self {
        Self { viewer, now, request_id, rows: Mutex::new(ReadRows::default()) }
    }

    /// Notes a read (or refused read); reads of one client on the same basis, action and outcome
    /// in one request make one row, listing each kind of object once.
    pub fn record(&self, entry: AuditEntry) {
        let mut guard = self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ReadRows { rows, index } = &mut *guard;
        let key = (entry.client_id, entry.action, entry.outcome, entry.basis, entry.grant_id);
        match index.get(&key) {
            Some(&at) => {
                let kinds = &mut rows[at].1;
                if !kinds.contains(&entry.object_type) {
                    kinds.push(entry.object_type);
                }
            }
            None => {
                index.insert(key, rows.len());
                rows.push((entry, vec![entry.object_type]));
            }
        }
    }

    /// Writes every noted read in one statement.
    pub async fn flush(&self, db: &Database) -> Result<(), DbErr> {
        let rows = {
            let mut guard = self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::take(&mut *guard).rows
        };
        if rows.is_empty() {
            return Ok(());
        }
        let models = rows.into_iter().map(|(entry, mut kinds)| {
            // The same read in any order makes the same row.
            kinds.sort_unstable();
            let mut row = model(&self.viewer, self.now, &self.request_id, entry);
            row.object_type = kinds.join(&KINDS_SEPARATOR.to_string());
            row
        });
        if db.backend() == DbBackend::Postgres {
            return write_unnest(db, models.collect()).await;
        }
        for chunk in models.collect::<Vec<_>>().chunks(ROWS_PER_INSERT) {
            let rows = chunk.iter().cloned().map(IntoActiveModel::into_active_model);
            audit_event::Entity::insert_many(rows).exec_without_returning(db.conn()).await?;
        }
        Ok(())
    }
}
