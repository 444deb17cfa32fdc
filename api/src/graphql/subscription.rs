//! Subscriptions: what portals keep a WebSocket open for.
//!
//! Guards on a subscription field run once, when it starts; every item is therefore filtered
//! again here (a subscriber only ever receives its own notifications).

use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt};
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
    /// Closes the connection (roles changed, deactivated account).
    pub kick: Arc<Kick>,
}

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
        let after = after.as_ref().map(|id| parse_id(id, "after")).transpose()?;
        let rows = committed(ctx, "notifications", after).await?;
        Ok(rows.map(Notification))
    }

    /// New PENDING consent requests addressed to the viewer, as they are created (client
    /// portals).
    async fn consent_requests(&self, ctx: &Context<'_>) -> FieldResult<impl Stream<Item = ConsentRequest> + use<>> {
        derived(ctx, "consentRequests", |app, viewer, row| async move { pending_request(&app, &viewer, row).await })
            .await
    }

    /// Events on delegations held by the viewer: granted, expiring, expired, revoked, ended.
    async fn delegation_events(&self, ctx: &Context<'_>) -> FieldResult<impl Stream<Item = DelegationEvent> + use<>> {
        derived(ctx, "delegationEvents", |app, viewer, row| async move { delegation_event(&app, &viewer, row).await })
            .await
    }
}

/// The viewer's notifications committed after `after` (without it: after the newest there is
/// now), in the order they committed, each once: replayed, then as they commit.
///
/// Announcements only wake the stream: it then reads the viewer's notifications after the last
/// one it delivered, from the table, with every other subscriber's on this instance (see
/// `LiveLoaders`). For one recipient, id order is commit order (`notifications::notify`), so
/// what it reads has no gap, whatever order announcements arrive in, twice or not at all (an
/// instance's resynchronisation wakes it then).
async fn committed(
    ctx: &Context<'_>,
    field: &str,
    after: Option<Uuid>,
) -> FieldResult<impl Stream<Item = notification::Model> + use<>> {
    let viewer = ctx.viewer()?.clone();
    let live = ctx
        .data_opt::<LiveConnection>()
        .ok_or_else(|| ApiError::bad_input(field, "subscribe over the WebSocket at /graphql/ws"))?
        .clone();
    let db = ctx.app().db.clone();
    let loaders = ctx.app().live.clone();
    let recipient = viewer.user_id;
    // Where to start first, then listen, then (in the stream) read what is after the start: a
    // row committed before listening began is above the start and found by that first read; one
    // committed after wakes the stream. (Listening first would let a row committed between the
    // two become the start itself, and never be delivered.)
    let start = match after {
        Some(after) => after,
        None => notifications::newest_for(db.conn(), Some(recipient)).await?.unwrap_or(Uuid::nil()),
    };
    let mut listening = db.hub().listen(recipient);
    // What is awaited inside the stream is boxed while it runs: the stream lives as long as the
    // subscription, and its size is that of its largest await, so loading rows inline would make
    // every idle subscription carry room for a database query.
    Ok(async_stream::stream! {
        // Other instances announce this recipient's commits here only once the database knows
        // that this instance listens: before that, the first read could miss one.
        Box::pin(listening.registered()).await;
        let mut cursor = start;
        // The first read replays what came after the start; later ones follow wake-ups.
        let mut replaying = true;
        loop {
            if !replaying {
                let Some(newest) = listening.woken().await else { return };
                if newest <= cursor {
                    continue;
                }
            }
            replaying = false;
            loop {
                // What was announced so far committed before this read and is found by it; what
                // is announced from now on wakes the stream again once it has delivered this.
                listening.mark_seen();
                // While the database is away, wait for it: the rows are the truth.
                let rows = loop {
                    match Box::pin(loaders.notifications_after.load_one((recipient, cursor))).await {
                        Ok(rows) => break rows.unwrap_or_default(),
                        Err(err) => {
                            tracing::warn!(error = %err, "reading live notifications failed; retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        }
                    }
                };
                if rows.is_empty() {
                    break;
                }
                if !Box::pin(still_as_subscribed(&loaders, &viewer, &live.kick)).await {
                    return;
                }
                let caught_up = rows.len() < crate::graphql::loaders::LIVE_PAGE;
                listening.delivered(rows.len());
                for row in rows {
                    cursor = row.id;
                    yield row;
                }
                if caught_up {
                    break;
                }
            }
        }
    })
}

/// A live stream of what the viewer's new notifications announce: `derive` turns each one into
/// an item, or skips it.
async fn derived<T, F, Fut>(
    ctx: &Context<'_>,
    field: &str,
    derive: F,
) -> FieldResult<impl Stream<Item = T> + use<T, F, Fut>>
where
    F: Fn(AppData, crate::auth::Viewer, notification::Model) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Option<T>, sea_orm::DbErr>> + Send,
    T: Send + 'static,
{
    let viewer = ctx.viewer()?.clone();
    let app = ctx.app().clone();
    let rows = committed(ctx, field, None).await?;
    Ok(async_stream::stream! {
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.next().await {
            match Box::pin(derive(app.clone(), viewer.clone(), row)).await {
                Ok(Some(item)) => yield item,
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
    row: notification::Model,
) -> Result<Option<DelegationEvent>, sea_orm::DbErr> {
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
    row: notification::Model,
) -> Result<Option<ConsentRequest>, sea_orm::DbErr> {
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
