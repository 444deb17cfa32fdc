//! NATS JetStream as the event transport, for deployments with many instances
//! (`INZAGE_EVENT_TRANSPORT=nats://host:4222`; PostgreSQL `LISTEN/NOTIFY` is the default).
//!
//! After a commit the events go to the stream `INZAGE_EVENTS` in the announcer's batches (what
//! commits piled up while the previous batch was sent, in messages of up to 64 KiB); each
//! message's `Nats-Msg-Id` names its batch and place, so a batch sent again after a lost
//! acknowledgement is stored once. Every instance reads the stream from the moment it
//! connects, with an ordered consumer of its own, and publishes what other instances announced
//! to its subscribers. The database stays the truth: an instance that was cut off
//! from NATS, or started late, catches up by resynchronising from the tables, as with
//! PostgreSQL (see [`super::postgres::resynchronise`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use super::postgres::{RESYNC_EVERY, resynchronise};
use super::{HEARD_AT_ONCE, Hub, parse_announcement};

/// The JetStream stream events go through.
pub const STREAM: &str = "INZAGE_EVENTS";

/// The subject of every event.
pub const SUBJECT: &str = "inzage.events";

/// A JetStream context on `url`. The client connects (and reconnects) in the background, so
/// an instance starts while NATS is away; what it commits meanwhile reaches the others when they
/// resynchronise.
pub async fn context(url: &str) -> Result<jetstream::Context, String> {
    client(url, None).await.map(jetstream::new)
}

/// Connects to `url` and makes sure the stream exists; the JetStream context.
pub async fn connect(url: &str) -> Result<jetstream::Context, String> {
    connect_telling(url, None).await
}

/// [`connect`], telling `reconnected` each time the client is connected again after it lost
/// the server.
async fn connect_telling(url: &str, reconnected: Option<Arc<Notify>>) -> Result<jetstream::Context, String> {
    let context = jetstream::new(client(url, reconnected).await?);
    ensure_stream(&context).await?;
    Ok(context)
}

/// A client of `url` that reconnects in the background (every quarter second at first, at
/// most every two seconds); `reconnected` is told each time it is connected again after it
/// lost the server.
async fn client(url: &str, reconnected: Option<Arc<Notify>>) -> Result<async_nats::Client, String> {
    let lost = Arc::new(AtomicBool::new(false));
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(|attempts| Duration::from_millis((attempts as u64).saturating_mul(250).min(2_000)))
        .event_callback(move |event| {
            let (lost, reconnected) = (lost.clone(), reconnected.clone());
            async move {
                match event {
                    async_nats::Event::Disconnected => lost.store(true, Ordering::SeqCst),
                    async_nats::Event::Connected if lost.swap(false, Ordering::SeqCst) => {
                        if let Some(reconnected) = reconnected {
                            reconnected.notify_one();
                        }
                    }
                    _ => {}
                }
            }
        })
        .connect(url)
        .await
        .map_err(|err| err.to_string())
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

/// Sends one batch of announcements (see [`super::announcer`]) and waits until JetStream stored
/// them all. Each message's `Nats-Msg-Id` is the batch's id and its place in the batch, so a
/// batch sent again after a lost acknowledgement is stored once.
pub async fn send(context: &jetstream::Context, batch: Uuid, payloads: Vec<String>) -> Result<(), String> {
    let mut acknowledgements = Vec::with_capacity(payloads.len());
    for (place, payload) in payloads.into_iter().enumerate() {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{batch}.{place}").as_str());
        let ack = context.publish_with_headers(SUBJECT, headers, payload.into()).await.map_err(|e| e.to_string())?;
        acknowledgements.push(ack);
    }
    for ack in acknowledgements {
        if let Err(err) = ack.await {
            // Perhaps the stream is not there (a NATS server started afresh): make it, and let
            // the announcer's retry send the batch again (it is stored once).
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
            let (messages, reconnected) = match consume(&url).await {
                Ok(consuming) => consuming,
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
                    // A consumer outlives a NATS server that restarts only once it has missed
                    // two heartbeats (half a minute each): read afresh at once instead.
                    _ = reconnected.notified() => {
                        tracing::info!("connected to NATS again; reading the event stream afresh");
                        break;
                    }
                    _ = resync.tick() => resynchronise(&db, &hub).await,
                }
            }
        }
    })
}

/// An ordered consumer of its own on the stream, from now on, and what tells when its client
/// connected to NATS again after losing it.
async fn consume(url: &str) -> Result<(consumer::pull::Ordered, Arc<Notify>), String> {
    let reconnected = Arc::new(Notify::new());
    let context = connect_telling(url, Some(reconnected.clone())).await?;
    let stream = context.get_stream(STREAM).await.map_err(|err| err.to_string())?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|err| err.to_string())?;
    let messages = consumer.messages().await.map_err(|err| err.to_string())?;
    Ok((messages, reconnected))
}
