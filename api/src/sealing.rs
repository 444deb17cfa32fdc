//! Sealing the access log, so that a change to it after the fact shows.
//!
//! At a fixed interval one instance (whichever claims the turn first) seals the rows written
//! since the last seal: it computes a SHA-256 Merkle root over them and stores it in
//! `audit_seal` with the previous seal's hash, so the seals form a chain. Writing a row costs
//! what it did before: sealing reads rows afterwards, each seal's in one streamed query.
//!
//! **Which rows a seal covers.** Rows must land in exactly one seal although transactions
//! commit in any order. Each row records where it was written: on PostgreSQL the id of its
//! transaction (`written_xid`, filled in by the database), on SQLite its `rowid` (SQLite lets
//! one writer in at a time, so rowids grow in commit order). A seal covers the positions from
//! the previous seal's horizon up to its own. On PostgreSQL the horizon is the oldest
//! transaction still running when the seal is made (`pg_snapshot_xmin`): every transaction
//! below it has ended, so no row can appear in a sealed range later, however long a transaction
//! took. On SQLite it is one past the highest rowid.
//!
//! **How much one seal covers.** At most about [`MOST_ROWS`] rows (24 MB of row index), so
//! that a backlog (a log written before sealing existed, a bulk import, an instance that was
//! down) is sealed in a run of seals one after the other rather than in one that holds it all in
//! memory. On SQLite that is a range of rowids; on PostgreSQL, when the rows waiting are more,
//! a range of transactions found by counting ranges growing fourfold from the previous seal.
//! The rows of one transaction are never split between seals.
//!
//! **What is stored.** Per seal: its sequence number, the range, the number of rows, the Merkle
//! root over the rows' leaf hashes (in id order), the previous seal's hash and its own hash
//! over all of these; and per row its id with the first 8 bytes of its leaf hash, so that a
//! verification can say which row was changed, removed or added, not only that the root differs.
//!
//! **What it protects against.** A row changed, removed or added in SQL, and a seal changed or
//! removed from the middle of the chain, are found by [`verify`]. Someone with write access to
//! the database can still rewrite the rows *and* every later seal consistently, or remove the
//! newest seals; exporting each seal as it is made (to a file or a webhook outside the
//! database's reach, see [`Export`]) takes that away: a verification against the exported hashes
//! shows the rewrite.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use inzage_entity::audit_event;
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement, StreamTrait, TransactionTrait};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::Database;

/// The advisory lock key of a sealing turn on PostgreSQL.
const SEAL_LOCK: i64 = 75_130_002;

/// About the most rows one seal covers (see the module's notes).
pub const MOST_ROWS: i64 = 1_000_000;

/// Bytes per row in a seal's row index: the id and the first 8 bytes of its leaf hash.
const INDEX_ENTRY: usize = 24;

/// Where each seal is also written as it is made: one JSON object per seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// Appended to this file, one line per seal.
    File(PathBuf),
    /// POSTed to this URL.
    Webhook(String),
}

impl std::str::FromStr for Export {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        if value.starts_with("https://") || value.starts_with("http://") {
            Ok(Self::Webhook(value.to_owned()))
        } else if let Some(path) = value.strip_prefix("file:") {
            Ok(Self::File(PathBuf::from(path)))
        } else if value.is_empty() {
            Err("give a file path (file:/var/lib/inzage/seals.jsonl) or an http(s) URL".into())
        } else {
            Ok(Self::File(PathBuf::from(value)))
        }
    }
}

/// One seal as stored (and exported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seal {
    pub sequence: i64,
    pub sealed_at: DateTime<Utc>,
    /// The first position covered (the previous seal's `until`).
    pub from: i64,
    /// One past the last position covered.
    pub until: i64,
    pub rows: i64,
    #[serde(with = "hex::serde")]
    pub root: Vec<u8>,
    #[serde(with = "hex::serde")]
    pub previous_hash: Vec<u8>,
    #[serde(with = "hex::serde")]
    pub hash: Vec<u8>,
}

