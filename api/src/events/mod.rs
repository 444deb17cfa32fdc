//! Live events: after a transaction commits, what it announced reaches the subscribers on this
//! instance through the [`Hub`], and every other instance through the event transport (see
//! [`announcer`]): PostgreSQL `LISTEN/NOTIFY` by default (see [`postgres`]). Events carry ids
//! only; the rows are the truth, and a subscriber reads its notifications from the table in id
//! order after the last one it delivered, so an event is only ever a wake-up: one that arrives
//! twice, late or out of order changes nothing, and one that is lost is made up for by the
//! instance's periodic resynchronisation.

pub mod announcer;
pub mod interest;
pub mod nats;
pub mod ordering;
pub mod postgres;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
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
/// Close code for a client that does not read what is sent to it (see `http::ws`).
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

/// A recipient's notification listeners on this instance.
struct Listeners {
    /// The newest notification id announced to them (nil before the first): each listener
    /// holds a receiver and wakes when it grows. A wake-up is a flag, not a queue: however many
    /// announcements arrive before a listener looks, it sees one change, to the newest.
    newest: watch::Sender<Uuid>,
    count: usize,
    /// Whether the database knows that this instance listens for them (see [`interest`]);
    /// always true when interest is not tracked.
    registered: Arc<watch::Sender<bool>>,
}

#[derive(Default)]
struct Registry {
    /// Notification listeners by recipient.
    listeners: HashMap<Uuid, Listeners>,
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
    /// Where listening starts and stops are sent, when the instance tells the database whom it
    /// listens for (see [`interest`]).
    interest: OnceLock<mpsc::UnboundedSender<interest::Change>>,
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
            interest: OnceLock::new(),
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

    /// Wakes the listener when a notification of `recipient` newer than any it has seen is
    /// announced (see [`Listening`]). Nothing is queued per announcement, so no number of them
    /// can overflow a listener that is busy delivering.
    pub fn listen(self: &Arc<Self>, recipient: Uuid) -> Listening {
        let mut registry = self.registry();
        let listeners = registry.listeners.entry(recipient).or_insert_with(|| {
            // The first listener here for this recipient: the database is told (in order with
            // the stop when the last one goes, as both are sent under the registry's lock).
            let tracked = self.interest.get();
            let registered = Arc::new(watch::Sender::new(tracked.is_none()));
            if let Some(changes) = tracked {
                let _ = changes.send(interest::Change::Listen(recipient, registered.clone()));
            }
            Listeners { newest: watch::Sender::new(Uuid::nil()), count: 0, registered }
        });
        listeners.count += 1;
        let receiver = listeners.newest.subscribe();
        let registered = listeners.registered.subscribe();
        Listening { receiver, registered, hub: self.clone(), recipient }
    }

