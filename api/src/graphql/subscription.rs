//! Subscriptions: what portals keep a WebSocket open for.
//!
//! Guards on a subscription field run once, when it starts; every item is therefore filtered
//! again here (a subscriber only ever receives its own notifications).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use futures_util::Stream;
use inzage_entity::{ConsentStatus, DelegationStatus, NotificationKind, notification};
use uuid::Uuid;

use super::enums::DelegationEventKind;
use super::types::notifications::Notification;
use super::types::trajectories::{Delegation, DelegationEvent};
use super::types::workflows::ConsentRequest;
use super::{AppData, ContextExt, LiveLoaders, parse_id};
use crate::access;
use crate::domain::{delegations, notifications, workflows};
use crate::error::{ApiError, FieldResult};
use crate::events::{CLOSE_FORBIDDEN, CLOSE_ROLES_CHANGED, Kick, ROLES_CHANGED};

/// What a WebSocket connection puts in the context of its subscriptions.
#[derive(Clone)]
pub struct LiveConnection {
    /// Closes the connection (slow consumer, deactivated account).
    pub kick: Arc<Kick>,
    /// How many undelivered events one subscription may hold before the connection is closed.
    pub buffer: usize,
}

/// Rows replayed per query when a subscriber catches up.
const REPLAY_PAGE: u64 = 500;

/// The most notifications a subscriber loads in one batch.
const LIVE_BATCH: usize = 256;