impl Seal {
    /// The hash a seal with these fields must have.
    fn expected_hash(&self) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(b"inzage-audit-seal-v1");
        for number in [self.sequence, self.sealed_at.timestamp_micros(), self.from, self.until, self.rows] {
            hasher.update(number.to_be_bytes());
        }
        hasher.update(&self.root);
        hasher.update(&self.previous_hash);
        hasher.finalize().to_vec()
    }
}

/// The leaf hash of one access-log row: SHA-256 over every column, each length-prefixed.
pub fn leaf(row: &audit_event::Model) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"inzage-audit-row-v1");
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u32).to_be_bytes());
        hasher.update(bytes);
    };
    let uuid = |id: Option<Uuid>| id.map(|id| id.as_bytes().to_vec()).unwrap_or_default();
    field(row.id.as_bytes());
    field(&row.occurred_at.timestamp_micros().to_be_bytes());
    field(&uuid(row.actor_id));
    field(row.actor_role.map(|role| role.to_value()).unwrap_or_default().as_bytes());
    field(&uuid(row.client_id));
    field(row.action.to_value().as_bytes());
    field(row.object_type.as_bytes());
    field(&uuid(row.object_id));
    field(row.basis.as_deref().unwrap_or_default().as_bytes());
    field(&uuid(row.grant_id));
    field(row.outcome.to_value().as_bytes());
    field(row.request_id.as_deref().unwrap_or_default().as_bytes());
    field(&[u8::from(row.emergency)]);
    hasher.finalize().into()
}

/// The Merkle root of `leaves` (in order): pairs hashed level by level, an odd one out carried
/// up as it is; the root of no leaves is the hash of nothing.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut hasher = Sha256::new();
                    hasher.update([1u8]);
                    hasher.update(left);
                    hasher.update(right);
                    hasher.finalize().into()
                }
                [single] => *single,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level[0]
}

/// Where rows were written, as a number: see the module's notes.
fn position_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "written_xid",
        _ => "rowid",
    }
}

/// The rows with positions in `[from, until)`, in id order, read as they come from one query
/// (paging by id would read the range again for every page: quadratic in a large seal).
async fn rows_between<'a, C: ConnectionTrait + StreamTrait>(
    db: &'a C,
    from: i64,
    until: i64,
) -> Result<impl futures_util::Stream<Item = Result<audit_event::Model, DbErr>> + Send + 'a, DbErr> {
    let backend = ConnectionTrait::get_database_backend(db);
    let range = match backend {
        DbBackend::Postgres => "written_xid >= $1 AND written_xid < $2",
        _ => "rowid >= ?1 AND rowid < ?2",
    };
    let sql = format!("SELECT * FROM audit_event WHERE {range} ORDER BY id");
    let values: [sea_orm::Value; 2] = [from.into(), until.into()];
    audit_event::Entity::find().from_raw_sql(Statement::from_sql_and_values(backend, sql, values)).stream(db).await
}

/// How many rows have positions in `[from, until)`.
async fn count_between(db: &impl ConnectionTrait, from: i64, until: i64) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let position = position_sql(backend);
    let sql = match backend {
        DbBackend::Postgres => {
            format!("SELECT COUNT(*) AS n FROM audit_event WHERE {position} >= $1 AND {position} < $2")
        }
        _ => format!("SELECT COUNT(*) AS n FROM audit_event WHERE {position} >= ?1 AND {position} < ?2"),
    };
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [from.into(), until.into()])).await?;
    row.ok_or_else(|| DbErr::Custom("no count".into()))?.try_get("", "n")
}

