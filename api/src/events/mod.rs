//! Live events: after a transaction commits, what it announced reaches the subscribers on this
//! instance through the [`Hub`], and every other instance through the event transport (see
//! [`announcer`]): PostgreSQL `LISTEN/NOTIFY` by default (see [`postgres`]). Events carry ids
//! only; the rows are the truth, and a subscriber reads its notifications from the table in id
//! order after the last one it delivered, so an event is only ever a wake-up: one that arrives
//! twice, late or out of order changes nothing, and one that is lost is made up for by the
//! instance's periodic resynchronisation.

pub mod announcer;
pub mod nats;
pub mod ordering;
pub mod postgres;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// The PostgreSQL channel every instance announces on and listens to.
pub const CHANNEL: &str = "inzage_events";

/// Something committed that live connections must hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A notification row for `recipient` was committed.
    Notification { recipient: Uuid, id: Uuid },
    /// The account was deactivated: its live connections must close.
    AccountDeactivated { user: Uuid },
    /// The account's roles changed: its live connections close, so that clients reconnect and
    /// subscribe with what the new roles allow.
    RolesChanged { user: Uuid },
    /// A time-bound access was granted that ends at `ends_at`: a scheduler whose next wake-up
    /// is later than this grant's warning looks at its deadlines again; the others need not.
    DeadlineSet { ends_at: DateTime<Utc> },
    /// An e-mail was queued: mailers look at the outbox.
    EmailQueued,
}

/// Close code for a refused or ended authentication (token expired, account deactivated).
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code for a consumer that does not keep up with its events.
pub const CLOSE_TOO_SLOW: u16 = 4429;
/// Close code when the account's roles changed: reconnect (with `after`, nothing is missed).
pub const CLOSE_ROLES_CHANGED: u16 = 4410;

/// The reason given with [`CLOSE_ROLES_CHANGED`].
pub const ROLES_CHANGED: &str = "the account's roles changed; reconnect";

/// Tells one live connection to close, with a WebSocket close code and reason.
#[derive(Debug, Default)]
pub struct Kick {
    reason: Mutex<Option<(u16, String)>>,
    notify: Notify,
}

impl Kick {
    /// Asks the connection to close; the first reason given wins.
    pub fn kick(&self, code: u16, reason: impl Into<String>) {
        let mut slot = self.reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some((code, reason.into()));
        }
        self.notify.notify_one();
    }

    /// Waits until the connection is asked to close.
    pub async fn kicked(&self) -> (u16, String) {
        loop {
            if let Some(reason) = self.reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone() {
                return reason;
            }
            self.notify.notified().await;
        }
    }
}

struct Listener {
    id: u64,
    sender: mpsc::Sender<Uuid>,
    kick: Arc<Kick>,
}

#[derive(Default)]
struct Registry {
    /// Notification listeners by recipient.
    listeners: HashMap<Uuid, Vec<Listener>>,
    /// The newest notification id announced to each recipient's listeners here (while they
    /// listen), so that a resynchronisation announces only what is newer.
    newest: HashMap<Uuid, Uuid>,
    /// Live connections by user.
    connections: HashMap<Uuid, Vec<(u64, Arc<Kick>)>>,
}

/// Delivers events to this instance's live subscribers, keyed by the person they concern.
pub struct Hub {
    instance: Uuid,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
    notifications: AtomicU64,
    delivered: AtomicU64,
    heard: AtomicU64,
    deadlines: Notify,
    /// The earliest end announced since the scheduler last looked (see [`Hub::deadline_set`]).
    earliest_deadline: Mutex<Option<DateTime<Utc>>>,
    mail: Notify,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            instance: Uuid::new_v4(),
            next_id: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
            notifications: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            heard: AtomicU64::new(0),
            deadlines: Notify::new(),
            earliest_deadline: Mutex::new(None),
            mail: Notify::new(),
        }
    }
}