/// The most recent ids a subscription remembers to drop duplicates (replay overlapping live
/// delivery, or a resynchronising listener).
const REMEMBERED: usize = 4096;

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The viewer's notifications: first every one after the given id (oldest first), then live
    /// ones; no gaps, no duplicates.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        after: Option<ID>,
    ) -> FieldResult<impl Stream<Item = Notification> + use<>> {
        let viewer = ctx.viewer()?.clone();
        let after = after.as_ref().map(|id| parse_id(id, "after")).transpose()?;
        let live = ctx
            .data_opt::<LiveConnection>()
            .ok_or_else(|| ApiError::bad_input("notifications", "subscribe over the WebSocket at /graphql/ws"))?
            .clone();
        let db = ctx.app().db.clone();
        let loaders = ctx.app().live.clone();
        let recipient = viewer.user_id;
        // Without `after`, start from the newest notification there is now: only newer ones
        // are delivered.
        let start = match after {
            Some(after) => Some(after),
            None => notifications::newest_for(db.conn(), Some(recipient)).await?,
        };
        // Listen before replaying: whatever commits from here on arrives live, whatever
        // committed before is in the replay, and what is in both is dropped once.
        let mut listening = db.hub().listen(recipient, live.buffer, live.kick.clone());
        // What is awaited inside the stream is boxed while it runs: the stream lives as long as
        // the subscription, and its size is that of its largest await, so loading rows inline
        // would make every idle subscription carry room for a database query.
        Ok(async_stream::stream! {
            let mut seen = Recent::default();
            // Ids grow in commit order (see `notifications::notify`): a live id at or below the
            // floor was committed before the subscription started and is either replayed or
            // deliberately skipped.
            let mut floor = start;
            // Replay from the start point; with none (the recipient had no notification yet),
            // from the beginning, which holds only what committed while the listener registered.
            let mut cursor = start;
            loop {
                let page = match Box::pin(notifications::page(db.conn(), recipient, false, cursor, REPLAY_PAGE)).await {
                    Ok(page) => page,
                    Err(err) => {
                        tracing::error!(error = %err, "replaying notifications failed");
                        live.kick.kick(1011, "replay failed; subscribe again");
                        return;
                    }
                };
                let complete = (page.len() as u64) <= REPLAY_PAGE;
                for row in page.into_iter().take(REPLAY_PAGE as usize) {
                    cursor = Some(row.id);
                    floor = Some(row.id);
                    seen.insert(row.id);
                    yield Notification(row);
                }
                if complete {
                    break;
                }
            }
            while let Some(first) = listening.receiver.recv().await {
                // Whatever else has arrived meanwhile is loaded with it, in one batch: a burst of
                // notifications to one subscriber costs one load, not one each.
                let mut ids = vec![first];
                while ids.len() < LIVE_BATCH {
                    match listening.receiver.try_recv() {
                        Ok(id) => ids.push(id),
                        Err(_) => break,
                    }
                }
                ids.retain(|id| !floor.is_some_and(|floor| *id <= floor) && seen.insert(*id));
                if ids.is_empty() {
                    continue;
                }
                // Loaded with every other subscriber's on this instance: one commit to many
                // recipients is a few statements, not one per subscriber. While the database is
                // away, wait for it: dropping the ids would lose the notifications.
                let rows = loop {
                    match Box::pin(loaders.notifications.load_many(ids.iter().copied())).await {
                        Ok(rows) => break rows,
                        Err(err) => {
                            tracing::warn!(error = %err, "loading live notifications failed; retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        }
                    }
                };
                let mine: Vec<notification::Model> =
                    ids.iter().filter_map(|id| rows.get(id)).filter(|row| row.recipient_id == recipient).cloned().collect();
                if mine.is_empty() {
                    continue;
                }
                if !Box::pin(still_as_subscribed(&loaders, &viewer, &live.kick)).await {
                    return;
                }
                for row in mine {
                    yield Notification(row);
                }
            }
        })
    }

    /// New PENDING consent requests addressed to the viewer, as they are created (client
    /// portals).
    async fn consent_requests(&self, ctx: &Context<'_>) -> FieldResult<impl Stream<Item = ConsentRequest> + use<>> {
        derived(ctx, "consentRequests", |app, viewer, id| async move { pending_request(&app, &viewer, id).await })
    }

    /// Events on delegations held by the viewer: granted, expiring, expired, revoked, ended.
    async fn delegation_events(&self, ctx: &Context<'_>) -> FieldResult<impl Stream<Item = DelegationEvent> + use<>> {
        derived(ctx, "delegationEvents", |app, viewer, id| async move { delegation_event(&app, &viewer, id).await })
    }
}

/// A live stream of what the viewer's new notifications announce: `derive` turns each one into
/// an item, or skips it.
fn derived<T, F, Fut>(ctx: &Context<'_>, field: &str, derive: F) -> FieldResult<impl Stream<Item = T> + use<T, F, Fut>>
where
    F: Fn(AppData, crate::auth::Viewer, Uuid) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Option<T>, sea_orm::DbErr>> + Send,
    T: Send + 'static,
{
    let viewer = ctx.viewer()?.clone();
    let live = ctx
        .data_opt::<LiveConnection>()
        .ok_or_else(|| ApiError::bad_input(field, "subscribe over the WebSocket at /graphql/ws"))?
        .clone();
    let app = ctx.app().clone();
    let mut listening = app.db.hub().listen(viewer.user_id, live.buffer, live.kick.clone());
    Ok(async_stream::stream! {
        let mut seen = Recent::default();
        while let Some(id) = listening.receiver.recv().await {
            if !seen.insert(id) {
                continue;
            }
            match Box::pin(derive(app.clone(), viewer.clone(), id)).await {
                Ok(Some(item)) => {
                    if !Box::pin(still_as_subscribed(&app.live, &viewer, &live.kick)).await {
                        return;
                    }
                    yield item
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "loading a live event failed"),
            }
        }
    })
}

/// The delegation event a DELEGATION_* notification of the viewer (its delegate) announces.
async fn delegation_event(
    app: &AppData,
    viewer: &crate::auth::Viewer,
    notification_id: Uuid,
) -> Result<Option<DelegationEvent>, sea_orm::DbErr> {
    let Some(row) = app.live.notifications.load_one(notification_id).await.map_err(|err| (*err).clone())? else {
        return Ok(None);
    };
    let Some(delegation_id) = row.delegation_id.filter(|_| row.recipient_id == viewer.user_id) else {
        return Ok(None);
    };
    let Some(model) = delegations::find_many(app.db.conn(), &[delegation_id]).await?.pop() else { return Ok(None) };
    if !delegations::is_held_by(viewer, &model) {
        return Ok(None);
    }
    let kind = match (row.kind, model.status) {
        (NotificationKind::DelegationGranted, _) => DelegationEventKind::Granted,
        (NotificationKind::DelegationExpiring, _) => DelegationEventKind::Expiring,
        (NotificationKind::DelegationEnded, DelegationStatus::Revoked) => DelegationEventKind::Revoked,
        (NotificationKind::DelegationEnded, DelegationStatus::Expired) => DelegationEventKind::Expired,
        (NotificationKind::DelegationEnded, _) => DelegationEventKind::Ended,
        _ => return Ok(None),
    };
    let now = app.clock.now();
    let Some(client) = access::load(app.db.conn(), viewer, now, &[model.client_id]).await?.remove(&model.client_id)
    else {
        return Ok(None);
    };
    Ok(Some(DelegationEvent { kind, delegation: Delegation { model, client }, at: row.created_at }))
}

/// The consent request a CONSENT_REQUESTED notification of the viewer announces, while it is
/// still PENDING.
async fn pending_request(
    app: &AppData,
    viewer: &crate::auth::Viewer,
    notification_id: Uuid,
) -> Result<Option<ConsentRequest>, sea_orm::DbErr> {
    let Some(row) = app.live.notifications.load_one(notification_id).await.map_err(|err| (*err).clone())? else {
        return Ok(None);
    };
    let (true, NotificationKind::ConsentRequested, Some(request_id)) =
        (row.recipient_id == viewer.user_id, row.kind, row.consent_request_id)
    else {
        return Ok(None);
    };
    let now = app.clock.now();
    let Some(model) = workflows::find_requests(app.db.conn(), &[request_id]).await?.pop() else { return Ok(None) };
    if model.client_id != viewer.user_id || workflows::effective_status(&model, now) != ConsentStatus::Pending {
        return Ok(None);
    }
    let Some(client) = access::load(app.db.conn(), viewer, now, &[model.client_id]).await?.remove(&model.client_id)
    else {
        return Ok(None);
    };
    Ok(Some(ConsentRequest { model, client, related: None }))
}

/// Whether the subscriber is still the account, with the roles, that subscribed: an item is
/// resolved with the roles read at subscription time, so a change of roles (or a deactivation)
/// closes the connection instead, and the client subscribes again with what it may see now.
async fn still_as_subscribed(loaders: &LiveLoaders, viewer: &crate::auth::Viewer, kick: &Kick) -> bool {
    loop {
        match loaders.subscribers.load_one(viewer.user_id).await {
            Ok(Some(now)) if now.roles == viewer.roles => return true,
            Ok(Some(_)) => {
                kick.kick(CLOSE_ROLES_CHANGED, ROLES_CHANGED);
                return false;
            }
            Ok(None) => {
                kick.kick(CLOSE_FORBIDDEN, "the account was deactivated");
                return false;
            }
            Err(err) => {
                tracing::warn!(error = %err, "checking the subscriber's account failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// A bounded set of recently delivered ids.
#[derive(Default)]
struct Recent {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
}

impl Recent {
    /// Remembers `id`; false when it was already delivered.
    fn insert(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}
