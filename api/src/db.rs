//! The database handle: connecting (SQLite tuned for concurrent use, or PostgreSQL), migrating,
//! and write transactions.

use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use inzage_migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::extension::postgres::PgFunc;
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, IntoColumnRef, SimpleExpr, Value};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QuerySelect, Select, Statement, TransactionTrait,
};

use crate::events::announcer::Announcer;
use crate::events::{Event, Hub};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

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

/// The pool size of [`Database::connect`] (`INZAGE_DATABASE_CONNECTIONS`' default).
pub const DEFAULT_CONNECTIONS: u32 = 10;

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
    /// Sends what this instance commits to the other instances, once set up (see
    /// [`Database::announce_through`]); until then, and on SQLite, events stay in the process.
    announcer: Arc<std::sync::OnceLock<Announcer>>,
    recorder: Arc<Recorder>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend()).finish()
    }
}

impl Database {
    /// Connects to `url` (SQLite files are created when missing), with a pool of up to
    /// [`DEFAULT_CONNECTIONS`].
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        Self::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// [`connect`](Self::connect) with a pool of up to `connections`.
    pub async fn connect_with(url: &str, connections: u32) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .max_connections(Ord::max(connections, 1))
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5));
        let is_sqlite = url.starts_with("sqlite:");
        if is_sqlite {
            options.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        } else {
            let choices = PostgresChoices::of(url);
            options.map_sqlx_postgres_opts(move |opts| choices.apply(opts));
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
            announcer: Arc::new(std::sync::OnceLock::new()),
            recorder,
        })
    }

    /// From now on, what this instance commits is also announced to the other instances through
    /// `announcer` (the first one given stays).
    pub fn announce_through(&self, announcer: Announcer) {
        let _ = self.announcer.set(announcer);
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
            announcer: self.announcer.clone(),
            commits: self.commits.clone(),
            events: std::sync::Mutex::new(Vec::new()),
            notifications: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// One mutation's transaction; holds the SQLite write gate until it ends, and the events and
/// notifications it announces until it commits.
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
    hub: Arc<Hub>,
    announcer: Arc<std::sync::OnceLock<Announcer>>,
    commits: Arc<AtomicU64>,
    events: std::sync::Mutex<Vec<Event>>,
    notifications: std::sync::Mutex<Vec<inzage_entity::notification::ActiveModel>>,
}

impl WriteTransaction {
    /// Writes `rows` (notifications, ids still to be given) just before this transaction
    /// commits, all at once, and announces them when it has (see
    /// [`crate::events::ordering::write_ordered`]).
    pub fn notify_on_commit(&self, rows: impl IntoIterator<Item = inzage_entity::notification::ActiveModel>) {
        self.notifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend(rows);
    }

    /// Announces `event` to live subscribers once (and only if) this transaction commits: on
    /// this instance, and to the others after the commit (see [`crate::events::announcer`]).
    pub fn announce(&self, event: Event) {
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(event);
    }

    /// The row `query` finds, locked for the rest of the transaction on PostgreSQL (`FOR
    /// UPDATE`), so that two changes that must see each other serialise on it. SQLite already
    /// lets one writer in at a time.
    pub async fn find_locked<E: EntityTrait>(&self, query: Select<E>) -> Result<Option<E::Model>, DbErr> {
        let query = if self.txn.get_database_backend() == DbBackend::Postgres { query.lock_exclusive() } else { query };
        query.one(&self.txn).await
    }

    /// Commits, then hands the announced events to this instance's subscribers and to the
    /// announcer for the other instances.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.commit_notifying().await.map(drop)
    }

    /// [`commit`](Self::commit), returning the (recipient, id) of each notification written.
    pub async fn commit_notifying(self) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
        let notifications =
            std::mem::take(&mut *self.notifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut written = Vec::new();
        if !notifications.is_empty() {
            written = crate::events::ordering::write_ordered(&self.txn, notifications).await?;
            for &(recipient, id) in &written {
                self.announce(Event::Notification { recipient, id });
            }
        }
        self.txn.commit().await?;
        self.commits.fetch_add(1, Ordering::AcqRel);
        let events = std::mem::take(&mut *self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        self.hub.publish_all(events.iter().copied());
        if let Some(announcer) = self.announcer.get() {
            announcer.announce(events);
        }
        Ok(written)
    }
}

