//! Whom each instance listens for, kept in the database, so that a commit is announced
//! (`pg_notify`) only when another instance has a subscriber for one of its recipients.
//! `LISTEN/NOTIFY` wakes every listening connection whatever the channel, so an announcement
//! nobody elsewhere waits for costs every instance; with many instances that was most of what
//! an instance added to each write.
//!
//! The table `live_listener` holds a row per recipient and instance with a subscriber for them;
//! `live_instance` holds each instance's heartbeat. A subscription reads its first rows only
//! after its recipient's row has committed ([`Listening::registered`]), and the announcer's
//! statement, which looks for such rows, runs after the write it announces has committed. So
//! either the statement sees the row and announces, or the row committed after the statement
//! began, and the subscription's first read, later still, finds the write: nothing falls
//! between the two. Rows of an instance whose heartbeat stopped for [`STALE_AFTER`] are swept by
//! whichever instance gets there; an instance that finds itself swept (it was cut off) registers
//! its recipients again, and meanwhile its subscribers are served by the resynchronisation.
//!
//! [`Listening::registered`]: super::Listening::registered

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::Hub;
use super::postgres::RESYNC_EVERY;
use crate::db::uuid_array;

/// A heartbeat older than this marks an instance as gone.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// A change in whom this instance listens for.
#[derive(Debug)]
pub enum Change {
    /// The first listener here for the recipient; `registered` is set once the row committed.
    Listen(Uuid, Arc<watch::Sender<bool>>),
    /// The last listener here for the recipient left.
    Stop(Uuid),
}

/// Keeps the instance's heartbeat and its `live_listener` rows until the process ends.
pub fn spawn(
    db: DatabaseConnection,
    hub: Arc<Hub>,
    mut changes: mpsc::UnboundedReceiver<Change>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let instance = hub.instance();
        let mut heartbeat = tokio::time::interval(RESYNC_EVERY);
        // After a long outage, one beat rather than the missed ones in a burst.
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Changes not yet written: the last one per recipient, and whom to tell when written.
        let mut pending: HashMap<Uuid, bool> = HashMap::new();
        let mut waiting: Vec<Arc<watch::Sender<bool>>> = Vec::new();
        let mut alive = false;
        // After a failed write, when to try again (sooner than the next heartbeat).
        let mut retry: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                () = async { tokio::time::sleep_until(retry.unwrap_or_else(tokio::time::Instant::now)).await }, if retry.is_some() => {
                    retry = None;
                }
                _ = heartbeat.tick() => {
                    match beat(&db, instance).await {
                        // New, or swept while cut off: every recipient listened for here now.
                        Ok(true) => {
                            for recipient in hub.listening_recipients() {
                                pending.entry(recipient).or_insert(true);
                            }
                            alive = true;
                        }
                        Ok(false) => alive = true,
                        Err(err) => tracing::warn!(error = %err, "the instance's heartbeat failed; retrying"),
                    }
                    if let Err(err) = sweep(&db).await {
                        tracing::warn!(error = %err, "sweeping the listeners of gone instances failed");
                    }
                }
                change = changes.recv() => {
                    let Some(change) = change else { return };
                    take(change, &mut pending, &mut waiting);
                    while let Ok(change) = changes.try_recv() {
                        take(change, &mut pending, &mut waiting);
                    }
                }
            }
            if !alive || pending.is_empty() {
                continue;
            }
            match write(&db, instance, &pending).await {
                Ok(()) => {
                    pending.clear();
                    for registered in waiting.drain(..) {
                        registered.send_replace(true);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "recording whom this instance listens for failed; retrying");
                    retry = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
            }
        }
    })
}

fn take(change: Change, pending: &mut HashMap<Uuid, bool>, waiting: &mut Vec<Arc<watch::Sender<bool>>>) {
    match change {
        Change::Listen(recipient, registered) => {
            pending.insert(recipient, true);
            waiting.push(registered);
        }
        Change::Stop(recipient) => {
            pending.insert(recipient, false);
        }
    }
}

/// Writes the instance's heartbeat; whether its row was new (first beat, or swept).
pub async fn beat(db: &DatabaseConnection, instance: Uuid) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO live_instance (id, seen_at) VALUES ($1, now()) \
             ON CONFLICT (id) DO UPDATE SET seen_at = now() RETURNING (xmax = 0) AS inserted",
            [instance.into()],
        ))
        .await?;
    Ok(row.map(|row| row.try_get::<bool>("", "inserted")).transpose()?.unwrap_or(false))
}

/// Deletes the heartbeats older than [`STALE_AFTER`] and the listener rows of those instances.
pub async fn sweep(db: &DatabaseConnection) -> Result<(), DbErr> {
    let stale = format!("{} seconds", STALE_AFTER.as_secs());
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH gone AS (DELETE FROM live_instance WHERE seen_at < now() - $1::interval RETURNING id) \
         DELETE FROM live_listener WHERE instance_id IN (SELECT id FROM gone)",
        [stale.into()],
    ))
    .await
    .map(|_| ())
}

/// Brings the instance's rows in line with `pending` (recipient → listened for), in one
/// statement.
async fn write(db: &DatabaseConnection, instance: Uuid, pending: &HashMap<Uuid, bool>) -> Result<(), DbErr> {
    let listen = pending.iter().filter(|(_, listen)| **listen).map(|(recipient, _)| *recipient);
    let stop = pending.iter().filter(|(_, listen)| !**listen).map(|(recipient, _)| *recipient);
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH stopped AS (DELETE FROM live_listener WHERE instance_id = $1 AND recipient_id = ANY($3)) \
         INSERT INTO live_listener (recipient_id, instance_id) SELECT recipient, $1 FROM unnest($2::uuid[]) AS recipient \
         ON CONFLICT DO NOTHING",
        [instance.into(), uuid_array(listen), uuid_array(stop)],
    ))
    .await
    .map(|_| ())
}