/// Where a seal starting at `from` ends so that it covers at most about `most` rows, short of
/// `horizon` when more are waiting (see the module's notes).
async fn end_of_seal(db: &impl ConnectionTrait, from: i64, horizon: i64, most: i64) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        // The rowid of the row after the first `most`, if there is one.
        let sql = "SELECT rowid AS next FROM audit_event WHERE rowid >= ?1 ORDER BY rowid LIMIT 1 OFFSET ?2";
        let next =
            db.query_one_raw(Statement::from_sql_and_values(backend, sql, [from.into(), most.max(1).into()])).await?;
        return Ok(match next {
            Some(row) => horizon.min(row.try_get::<i64>("", "next")?),
            None => horizon,
        });
    }
    if count_between(db, from, horizon).await? <= most {
        return Ok(horizon);
    }
    // `[from, base)` holds no rows; `fitting` ends a range of some rows, at most `most`.
    let (mut base, mut span, mut fitting) = (from, 1i64, None);
    loop {
        let until = base.saturating_add(span).min(horizon);
        let rows = count_between(db, base, until).await?;
        if rows > most {
            match fitting {
                Some(fitting) => return Ok(fitting),
                // One transaction's rows stay together.
                None if span == 1 => return Ok(until),
                // No rows below the last range probed: grow again from its end.
                None => (base, span) = (base + span / 4, 1),
            }
            continue;
        }
        if until == horizon {
            return Ok(horizon);
        }
        if rows > 0 {
            fitting = Some(until);
        }
        span = span.saturating_mul(4);
    }
}

/// The horizon a seal made now would reach (see the module's notes).
async fn horizon(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS horizon",
        _ => "SELECT COALESCE(MAX(rowid), 0) + 1 AS horizon FROM audit_event",
    };
    let row = db.query_one_raw(Statement::from_string(backend, sql)).await?;
    row.ok_or_else(|| DbErr::Custom("no horizon".into()))?.try_get("", "horizon")
}

/// The leaves and row index of the rows in `[from, until)`.
async fn leaves_between(
    db: &(impl ConnectionTrait + StreamTrait),
    from: i64,
    until: i64,
) -> Result<(Vec<[u8; 32]>, Vec<u8>), DbErr> {
    let mut leaves = Vec::new();
    let mut index = Vec::new();
    let mut rows = std::pin::pin!(rows_between(db, from, until).await?);
    while let Some(row) = rows.try_next().await? {
        let hash = leaf(&row);
        index.extend_from_slice(row.id.as_bytes());
        index.extend_from_slice(&hash[..8]);
        leaves.push(hash);
    }
    Ok((leaves, index))
}

const SEAL_COLUMNS: &str = "seq, sealed_at, from_position, until_position, row_count, root, previous_hash, hash";

fn seal_of(row: &sea_orm::QueryResult) -> Result<Seal, DbErr> {
    Ok(Seal {
        sequence: row.try_get("", "seq")?,
        sealed_at: row.try_get("", "sealed_at")?,
        from: row.try_get("", "from_position")?,
        until: row.try_get("", "until_position")?,
        rows: row.try_get("", "row_count")?,
        root: row.try_get("", "root")?,
        previous_hash: row.try_get("", "previous_hash")?,
        hash: row.try_get("", "hash")?,
    })
}

/// The newest seal, if any.
async fn newest(db: &impl ConnectionTrait) -> Result<Option<Seal>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!("SELECT {SEAL_COLUMNS} FROM audit_seal ORDER BY seq DESC LIMIT 1");
    db.query_one_raw(Statement::from_string(backend, sql)).await?.as_ref().map(seal_of).transpose()
}

/// Seals what was written since the last seal, if this instance gets the turn and there is
/// anything; returns the new seal.
///
/// On PostgreSQL the turn is a transaction-scoped advisory lock, taken without waiting: an
/// instance that does not get it leaves the turn to the one that did. SQLite serves one
/// instance and lets one writer in at a time; there the seal is made outside a transaction
/// (rows below the horizon are all committed when it is read), so that it never has to turn a
/// read into a write while the access log is being written.
pub async fn seal_now(db: &Database, now: DateTime<Utc>) -> Result<Option<Seal>, DbErr> {
    Ok(seal_at_most(db, now, MOST_ROWS).await?.map(|sealed| sealed.seal))
}