impl Hub {
    /// This instance's id, so that it can ignore its own announcements coming back.
    pub fn instance(&self) -> Uuid {
        self.instance
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Receives the ids of `recipient`'s new notifications, at most `capacity` waiting. When a
    /// listener falls that far behind, its connection is kicked (4429) rather than buffering more.
    pub fn listen(self: &Arc<Self>, recipient: Uuid, capacity: usize, kick: Arc<Kick>) -> Listening {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.registry().listeners.entry(recipient).or_default().push(Listener { id, sender, kick });
        Listening { receiver, hub: self.clone(), recipient, id }
    }

    /// Registers a live connection of `user`, so that deactivating the account closes it.
    pub fn connect(self: &Arc<Self>, user: Uuid, kick: Arc<Kick>) -> Connected {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.registry().connections.entry(user).or_default().push((id, kick));
        Connected { hub: self.clone(), user, id }
    }

    /// Delivers an event to this instance's subscribers.
    pub fn publish(&self, event: Event) {
        let mut registry = self.registry();
        match event {
            Event::Notification { recipient, id } => {
                self.notifications.fetch_add(1, Ordering::Relaxed);
                if registry.listeners.contains_key(&recipient) {
                    let newest = registry.newest.entry(recipient).or_insert(id);
                    *newest = (*newest).max(id);
                }
                for listener in registry.listeners.get(&recipient).into_iter().flatten() {
                    match listener.sender.try_send(id) {
                        Ok(()) => {
                            self.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            listener.kick.kick(CLOSE_TOO_SLOW, "too many undelivered events: read faster");
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
            Event::AccountDeactivated { user } => {
                for (_, kick) in registry.connections.get(&user).into_iter().flatten() {
                    kick.kick(CLOSE_FORBIDDEN, "the account was deactivated");
                }
            }
            Event::RolesChanged { user } => {
                for (_, kick) in registry.connections.get(&user).into_iter().flatten() {
                    kick.kick(CLOSE_ROLES_CHANGED, ROLES_CHANGED);
                }
            }
            Event::DeadlineSet { ends_at } => {
                drop(registry);
                let mut earliest = self.earliest_deadline.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                *earliest = Some(earliest.map_or(ends_at, |earliest| earliest.min(ends_at)));
                drop(earliest);
                self.deadlines.notify_waiters();
            }
            Event::EmailQueued => self.mail.notify_waiters(),
        }
    }

    /// Publishes what other instances announced, as the event transport hands it over (this
    /// instance's own announcements coming back are skipped: they were published when they
    /// committed), as [`publish_all`](Self::publish_all) does.
    pub fn hear(&self, announcements: impl IntoIterator<Item = Announcement>) {
        self.publish_all(
            announcements.into_iter().filter(|announcement| announcement.origin != self.instance).flat_map(
                |announcement| {
                    self.heard.fetch_add(announcement.events.len() as u64, Ordering::Relaxed);
                    announcement.events
                },
            ),
        );
    }

    /// Publishes events that came together (one commit, or a batch from the transport). The
    /// wake-ups of one recipient collapse into its newest notification, since a subscriber reads
    /// everything after its cursor anyway: a commit of many notifications for one person, or a
    /// transport catching up with a backlog, then wakes each subscriber once instead of filling
    /// its queue with a wake-up per notification and closing it as too slow.
    pub fn publish_all(&self, events: impl IntoIterator<Item = Event>) {
        let mut newest: HashMap<Uuid, Uuid> = HashMap::new();
        let mut others: Vec<Event> = Vec::new();
        for event in events {
            match event {
                Event::Notification { recipient, id } => {
                    let entry = newest.entry(recipient).or_insert(id);
                    *entry = (*entry).max(id);
                }
                other if !others.contains(&other) => others.push(other),
                _ => {}
            }
        }
        for (recipient, id) in newest {
            self.publish(Event::Notification { recipient, id });
        }
        for event in others {
            self.publish(event);
        }
    }

    /// Completes when an e-mail was queued.
    pub async fn mail_queued(&self) {
        self.mail.notified().await;
    }

    /// Forgets the deadlines announced so far: the scheduler calls it before it reads the
    /// next deadline from the database, which then includes them.
    pub fn take_announced_deadline(&self) -> Option<DateTime<Utc>> {
        self.earliest_deadline.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }

    /// Completes when a grant ending at a time for which `matters` holds was announced since
    /// [`take_announced_deadline`](Self::take_announced_deadline) (see [`Event::DeadlineSet`]).
    pub async fn deadline_set(&self, matters: impl Fn(DateTime<Utc>) -> bool) {
        loop {
            // Registered before looking, so that an announcement in between is not missed.
            let notified = self.deadlines.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let earliest = *self.earliest_deadline.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if earliest.is_some_and(&matters) {
                return;
            }
            notified.await;
        }
    }

    /// Users with a live notification listener here (what a resynchronisation must cover).
    pub fn listening_recipients(&self) -> Vec<Uuid> {
        self.registry().listeners.keys().copied().collect()
    }

    /// The newest notification id announced here to `recipient`'s listeners, if any.
    pub fn newest_announced(&self, recipient: Uuid) -> Option<Uuid> {
        self.registry().newest.get(&recipient).copied()
    }

    /// Users with a live connection here.
    pub fn connected_users(&self) -> Vec<Uuid> {
        self.registry().connections.keys().copied().collect()
    }

    /// Committed notifications announced to this hub since it started (here or by other
    /// instances).
    pub fn notifications_published(&self) -> u64 {
        self.notifications.load(Ordering::Relaxed)
    }

    /// Events heard from other instances through the event transport since the hub started.
    pub fn events_heard(&self) -> u64 {
        self.heard.load(Ordering::Relaxed)
    }

    /// Notification ids handed to a live listener's queue since the hub started.
    pub fn notifications_delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// How many notification subscriptions are open on this instance.
    pub fn open_subscriptions(&self) -> usize {
        self.registry().listeners.values().map(Vec::len).sum()
    }
}

/// A registered notification listener; unregisters when dropped.
pub struct Listening {
    pub receiver: mpsc::Receiver<Uuid>,
    hub: Arc<Hub>,
    recipient: Uuid,
    id: u64,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let mut registry = self.hub.registry();
        if let Some(listeners) = registry.listeners.get_mut(&self.recipient) {
            listeners.retain(|listener| listener.id != self.id);
            if listeners.is_empty() {
                registry.listeners.remove(&self.recipient);
                registry.newest.remove(&self.recipient);
            }
        }
    }
}

/// A registered live connection; unregisters when dropped.
pub struct Connected {
    hub: Arc<Hub>,
    user: Uuid,
    id: u64,
}

impl Drop for Connected {
    fn drop(&mut self) {
        let mut registry = self.hub.registry();
        if let Some(connections) = registry.connections.get_mut(&self.user) {
            connections.retain(|(id, _)| *id != self.id);
            if connections.is_empty() {
                registry.connections.remove(&self.user);
            }
        }
    }
}

/// What an instance tells the others: events its transactions committed, and who it is (so that
/// it can ignore its own announcements coming back).
#[derive(Debug, Serialize, Deserialize)]
pub struct Announcement {
    pub origin: Uuid,
    pub events: Vec<Event>,
}

/// The most announcements a transport reader hands to [`Hub::hear`] at once.
pub const HEARD_AT_ONCE: usize = 1024;

/// An announcement as it travels, or `None` (with a warning) when it is malformed.
pub fn parse_announcement(payload: &[u8]) -> Option<Announcement> {
    serde_json::from_slice(payload).inspect_err(|err| tracing::warn!(error = %err, "ignoring a malformed event")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_gets_only_its_recipients_events() {
        let hub = Arc::new(Hub::default());
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = hub.listen(me, 8, Arc::new(Kick::default()));
        let id = Uuid::now_v7();
        hub.publish(Event::Notification { recipient: other, id: Uuid::now_v7() });
        hub.publish(Event::Notification { recipient: me, id });
        assert_eq!(mine.receiver.recv().await, Some(id));
        assert!(mine.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_listener_is_kicked_not_grown() {
        let hub = Arc::new(Hub::default());
        let me = Uuid::now_v7();
        let kick = Arc::new(Kick::default());
        let _listening = hub.listen(me, 2, kick.clone());
        for _ in 0..3 {
            hub.publish(Event::Notification { recipient: me, id: Uuid::now_v7() });
        }
        assert_eq!(kick.kicked().await.0, CLOSE_TOO_SLOW);
    }

    #[tokio::test]
    async fn a_backlog_heard_at_once_wakes_each_listener_once_with_its_newest() {
        let hub = Arc::new(Hub::default());
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let kick = Arc::new(Kick::default());
        let mut mine = hub.listen(me, 2, kick.clone());
        let ids: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();
        let from_elsewhere = |events: Vec<Event>| Announcement { origin: Uuid::new_v4(), events };
        let own = Announcement {
            origin: hub.instance(),
            events: vec![Event::Notification { recipient: me, id: Uuid::now_v7() }],
        };
        hub.hear(
            ids.chunks(10)
                .map(|chunk| {
                    from_elsewhere(chunk.iter().map(|&id| Event::Notification { recipient: me, id }).collect())
                })
                .chain([own, from_elsewhere(vec![Event::Notification { recipient: other, id: Uuid::now_v7() }])]),
        );
        assert_eq!(mine.receiver.try_recv().ok(), ids.last().copied(), "one wake-up, the newest heard");
        assert!(mine.receiver.try_recv().is_err());
        assert!(kick.reason.lock().unwrap().is_none(), "not closed as too slow");
        assert_eq!(hub.events_heard(), 101, "what came from elsewhere, counted");
    }

    #[tokio::test]
    async fn deactivation_kicks_every_connection_of_the_user() {
        let hub = Arc::new(Hub::default());
        let me = Uuid::now_v7();
        let (first, second) = (Arc::new(Kick::default()), Arc::new(Kick::default()));
        let _a = hub.connect(me, first.clone());
        let _b = hub.connect(me, second.clone());
        hub.publish(Event::AccountDeactivated { user: me });
        assert_eq!(first.kicked().await.0, CLOSE_FORBIDDEN);
        assert_eq!(second.kicked().await.0, CLOSE_FORBIDDEN);
    }

    #[tokio::test]
    async fn dropping_a_listener_unregisters_it() {
        let hub = Arc::new(Hub::default());
        let me = Uuid::now_v7();
        let listening = hub.listen(me, 2, Arc::new(Kick::default()));
        assert_eq!(hub.open_subscriptions(), 1);
        drop(listening);
        assert_eq!(hub.open_subscriptions(), 0);
        assert!(hub.listening_recipients().is_empty());
    }
}
