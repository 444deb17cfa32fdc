//! Fan-out across instances through PostgreSQL `LISTEN/NOTIFY`.
//!
//! Each write transaction that announces an event also runs `pg_notify` inside itself, so the
//! announcement leaves exactly when (and only if) the transaction commits. Every instance
//! listens and hands other instances' events to its own [`Hub`]. A listener that loses its
//! connection re-reads what it may have missed from the tables after it has listened again,
//! so nothing committed in between is lost.

use crate::db::AmongIds;
use std::sync::Arc;
use std::time::Duration;

use inzage_entity::{notification, user};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Announcement, Event, Hub};

/// The channel every instance listens on.
pub const CHANNEL: &str = "inzage_events";

/// Listens for other instances' events until the process ends, reconnecting as needed.
pub fn spawn_listener(url: String, db: DatabaseConnection, hub: Arc<Hub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Notifications committed before this instance started have no live subscriber here.
        let mut last_seen = newest_notification(&db).await;
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
            last_seen = resynchronise(&db, &hub, last_seen).await;
            loop {
                match listener.try_recv().await {
                    Ok(Some(message)) => match serde_json::from_str::<Announcement>(message.payload()) {
                        Ok(announcement) => {
                            if let Event::Notification { id, .. } = announcement.event {
                                last_seen = last_seen.max(Some(id));
                            }
                            if announcement.origin != hub.instance() {
                                hub.publish(announcement.event);
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "ignoring a malformed event"),
                    },
                    Ok(None) | Err(_) => {
                        tracing::warn!("the event listener lost its connection; reconnecting");
                        break;
                    }
                }
            }
        }
    })
}

async fn newest_notification(db: &DatabaseConnection) -> Option<Uuid> {
    notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .order_by_desc(notification::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await
        .ok()
        .flatten()
}

/// Delivers notifications newer than `last_seen` to local listeners and closes connections of
/// accounts deactivated meanwhile. Subscribers drop what they already had.
async fn resynchronise(db: &DatabaseConnection, hub: &Hub, last_seen: Option<Uuid>) -> Option<Uuid> {
    let recipients = hub.listening_recipients();
    let mut newest = last_seen;
    if !recipients.is_empty() {
        let mut query = notification::Entity::find()
            .filter(notification::Column::RecipientId.among(db, recipients))
            .order_by_asc(notification::Column::Id);
        if let Some(after) = last_seen {
            query = query.filter(notification::Column::Id.gt(after));
        }
        match query.all(db).await {
            Ok(rows) => {
                for row in rows {
                    newest = newest.max(Some(row.id));
                    hub.publish(Event::Notification { recipient: row.recipient_id, id: row.id });
                }
            }
            Err(err) => tracing::warn!(error = %err, "re-reading missed notifications failed"),
        }
    }
    let connected = hub.connected_users();
    if !connected.is_empty() {
        let inactive = user::Entity::find()
            .filter(user::Column::Id.among(db, connected))
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
    newest
}
