//! NATS JetStream as the event transport, for deployments with many instances
//! (`INZAGE_EVENT_TRANSPORT=nats://host:4222`; PostgreSQL `LISTEN/NOTIFY` is the default).
//!
//! After a commit each event goes to the stream `INZAGE_EVENTS` as a message of its own; a
//! notification's message carries its id as `Nats-Msg-Id`, so a message sent twice (a retry
//! after a lost acknowledgement) is stored once. Every instance reads the stream from the
//! moment it connects, with an ordered consumer of its own, and publishes what other instances
//! announced to its subscribers. The database stays the truth: an instance that was cut off
//! from NATS, or started late, catches up by resynchronising from the tables, as with
//! PostgreSQL (see [`super::postgres::resynchronise`]).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::postgres::{RESYNC_EVERY, resynchronise};
use super::{Announcement, Event, HEARD_AT_ONCE, Hub, parse_announcement};

/// The JetStream stream events go through.
pub const STREAM: &str = "INZAGE_EVENTS";

/// The subject of every event.
pub const SUBJECT: &str = "inzage.events";

/// A JetStream context on `url`. The client connects (and reconnects) in the background, so
/// an instance starts while NATS is away; what it commits meanwhile reaches the others when they
/// resynchronise.
pub async fn context(url: &str) -> Result<jetstream::Context, String> {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|err| err.to_string())?;
    Ok(jetstream::new(client))
}

/// Connects to `url` and makes sure the stream exists; the JetStream context.
pub async fn connect(url: &str) -> Result<jetstream::Context, String> {
    let context = context(url).await?;
    ensure_stream(&context).await?;
    Ok(context)
}

/// Makes the stream unless it exists.
async fn ensure_stream(context: &jetstream::Context) -> Result<(), String> {
    context
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![SUBJECT.to_owned()],
            // Events are wake-ups: kept only long enough to reach instances that are running.
            max_age: Duration::from_secs(600),
            duplicate_window: Duration::from_secs(120),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}

/// Sends `events` committed by `origin`, one message each, and waits until JetStream stored
/// them all.
pub async fn send(context: &jetstream::Context, origin: Uuid, events: &[Event]) -> Result<(), String> {
    let mut acknowledgements = Vec::with_capacity(events.len());
    for event in events {
        let id = match event {
            Event::Notification { id, .. } => id.to_string(),
            _ => Uuid::now_v7().to_string(),
        };
        let payload = serde_json::to_vec(&Announcement { origin, events: vec![*event] }).map_err(|e| e.to_string())?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        let ack = context.publish_with_headers(SUBJECT, headers, payload.into()).await.map_err(|e| e.to_string())?;
        acknowledgements.push(ack);
    }
    for ack in acknowledgements {
        if let Err(err) = ack.await {
            // Perhaps the stream is not there (a NATS server started afresh): make it, and let
            // the announcer's retry send the batch again (duplicates are dropped by id).
            let _ = ensure_stream(context).await;
            return Err(err.to_string());
        }
    }
    Ok(())
}

/// Reads other instances' events from `url` until the process ends, reconnecting as needed.
pub fn spawn_listener(url: String, db: DatabaseConnection, hub: Arc<Hub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let messages = match consume(&url).await {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read the event stream; retrying");
                    resynchronise(&db, &hub).await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            tokio::pin!(messages);
            // Reading again: whatever was committed while we were away is in the tables.
            resynchronise(&db, &hub).await;
            let mut resync = tokio::time::interval(RESYNC_EVERY);
            resync.tick().await;
            loop {
                tokio::select! {
                    message = messages.next() => match message {
                        Some(Ok(message)) => {
                            // With what has arrived meanwhile: an instance catching up with a
                            // backlog wakes each subscriber once per batch.
                            let mut heard: Vec<_> = parse_announcement(&message.payload).into_iter().collect();
                            let mut failed = None;
                            while heard.len() < HEARD_AT_ONCE {
                                match messages.next().now_or_never() {
                                    Some(Some(Ok(message))) => heard.extend(parse_announcement(&message.payload)),
                                    Some(Some(Err(err))) => {
                                        failed = Some(err.to_string());
                                        break;
                                    }
                                    Some(None) => {
                                        failed = Some("the event stream ended".to_owned());
                                        break;
                                    }
                                    None => break,
                                }
                            }
                            hub.hear(heard);
                            if let Some(err) = failed {
                                tracing::warn!(error = %err, "the event stream failed; reconnecting");
                                break;
                            }
                        }
                        Some(Err(err)) => {
                            tracing::warn!(error = %err, "the event stream failed; reconnecting");
                            break;
                        }
                        None => {
                            tracing::warn!("the event stream ended; reconnecting");
                            break;
                        }
                    },
                    _ = resync.tick() => resynchronise(&db, &hub).await,
                }
            }
        }
    })
}

/// An ordered consumer of its own on the stream, from now on.
async fn consume(url: &str) -> Result<consumer::pull::Ordered, String> {
    let context = connect(url).await?;
    let stream = context.get_stream(STREAM).await.map_err(|err| err.to_string())?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|err| err.to_string())?;
    consumer.messages().await.map_err(|err| err.to_string())
}
