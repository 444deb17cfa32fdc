//! Telling the other instances what this instance's transactions committed.
//!
//! Announcements leave after the commit, outside the transaction, through one task per
//! instance that sends whatever has piled up meanwhile as one message (or as few as the
//! transport's size limit allows). Nothing inside a write transaction waits for another
//! instance, and busy instances send fewer, larger messages.
//!
//! On PostgreSQL the message is a `NOTIFY`; on NATS a JetStream message. PostgreSQL serialises
//! every committing transaction that notified (on one lock for its notification queue); sending
//! from this task, in a transaction of its own, keeps that lock out of the writes themselves.
//!
//! On PostgreSQL a batch of notifications is announced only when another instance has a
//! subscriber for one of their recipients (see [`super::interest`]).
//!
//! An announcement lost on the way (the process ends between a commit and its announcement,
//! or the transport is down) delays live delivery on other instances until their next
//! resynchronisation; it loses nothing, as every subscriber reads from the tables.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::CHANNEL;
use super::Event;

/// Where announcements go.
#[derive(Clone)]
pub enum Transport {
    /// PostgreSQL `NOTIFY` on the database's own connections.
    Postgres(DatabaseConnection),
    /// NATS JetStream (see [`super::nats`]).
    Nats(async_nats::jetstream::Context),
}

/// The most events one batch takes before it is sent (more wait for the next).
const MOST_PER_BATCH: usize = 2_000;

/// The largest `NOTIFY` payload sent: PostgreSQL refuses 8,000 bytes and more.
const NOTIFY_PAYLOAD_BYTES: usize = 7_600;

/// The largest NATS message sent (a NATS server takes up to 1 MiB by default).
const NATS_PAYLOAD_BYTES: usize = 64 * 1024;

/// Hands committed events to this instance's sending task.
#[derive(Clone)]
pub struct Announcer {
    sender: mpsc::UnboundedSender<Vec<Event>>,
}

impl Announcer {
    /// Starts the task that sends what this instance (`origin`) commits through `transport`.
    pub fn spawn(transport: Transport, origin: Uuid) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Vec<Event>>();
        let task = tokio::spawn(async move {
            while let Some(mut batch) = receiver.recv().await {
                while batch.len() < MOST_PER_BATCH {
                    match receiver.try_recv() {
                        Ok(more) => batch.extend(more),
                        Err(_) => break,
                    }
                }
                send_with_retries(&transport, origin, &batch).await;
            }
        });
        (Self { sender }, task)
    }

    /// Queues `events`, committed just now, for the other instances.
    pub fn announce(&self, events: Vec<Event>) {
        if !events.is_empty() && self.sender.send(events).is_err() {
            tracing::warn!("the announcer has stopped; other instances learn of this commit when they resynchronise");
        }
    }
}

async fn send_with_retries(transport: &Transport, origin: Uuid, events: &[Event]) {
    // The batch's id, the same in every attempt: a transport that deduplicates (NATS) stores
    // a batch sent again after a lost acknowledgement once.
    let batch = Uuid::now_v7();
    let mut wait = Duration::from_millis(50);
    for attempt in 1..=4 {
        match send(transport, origin, batch, events).await {
            Ok(()) => return,
            Err(err) if attempt < 4 => {
                tracing::debug!(error = %err, attempt, "announcing to other instances failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(err) => tracing::warn!(
                error = %err,
                "announcing to other instances failed; they learn of these commits when they resynchronise"
            ),
        }
    }
}

async fn send(transport: &Transport, origin: Uuid, batch: Uuid, events: &[Event]) -> Result<(), String> {
    match transport {
        Transport::Postgres(db) => {
            let payloads = payloads(origin, events, NOTIFY_PAYLOAD_BYTES)?;
            // Notifications only when another instance listens for one of their recipients (see
            // `interest`). A closed account or changed roles always: any instance may hold its
            // sockets. A new deadline or a queued e-mail rides along with the others but is not
            // announced for its own sake: the committing instance's scheduler and mailer heard
            // it when it committed, and every instance's read the database at least every 30 s.
            let mut recipients = Vec::new();
            let mut always = false;
            for event in events {
                match event {
                    Event::Notification { recipient, .. } => recipients.push(*recipient),
                    Event::AccountDeactivated { .. } | Event::RolesChanged { .. } => always = true,
                    Event::DeadlineSet { .. } | Event::EmailQueued => {}
                }
            }
            // One statement, one transaction, one pass through PostgreSQL's notification lock,
            // however many messages the batch needs.
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload \
                 WHERE $3 OR EXISTS (SELECT 1 FROM live_listener WHERE recipient_id = ANY($4) AND instance_id <> $5)",
                [CHANNEL.into(), payloads.into(), always.into(), crate::db::uuid_array(recipients), origin.into()],
            );
            db.execute_raw(statement).await.map(|_| ()).map_err(|err| err.to_string())
        }
        Transport::Nats(context) => {
            super::nats::send(context, batch, payloads(origin, events, NATS_PAYLOAD_BYTES)?).await
        }
    }
}

/// `events` as announcements of at most `most_bytes` each (the same ones for the same events).
pub fn payloads(origin: Uuid, events: &[Event], most_bytes: usize) -> Result<Vec<String>, String> {
    // `{"origin":"<uuid>","events":[<event>,<event>,…]}`, each event encoded once.
    let head = format!("{{\"origin\":\"{origin}\",\"events\":[");
    let mut payloads = Vec::new();
    let mut current = head.clone();
    for event in events {
        let encoded = serde_json::to_string(event).map_err(|err| err.to_string())?;
        let empty = current.len() == head.len();
        if !empty && current.len() + 1 + encoded.len() + 2 > most_bytes {
            current.push_str("]}");
            payloads.push(std::mem::replace(&mut current, head.clone()));
        }
        if current.len() > head.len() {
            current.push(',');
        }
        current.push_str(&encoded);
    }
    if current.len() > head.len() {
        current.push_str("]}");
        payloads.push(current);
    }
    Ok(payloads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Announcement;

    #[test]
    fn a_large_batch_is_split_into_messages_that_fit_and_lose_nothing() {
        let origin = Uuid::now_v7();
        let events: Vec<Event> =
            (0..1_000).map(|_| Event::Notification { recipient: Uuid::now_v7(), id: Uuid::now_v7() }).collect();
        let payloads = payloads(origin, &events, NOTIFY_PAYLOAD_BYTES).expect("encodes");
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= NOTIFY_PAYLOAD_BYTES);
            let announcement: Announcement = serde_json::from_str(payload).expect("decodes");
            assert_eq!(announcement.origin, origin);
            back.extend(announcement.events);
        }
        assert_eq!(back, events);
    }
}