/// A seal just made.
#[derive(Debug)]
pub struct Sealed {
    pub seal: Seal,
    /// Whether rows written before the seal's horizon are left for the next seal (it stopped at
    /// about `most` rows).
    pub more: bool,
}

/// [`seal_now`], covering about `most` rows at most (see the module's notes).
pub async fn seal_at_most(db: &Database, now: DateTime<Utc>, most: i64) -> Result<Option<Sealed>, DbErr> {
    if db.backend() != DbBackend::Postgres {
        return seal_on(db.conn(), now, most).await;
    }
    let txn = db.conn().begin().await?;
    let claimed = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS claimed",
            [SEAL_LOCK.into()],
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "claimed"))
        .transpose()?
        .unwrap_or(false);
    if !claimed {
        return Ok(None);
    }
    let seal = seal_on(&txn, now, most).await?;
    txn.commit().await?;
    Ok(seal)
}

/// Makes and stores the next seal through `db`, if there is anything to seal.
async fn seal_on(
    db: &(impl ConnectionTrait + StreamTrait),
    now: DateTime<Utc>,
    most: i64,
) -> Result<Option<Sealed>, DbErr> {
    let backend = ConnectionTrait::get_database_backend(db);
    let previous = newest(db).await?;
    let from = previous.as_ref().map_or(0, |seal| seal.until);
    let horizon = horizon(db).await?;
    if horizon <= from {
        return Ok(None);
    }
    let until = end_of_seal(db, from, horizon, most).await?;
    let (leaves, index) = leaves_between(db, from, until).await?;
    if leaves.is_empty() {
        return Ok(None);
    }
    let mut seal = Seal {
        sequence: previous.as_ref().map_or(1, |seal| seal.sequence + 1),
        sealed_at: now,
        from,
        until,
        rows: leaves.len() as i64,
        root: merkle_root(&leaves).to_vec(),
        previous_hash: previous.map_or_else(|| vec![0; 32], |seal| seal.hash),
        hash: Vec::new(),
    };
    seal.hash = seal.expected_hash();
    let placeholders = match backend {
        DbBackend::Postgres => "$1, $2, $3, $4, $5, $6, $7, $8, $9",
        _ => "?, ?, ?, ?, ?, ?, ?, ?, ?",
    };
    let insert = format!("INSERT INTO audit_seal ({SEAL_COLUMNS}, row_index) VALUES ({placeholders})");
    let values: [sea_orm::Value; 9] = [
        seal.sequence.into(),
        seal.sealed_at.into(),
        seal.from.into(),
        seal.until.into(),
        seal.rows.into(),
        seal.root.clone().into(),
        seal.previous_hash.clone().into(),
        seal.hash.clone().into(),
        index.into(),
    ];
    db.execute_raw(Statement::from_sql_and_values(backend, insert, values)).await?;
    Ok(Some(Sealed { seal, more: until < horizon }))
}

/// Seals at `interval` until the process ends, each seal of at most `most` rows (the server
/// uses [`MOST_ROWS`]), exporting each new seal. A backlog is sealed at once, in a run of seals.
pub fn spawn(
    db: Database,
    clock: SharedClock,
    interval: Duration,
    most: i64,
    export: Option<Export>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            // A backlog is sealed in a run of seals, one after the other.
            loop {
                match seal_at_most(&db, clock.now(), most).await {
                    Ok(Some(Sealed { seal, more })) => {
                        if let Some(export) = &export
                            && let Err(err) = write_export(&http, export, &seal).await
                        {
                            tracing::warn!(error = %err, sequence = seal.sequence, "exporting an access-log seal failed");
                        }
                        if !more {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "sealing the access log failed; retrying");
                        break;
                    }
                }
            }
        }
    })
}