impl Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// What Inzage chooses for its PostgreSQL connections where the database URL leaves it open.
///
/// - **TLS.** An `sslmode` in the URL (or `PGSSLMODE`) is followed as given. Without one, a
///   server on this machine (a loopback address or a Unix socket) is spoken to without TLS: the
///   bytes never leave the machine, and encrypting every answer costs both sides CPU for
///   nothing. Any other server gets sqlx's default, `prefer` (TLS when the server offers it);
///   across a network, set `sslmode=verify-full` to also check the server's certificate.
/// - **Planner costs.** Each connection plans with `random_page_cost = 1.1` unless the URL's
///   `options` set it. PostgreSQL's default (4) prices a random read as a spinning disk's,
///   so for the tables of a small care provider it prefers reading a whole table to looking up
///   the 200 rows of a page in its index (5 ms instead of 0.5 ms a statement). The rows Inzage
///   reads are in memory or on SSD, where 1.1 is the usual setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresChoices {
    /// The URL says nothing of TLS and the server is local: speak without it.
    pub without_tls: bool,
    /// The session's `random_page_cost`, unless the URL's `options` set one.
    pub random_page_cost: Option<&'static str>,
}

/// The `random_page_cost` Inzage's connections plan with (see [`PostgresChoices`]).
pub const RANDOM_PAGE_COST: &str = "1.1";

