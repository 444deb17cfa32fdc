//! The database handle: connecting (SQLite tuned for concurrent use, or PostgreSQL), migrating,
//! and write transactions.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use inzage_migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QuerySelect, Select, Statement, TransactionTrait,
};

use crate::events::postgres::CHANNEL;
use crate::events::{Announcement, Event, Hub};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Statements recorded (for a benchmark that explains a request's SQL), each with how long it
/// took.
pub type Recorded = Vec<(Statement, Duration)>;

/// The statements being recorded, when someone asked for them. Off unless a caller in the
/// process turns it on: no setting does; while off it costs one atomic load per statement.
#[derive(Default)]
struct Recorder {
    on: std::sync::atomic::AtomicBool,
    statements: std::sync::Mutex<Recorded>,
}

/// A connection pool plus, on SQLite, the gate that keeps one writer at a time.
///
/// SQLite allows a single writer; two transactions that both read and then write would fail
/// with "database is locked" instead of waiting. Serialising write transactions in the process
/// avoids that. PostgreSQL needs no gate.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    write_gate: Option<Arc<Mutex<()>>>,
    statements: Arc<AtomicU64>,
    commits: Arc<AtomicU64>,
    hub: Arc<Hub>,
    recorder: Arc<Recorder>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend()).finish()
    }
}

impl Database {
    /// Connects to `url` (SQLite files are created when missing).
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(5));
        let is_sqlite = url.starts_with("sqlite:");
        if is_sqlite {
            options.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        }
        let mut conn = sea_orm::Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        let recorder = Arc::new(Recorder::default());
        let recording = recorder.clone();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if recording.on.load(Ordering::Relaxed) {
                let mut statements = recording.statements.lock().unwrap_or_else(|e| e.into_inner());
                statements.push((info.statement.clone(), info.elapsed));
            }
        });
        Ok(Self {
            conn,
            write_gate: is_sqlite.then(|| Arc::new(Mutex::new(()))),
            statements,
            commits: Arc::new(AtomicU64::new(0)),
            hub: Arc::new(Hub::default()),
            recorder,
        })
    }

    /// How many SQL statements this pool has run since it was opened: the measure behind
    /// "a constant number of round trips per request".
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Starts (`true`) or stops recording the statements this pool runs and how long each took;
    /// either returns what was recorded until then. For benchmarks that explain a request's SQL.
    pub fn record_statements(&self, on: bool) -> Recorded {
        self.recorder.on.store(on, Ordering::Relaxed);
        std::mem::take(&mut *self.recorder.statements.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Counts a statement run on the pool directly rather than through SeaORM.
    pub(crate) fn count_statement(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// Whether every migration has been applied (for `/readyz`).
    pub async fn is_migrated(&self) -> Result<bool, DbErr> {
        Ok(Migrator::get_pending_migrations(&self.conn).await?.is_empty())
    }

    /// The pool, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// How many write transactions this instance has committed: a cache of what the database
    /// said is valid while this number has not moved.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// This instance's live-event hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Begins the transaction of one mutation. Dropping it without `commit` rolls back.
    pub async fn begin_write(&self) -> Result<WriteTransaction, DbErr> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let txn = self.conn.begin().await?;
        Ok(WriteTransaction {
            txn,
            _gate: gate,
            hub: self.hub.clone(),
            commits: self.commits.clone(),
            events: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// One mutation's transaction; holds the SQLite write gate until it ends, and the events it
/// announces until it commits.
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
    hub: Arc<Hub>,
    commits: Arc<AtomicU64>,
    events: std::sync::Mutex<Vec<Event>>,
}

impl WriteTransaction {
    /// Announces `event` to live subscribers once (and only if) this transaction commits. On
    /// PostgreSQL the announcement to other instances is a `pg_notify` inside the transaction.
    pub async fn announce(&self, event: Event) -> Result<(), DbErr> {
        if self.txn.get_database_backend() == DbBackend::Postgres {
            let payload = serde_json::to_string(&Announcement { origin: self.hub.instance(), event })
                .map_err(|err| DbErr::Custom(err.to_string()))?;
            self.txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [CHANNEL.into(), payload.into()],
                ))
                .await?;
        }
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(event);
        Ok(())
    }

    /// The row `query` finds, locked for the rest of the transaction on PostgreSQL (`FOR
    /// UPDATE`), so that two changes that must see each other serialise on it. SQLite already
    /// lets one writer in at a time.
    pub async fn find_locked<E: EntityTrait>(&self, query: Select<E>) -> Result<Option<E::Model>, DbErr> {
        let query = if self.txn.get_database_backend() == DbBackend::Postgres { query.lock_exclusive() } else { query };
        query.one(&self.txn).await
    }

    /// Commits, then hands the announced events to this instance's subscribers.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        self.commits.fetch_add(1, Ordering::AcqRel);
        let events = std::mem::take(&mut *self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for event in events {
            self.hub.publish(event);
        }
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
