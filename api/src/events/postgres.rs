//! Fan-out across instances through PostgreSQL `LISTEN/NOTIFY`.
//!
//! Every instance listens and hands other instances' events to its own [`Hub`]. Events are
//! wake-ups (subscribers read their notifications from the table), so the listener's one duty
//! beyond passing them on is to make up for any it did not hear: after it (re)connects, and
//! every [`RESYNC_EVERY`] besides (an instance may end between a commit and its announcement),
//! it looks up the newest notification of everyone listening here and wakes those with one
//! newer than announced, and closes the connections of accounts deactivated meanwhile.

use std::sync::Arc;
use std::time::Duration;

use inzage_entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{Event, HEARD_AT_ONCE, Hub, parse_announcement};
use crate::db::AmongIds;

use super::CHANNEL;

/// How often an instance looks for notifications it was not told about.
pub const RESYNC_EVERY: Duration = Duration::from_secs(5);

/// Listens for other instances' events until the process ends, reconnecting as needed.
pub fn spawn_listener(url: String, db: DatabaseConnection, hub: Arc<Hub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let mut listener = match crate::db::postgres_listener(&url).await {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot connect the event listener; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(err) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %err, "LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Listening again: whatever was committed while we were away is in the tables.
            resynchronise(&db, &hub).await;
            let mut resync = tokio::time::interval(RESYNC_EVERY);
            resync.tick().await;
            loop {
                tokio::select! {
                    message = listener.try_recv() => match message {
                        Ok(Some(message)) => {
                            // With what has arrived meanwhile, so that a burst wakes each
                            // subscriber once.
                            let mut heard: Vec<_> = parse_announcement(message.payload().as_bytes()).into_iter().collect();
                            while heard.len() < HEARD_AT_ONCE {
                                let Some(message) = listener.next_buffered() else { break };
                                heard.extend(parse_announcement(message.payload().as_bytes()));
                            }
                            hub.hear(heard);
                        }
                        Ok(None) | Err(_) => {
                            tracing::warn!("the event listener lost its connection; reconnecting");
                            break;
                        }
                    },
                    _ = resync.tick() => resynchronise(&db, &hub).await,
                }
            }
        }
    })
}

/// Wakes the listeners here of every recipient whose newest notification is newer than what
/// was announced to them, and closes connections of accounts deactivated meanwhile.
/// Subscribers read from where they are, so waking one that is up to date costs a lookup.
pub async fn resynchronise(db: &DatabaseConnection, hub: &Hub) {
    let recipients = hub.listening_recipients();
    if !recipients.is_empty() {
        let newest = super::ordering::newest_of(db, &recipients).await;
        match newest {
            Ok(rows) => {
                for (recipient, id) in rows {
                    if hub.newest_announced(recipient).is_none_or(|announced| announced < id) {
                        hub.publish(Event::Notification { recipient, id });
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "looking for missed notifications failed"),
        }
    }
    let connected = hub.connected_users();
    if !connected.is_empty() {
        let inactive = user::Entity::find()
            .filter(user::Column::Id.among(db, connected.iter().copied()))
            .filter(user::Column::Active.eq(false))
            .select_only()
            .column(user::Column::Id)
            .into_tuple::<Uuid>()
            .all(db)
            .await;
        for user in inactive.unwrap_or_default() {
            hub.publish(Event::AccountDeactivated { user });
        }
    }
}