/// Writes one seal to `export`.
pub async fn write_export(http: &reqwest::Client, export: &Export, seal: &Seal) -> Result<(), String> {
    let line = serde_json::to_string(seal).map_err(|e| e.to_string())?;
    match export {
        Export::File(path) => {
            use tokio::io::AsyncWriteExt;
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            file.write_all(format!("{line}\n").as_bytes()).await.map_err(|e| e.to_string())?;
            file.sync_data().await.map_err(|e| e.to_string())
        }
        Export::Webhook(url) => {
            let response = http
                .post(url)
                .header("content-type", "application/json")
                .body(line)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() { Ok(()) } else { Err(format!("{url} answered {}", response.status())) }
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The chain is whole and every sealed row read again (`rows_read` of the `rows` sealed) is
    /// as it was sealed.
    Intact { seals: i64, rows: i64, unsealed: i64, rows_read: i64 },
    /// A seal's own fields do not give its hash, or it does not follow the one before.
    SealAltered { sequence: i64, why: String },
    /// A sealed row differs from what was sealed.
    RowChanged { sequence: i64, id: Uuid },
    /// A sealed row is gone.
    RowRemoved { sequence: i64, id: Uuid },
    /// A row is in a sealed range that the seal did not cover.
    RowAdded { sequence: i64, id: Uuid },
    /// The rows differ from the seal's root although each row matched its index entry.
    RootMismatch { sequence: i64 },
    /// A seal's hash differs from the exported one.
    ExportMismatch { sequence: i64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact { seals, rows, unsealed, rows_read } => {
                write!(f, "intact: {seals} seals over {rows} rows ({unsealed} rows not sealed yet)")?;
                if rows_read < rows {
                    write!(f, "; the rows of older seals were not read again, {rows_read} rows were")?;
                }
                Ok(())
            }
            Self::SealAltered { sequence, why } => write!(f, "seal {sequence} was altered: {why}"),
            Self::RowChanged { sequence, id } => write!(f, "row {id} (seal {sequence}) was changed"),
            Self::RowRemoved { sequence, id } => write!(f, "row {id} (seal {sequence}) was removed"),
            Self::RowAdded { sequence, id } => write!(f, "row {id} was added inside seal {sequence}"),
            Self::RootMismatch { sequence } => write!(f, "the rows of seal {sequence} do not give its root"),
            Self::ExportMismatch { sequence } => write!(f, "seal {sequence} differs from its exported copy"),
        }
    }
}

/// Recomputes the chain and every sealed row; the first thing that does not match, in seal
/// order. With `exported` (seals read back from an export), each seal is also compared with its
/// exported copy, and seals missing from the database are reported. The rows of seals made
/// before `retained_since` may have been removed by the retention period (see `retention.rs`):
/// of those seals only their place in the chain is checked.
pub async fn verify(db: &Database, exported: &[Seal], retained_since: Option<DateTime<Utc>>) -> Result<Finding, DbErr> {
    verify_from(db, exported, retained_since, 1).await
}

/// [`verify`], reading again only the rows of the seals from sequence `rows_from` on: every seal
/// is still checked against the one before it, its export and its row index, so a chain that
/// was verified whole before is verified again for the cost of its newer rows. (Rows of older
/// seals changed since that verification are not found; verify whole now and then.)
pub async fn verify_from(
    db: &Database,
    exported: &[Seal],
    retained_since: Option<DateTime<Utc>>,
    rows_from: i64,
) -> Result<Finding, DbErr> {
    let backend = db.backend();
    let conn = db.conn();
    let sql = format!("SELECT {SEAL_COLUMNS}, row_index FROM audit_seal WHERE seq > $1 ORDER BY seq LIMIT 100");
    let sql = if backend == DbBackend::Postgres { sql } else { sql.replace("$1", "?") };
    let exported: std::collections::HashMap<i64, &Seal> = exported.iter().map(|seal| (seal.sequence, seal)).collect();
    let mut previous: Option<Seal> = None;
    let (mut seals, mut rows, mut rows_read) = (0i64, 0i64, 0i64);
    loop {
        let after = previous.as_ref().map_or(0, |seal| seal.sequence);
        let page = conn.query_all_raw(Statement::from_sql_and_values(backend, sql.clone(), [after.into()])).await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            let seal = seal_of(&row)?;
            let index: Vec<u8> = row.try_get("", "row_index")?;
            let rows_kept = retained_since.is_none_or(|since| seal.sealed_at >= since);
            let read_rows = rows_kept && seal.sequence >= rows_from;
            let check = check_seal(conn, previous.as_ref(), &seal, &index, exported.get(&seal.sequence), read_rows);
            if let Some(finding) = check.await? {
                return Ok(finding);
            }
            seals += 1;
            rows += seal.rows;
            if read_rows {
                rows_read += seal.rows;
            }
            previous = Some(seal);
        }
    }
    let newest_sequence = previous.as_ref().map_or(0, |seal| seal.sequence);
    if let Some(missing) = exported.keys().copied().filter(|sequence| *sequence > newest_sequence).min() {
        return Ok(Finding::SealAltered {
            sequence: missing,
            why: "it was exported but is not in the database".into(),
        });
    }
    let from = previous.as_ref().map_or(0, |seal| seal.until);
    let position = position_sql(backend);
    let unsealed_sql = format!("SELECT COUNT(*) AS n FROM audit_event WHERE {position} >= {from}");
    let unsealed = conn
        .query_one_raw(Statement::from_string(backend, unsealed_sql))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(Finding::Intact { seals, rows, unsealed, rows_read })
}