    /// Starts telling the database whom this instance listens for: the returned receiver gets
    /// every first listener for a recipient and every last one leaving, in order (see
    /// [`interest`]). Recipients listened for already are the receiver's to register at first.
    pub fn track_interest(&self) -> Option<mpsc::UnboundedReceiver<interest::Change>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.interest.set(sender).ok().map(|()| receiver)
    }

    /// Registers a live connection of `user`, so that deactivating the account closes it.
    pub fn connect(self: &Arc<Self>, user: Uuid, kick: Arc<Kick>) -> Connected {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.registry().connections.entry(user).or_default().push((id, kick));
        Connected { hub: self.clone(), user, id }
    }

    /// Delivers an event to this instance's subscribers.
    pub fn publish(&self, event: Event) {
        let registry = self.registry();
        match event {
            Event::Notification { recipient, id } => {
                self.notifications.fetch_add(1, Ordering::Relaxed);
                if let Some(listeners) = registry.listeners.get(&recipient) {
                    // An older id than the newest needs no wake-up: it committed before the
                    // newest (one recipient's ids follow commit order), so the read that the
                    // newest's wake-up causes finds it.
                    listeners.newest.send_if_modified(|newest| {
                        let newer = id > *newest;
                        if newer {
                            *newest = id;
                        }
                        newer
                    });
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
    /// transport catching up with a backlog, then takes the registry's lock once per recipient
    /// rather than once per notification.
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
        let registry = self.registry();
        let newest = *registry.listeners.get(&recipient)?.newest.borrow();
        (!newest.is_nil()).then_some(newest)
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

    /// Notifications handed to live subscribers on this instance since the hub started.
    pub fn notifications_delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// How many notification subscriptions are open on this instance.
    pub fn open_subscriptions(&self) -> usize {
        self.registry().listeners.values().map(|listeners| listeners.count).sum()
    }
}

/// A registered notification listener; unregisters when dropped.
///
/// A subscriber marks what has been announced as seen ([`mark_seen`](Self::mark_seen)) before
/// it reads the rows after its cursor, and waits ([`woken`](Self::woken)) when it has read them
/// all: an announcement after the mark wakes it again, so none is missed, and the ones it has
/// already read past cost nothing.
pub struct Listening {
    receiver: watch::Receiver<Uuid>,
    registered: watch::Receiver<bool>,
    hub: Arc<Hub>,
    recipient: Uuid,
}

impl Listening {
    /// Completes once the database knows that this instance listens for the recipient, so that
    /// every commit for them from now on is announced here: a subscription reads its first rows
    /// only after this (see [`interest`]).
    pub async fn registered(&mut self) {
        let _ = self.registered.wait_for(|registered| *registered).await;
    }

    /// Waits until a newer notification than the one last seen is announced, and returns it
    /// (marked seen); `None` when the hub is gone.
    pub async fn woken(&mut self) -> Option<Uuid> {
        self.receiver.changed().await.ok()?;
        Some(*self.receiver.borrow_and_update())
    }

    /// Marks what has been announced so far as seen: a read that starts after this finds it.
    pub fn mark_seen(&mut self) {
        self.receiver.mark_unchanged();
    }

    /// Counts notifications sent to the subscriber (`notifications_delivered`).
    pub fn delivered(&self, count: usize) {
        self.hub.delivered.fetch_add(count as u64, Ordering::Relaxed);
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let mut registry = self.hub.registry();
        if let Some(listeners) = registry.listeners.get_mut(&self.recipient) {
            listeners.count -= 1;
            if listeners.count == 0 {
                registry.listeners.remove(&self.recipient);
                if let Some(changes) = self.hub.interest.get() {
                    let _ = changes.send(interest::Change::Stop(self.recipient));
                }
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
    async fn a_listener_is_woken_only_by_its_recipients_events() {
        let hub = Arc::new(Hub::default());
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = hub.listen(me);
        let id = Uuid::now_v7();
        hub.publish(Event::Notification { recipient: other, id: Uuid::now_v7() });
        hub.publish(Event::Notification { recipient: me, id });
        assert_eq!(mine.woken().await, Some(id));
        assert!(!mine.receiver.has_changed().unwrap(), "woken once");
    }

    #[tokio::test]
    async fn announcements_while_a_listener_is_busy_wake_it_once_with_the_newest() {
        let hub = Arc::new(Hub::default());
        let me = Uuid::now_v7();
        let mut mine = hub.listen(me);
        let ids: Vec<Uuid> = (0..10_000).map(|_| Uuid::now_v7()).collect();
        for &id in &ids {
            hub.publish(Event::Notification { recipient: me, id });
        }
        // An older one announced late (it committed earlier) does not wake it again.
        hub.publish(Event::Notification { recipient: me, id: ids[0] });
        assert_eq!(mine.woken().await, ids.last().copied());
        assert!(!mine.receiver.has_changed().unwrap());
        assert_eq!(hub.newest_announced(me), ids.last().copied());
    }

    #[tokio::test]
    async fn what_is_marked_seen_does_not_wake_and_what_comes_after_does() {
        let hub = Arc::new(Hub::default());
        let me = Uuid::now_v7();
        let mut mine = hub.listen(me);
        hub.publish(Event::Notification { recipient: me, id: Uuid::now_v7() });
        mine.mark_seen();
        assert!(!mine.receiver.has_changed().unwrap(), "seen before the read");
        let later = Uuid::now_v7();
        hub.publish(Event::Notification { recipient: me, id: later });
        assert_eq!(mine.woken().await, Some(later));
    }

    #[tokio::test]
    async fn a_backlog_heard_at_once_wakes_each_listener_once_with_its_newest() {
        let hub = Arc::new(Hub::default());
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = hub.listen(me);
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
        assert_eq!(mine.woken().await, ids.last().copied(), "one wake-up, the newest heard");
        assert!(!mine.receiver.has_changed().unwrap());
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
        let first = hub.listen(me);
        let second = hub.listen(me);
        assert_eq!(hub.open_subscriptions(), 2);
        drop(first);
        assert_eq!(hub.listening_recipients(), vec![me], "one still listens");
        drop(second);
        assert_eq!(hub.open_subscriptions(), 0);
        assert!(hub.listening_recipients().is_empty());
        assert_eq!(hub.newest_announced(me), None);
    }
}