impl PostgresChoices {
    /// The choices for `url`.
    pub fn of(url: &str) -> Self {
        let query = url.split_once('?').map(|(_, query)| query).unwrap_or_default();
        let parameter = |name: &str| {
            query.split('&').filter_map(|pair| pair.split_once('=')).find(|(key, _)| *key == name).map(|(_, v)| v)
        };
        let says_tls = parameter("sslmode").is_some() || std::env::var_os("PGSSLMODE").is_some();
        let local = PgConnectOptions::from_str(url).is_ok_and(|options| {
            options.get_socket().is_some()
                || options.get_host().starts_with('/')
                || matches!(options.get_host(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
        });
        let sets_cost = parameter("options").is_some_and(|options| options.contains("random_page_cost"));
        Self { without_tls: !says_tls && local, random_page_cost: (!sets_cost).then_some(RANDOM_PAGE_COST) }
    }

    /// `options` with these choices applied.
    pub fn apply(&self, mut options: PgConnectOptions) -> PgConnectOptions {
        if self.without_tls {
            options = options.ssl_mode(PgSslMode::Disable);
        }
        if let Some(cost) = self.random_page_cost {
            options = options.options([("random_page_cost", cost)]);
        }
        options
    }
}

/// A connection for `LISTEN`, made with the same [`PostgresChoices`] as the pool's.
pub async fn postgres_listener(url: &str) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let options = PostgresChoices::of(url).apply(PgConnectOptions::from_str(url)?);
    // A pool of one, only to reconnect; it never times out an idle listener.
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
    // The pool is this listener's own and is never closed.
    listener.ignore_pool_close_event(true);
    Ok(listener)
}

/// `column` is one of `ids`: bound as one array on PostgreSQL (`column = ANY($1)`), as a list on
/// SQLite (`column IN (?, ?, …)`).
///
/// On PostgreSQL, a list of 200 ids is 200 parameters to bind and plan around on every run, and
/// a statement whose text changes with the list's length; one array keeps one text per
/// statement, prepared once per connection. SQLite has no arrays, and runs in the process.
///
/// A single id is compared with `=` instead (PostgreSQL): a second text per statement, and the
/// one most writes run. PostgreSQL plans a prepared statement afresh on every run until a plan
/// made without the parameters' values (a generic plan) is estimated to cost no more than the
/// plans made with them. It estimates `= ANY($1)` at ten elements whatever the array holds, so
/// for a one-element array the generic plan always looks ten times dearer and the statement is
/// planned on every run; planning was a third of PostgreSQL's CPU in the write mix. With `=`
/// the generic plan is the same plan, and after five runs PostgreSQL keeps it.
pub trait AmongIds {
    fn among<C: ConnectionTrait + ?Sized>(self, db: &C, ids: impl IntoIterator<Item = Uuid>) -> SimpleExpr;
}

impl<Column: ColumnTrait> AmongIds for Column {
    fn among<C: ConnectionTrait + ?Sized>(self, db: &C, ids: impl IntoIterator<Item = Uuid>) -> SimpleExpr {
        among(db, (self.entity_name(), self), ids)
    }
}

/// [`AmongIds::among`] for any column: one named in a subquery's alias, say.
pub fn among<C: ConnectionTrait + ?Sized>(
    db: &C,
    column: impl IntoColumnRef,
    ids: impl IntoIterator<Item = Uuid>,
) -> SimpleExpr {
    among_on(db.get_database_backend(), column, ids)
}

/// A PostgreSQL `uuid[]` parameter of `ids`.
pub fn uuid_array(ids: impl IntoIterator<Item = Uuid>) -> Value {
    Value::Array(ArrayType::Uuid, Some(Box::new(ids.into_iter().map(Value::from).collect())))
}

/// [`among`] for a statement built for `backend`.
pub fn among_on(backend: DbBackend, column: impl IntoColumnRef, ids: impl IntoIterator<Item = Uuid>) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            let mut ids: Vec<Uuid> = ids.into_iter().collect();
            if ids.len() == 1
                && let Some(id) = ids.pop()
            {
                return Expr::col(column).eq(id);
            }
            Expr::col(column).eq(PgFunc::any(Expr::val(uuid_array(ids))))
        }
        _ => Expr::col(column).is_in(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_server_without_a_tls_setting_is_spoken_to_without_tls() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgres://postgres@[::1]:5432/test",
            "postgres:///test?host=/var/run/postgresql",
        ] {
            assert!(PostgresChoices::of(url).without_tls, "{url}");
        }
    }

    #[test]
    fn a_tls_setting_in_the_url_or_a_remote_server_keeps_the_default() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test?sslmode=require",
            "postgres://inzage@db.internal:5432/inzage",
            "postgres://inzage@10.0.0.7/inzage?sslmode=verify-full",
        ] {
            assert!(!PostgresChoices::of(url).without_tls, "{url}");
        }
    }

    #[test]
    fn one_id_is_compared_with_equals_and_more_as_one_array_on_postgres() {
        use sea_orm::sea_query::{Alias, PostgresQueryBuilder, Query};
        let sql = |ids: Vec<Uuid>| {
            Query::select()
                .column(Alias::new("id"))
                .from(Alias::new("t"))
                .and_where(among_on(DbBackend::Postgres, Alias::new("id"), ids))
                .build(PostgresQueryBuilder)
                .0
        };
        assert_eq!(sql(vec![Uuid::nil()]), r#"SELECT "id" FROM "t" WHERE "id" = $1"#);
        assert_eq!(sql(vec![Uuid::nil(), Uuid::max()]), r#"SELECT "id" FROM "t" WHERE "id" = ANY($1)"#);
        assert_eq!(sql(Vec::new()), r#"SELECT "id" FROM "t" WHERE "id" = ANY($1)"#);
    }

    #[test]
    fn planner_costs_in_the_url_win() {
        assert_eq!(PostgresChoices::of("postgres://h/db").random_page_cost, Some(RANDOM_PAGE_COST));
        for url in
            ["postgres://h/db?options=-c%20random_page_cost%3D4", "postgres://h/db?options=-c random_page_cost=4"]
        {
            assert_eq!(PostgresChoices::of(url).random_page_cost, None, "{url}");
        }
    }
}