/// Checks one seal against the one before it, its export and its rows.
async fn check_seal(
    db: &(impl ConnectionTrait + StreamTrait),
    previous: Option<&Seal>,
    seal: &Seal,
    index: &[u8],
    exported: Option<&&Seal>,
    read_rows: bool,
) -> Result<Option<Finding>, DbErr> {
    let sequence = seal.sequence;
    let altered = |why: &str| Ok(Some(Finding::SealAltered { sequence, why: why.to_owned() }));
    let expected_sequence = previous.map_or(1, |seal| seal.sequence + 1);
    if sequence != expected_sequence {
        return Ok(Some(Finding::SealAltered {
            sequence: expected_sequence,
            why: format!("it is missing (the next seal is {sequence})"),
        }));
    }
    if seal.hash != seal.expected_hash() {
        return altered("its fields do not give its hash");
    }
    let previous_hash = previous.map_or_else(|| vec![0; 32], |seal| seal.hash.clone());
    if seal.previous_hash != previous_hash {
        return altered("it does not follow the seal before it");
    }
    if seal.from != previous.map_or(0, |seal| seal.until) {
        return altered("its range does not start where the seal before it ended");
    }
    if exported.is_some_and(|copy| copy.hash != seal.hash) {
        return Ok(Some(Finding::ExportMismatch { sequence }));
    }
    if index.len() != INDEX_ENTRY * seal.rows.max(0) as usize {
        return altered("its row index does not match its row count");
    }
    if !read_rows {
        return Ok(None);
    }
    let sealed: Vec<(Uuid, &[u8])> = index
        .chunks(INDEX_ENTRY)
        .map(|entry| (Uuid::from_slice(&entry[..16]).unwrap_or_default(), &entry[16..]))
        .collect();
    let mut leaves = Vec::with_capacity(sealed.len());
    let mut expected = sealed.iter().peekable();
    let mut rows = std::pin::pin!(rows_between(db, seal.from, seal.until).await?);
    while let Some(row) = rows.try_next().await? {
        // Both lists are in id order: walk them side by side.
        if let Some((id, _)) = expected.peek()
            && *id < row.id
        {
            return Ok(Some(Finding::RowRemoved { sequence, id: *id }));
        }
        let hash = leaf(&row);
        match expected.next() {
            Some((id, prefix)) if *id == row.id => {
                if *prefix != &hash[..8] {
                    return Ok(Some(Finding::RowChanged { sequence, id: row.id }));
                }
            }
            _ => return Ok(Some(Finding::RowAdded { sequence, id: row.id })),
        }
        leaves.push(hash);
    }
    if let Some((id, _)) = expected.next() {
        return Ok(Some(Finding::RowRemoved { sequence, id: *id }));
    }
    if merkle_root(&leaves).as_slice() != seal.root.as_slice() {
        return Ok(Some(Finding::RootMismatch { sequence }));
    }
    Ok(None)
}

/// The seal covering each of `ids` that is sealed (for `AuditEvent.seal`).
pub async fn covering(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, Seal>, DbErr> {
    let backend = db.get_database_backend();
    let mut found = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(found);
    }
    let (filter, values): (String, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => ("e.id = ANY($1)".into(), vec![ids.to_vec().into()]),
        _ => {
            let marks = vec!["?"; ids.len()].join(", ");
            (format!("e.id IN ({marks})"), ids.iter().map(|id| (*id).into()).collect())
        }
    };
    // Per row, the first seal ending after its position; it covers the row if it also starts
    // at or before it (an index lookup per row).
    let position = match backend {
        DbBackend::Postgres => "e.written_xid",
        _ => "e.rowid",
    };
    let sql = format!(
        "SELECT e.id AS event_id, s.seq, s.sealed_at, s.from_position, s.until_position, s.row_count, s.root, \
         s.previous_hash, s.hash FROM audit_event e JOIN audit_seal s ON s.seq = (SELECT s2.seq FROM audit_seal s2 \
         WHERE s2.until_position > {position} ORDER BY s2.until_position LIMIT 1) AND s.from_position <= {position} \
         WHERE {filter}"
    );
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let id: Uuid = row.try_get("", "event_id")?;
        found.insert(id, seal_of(&row)?);
    }
    Ok(found)
}

/// Reads seals back from an export file (one JSON object per line).
pub fn read_export(path: &std::path::Path) -> Result<Vec<Seal>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        sequence: i64,
        sealed_at: DateTime<Utc>,
        from: i64,
        until: i64,
        rows: i64,
        root: String,
        previous_hash: String,
        hash: String,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let hex = |value: &str| hex::decode(value).map_err(|e| e.to_string());
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let line: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
            Ok(Seal {
                sequence: line.sequence,
                sealed_at: line.sealed_at,
                from: line.from,
                until: line.until,
                rows: line.rows,
                root: hex(&line.root)?,
                previous_hash: hex(&line.previous_hash)?,
                hash: hex(&line.hash)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_depends_on_every_leaf_and_their_order() {
        let leaves: Vec<[u8; 32]> = (0u8..5).map(|n| Sha256::digest([n]).into()).collect();
        let root = merkle_root(&leaves);
        let mut changed = leaves.clone();
        changed[4][0] ^= 1;
        assert_ne!(merkle_root(&changed), root);
        let mut swapped = leaves.clone();
        swapped.swap(0, 1);
        assert_ne!(merkle_root(&swapped), root);
        assert_ne!(merkle_root(&leaves[..4]), root);
        assert_eq!(merkle_root(&leaves[..1]), leaves[0]);
    }

    #[test]
    fn an_export_names_a_file_or_a_webhook() {
        assert_eq!("https://audit.example/seals".parse(), Ok(Export::Webhook("https://audit.example/seals".into())));
        assert_eq!("file:/var/seals.jsonl".parse(), Ok(Export::File("/var/seals.jsonl".into())));
        assert_eq!("seals.jsonl".parse(), Ok(Export::File("seals.jsonl".into())));
        assert!("".parse::<Export>().is_err());
    }
}
