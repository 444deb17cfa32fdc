//! The promise of the `notifications` subscription under concurrent writes: every subscriber
//! receives each notification committed for them once, in id order, with no gap between what
//! it replays (`after`) and what arrives live, while many writers on several instances notify
//! overlapping sets of people at once. On PostgreSQL the writers and subscribers are spread
//! over three instances of one database; an SQLite file serves one instance.

use std::time::Duration;

use futures_util::StreamExt;
use inzage_api::domain::notifications::{self, Links};
use inzage_entity::{NotificationKind, Role, notification};
use inzage_testkit::live::{Socket, connect, subscribe_notifications};
use inzage_testkit::{Backend, TestApp, on_every_database};
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const RECIPIENTS: usize = 12;
const WRITERS: usize = 16;
const TRANSACTIONS_PER_WRITER: usize = 20;

/// Every committed id of `recipient`, in id order.
async fn committed_for(app: &TestApp, recipient: Uuid) -> Vec<Uuid> {
    notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .filter(notification::Column::RecipientId.eq(recipient))
        .order_by_asc(notification::Column::Id)
        .into_tuple()
        .all(app.app.db.conn())
        .await
        .expect("committed ids")
}

/// Reads notifications from `socket` until it has as many as `expected` says (once the writers
/// are done) or nothing comes for ten seconds, then checks that nothing more arrives.
fn receive(mut socket: Socket, mut expected: watch::Receiver<Option<usize>>) -> tokio::task::JoinHandle<Vec<Uuid>> {
    tokio::spawn(async move {
        let mut received: Vec<Uuid> = Vec::new();
        loop {
            if let Some(count) = *expected.borrow()
                && received.len() >= count
            {
                break;
            }
            tokio::select! {
                message = tokio::time::timeout(Duration::from_secs(10), socket.next()) => {
                    // Silence for this long means something is missing: the comparison shows what.
                    let Ok(Some(Ok(Message::Text(text)))) = message else { break };
                    let message: serde_json::Value = serde_json::from_str(&text).expect("json");
                    assert_eq!(message["type"], "next", "{message}");
                    let id = message["payload"]["data"]["notifications"]["id"].as_str().expect("an id");
                    received.push(id.parse().expect("a uuid"));
                }
                changed = expected.changed() => changed.expect("the test is running"),
            }
        }
        // A duplicate would arrive after the last one expected.
        if let Ok(Some(Ok(extra))) = tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
            panic!("more than was committed arrived: {extra:?}");
        }
        received
    })
}

async fn concurrent_writers_on_several_instances_reach_every_subscriber_once_and_in_order(backend: Backend) {
    let first = TestApp::spawn(&backend).await;
    let mut instances = vec![first];
    if matches!(backend, Backend::Postgres(_)) {
        for _ in 0..2 {
            let sibling = instances[0].sibling().await;
            instances.push(sibling);
        }
    }
    let (org, _) = instances[0].organization("De Linde").await;
    let mut recipients = Vec::new();
    for n in 0..RECIPIENTS {
        recipients.push(instances[0].user(org, &format!("client{n}@linde.example"), &[Role::Client]).await);
    }

    // One subscriber per recipient, spread over the instances, each from the start.
    let mut readers = Vec::new();
    for (n, &recipient) in recipients.iter().enumerate() {
        let instance = &instances[n % instances.len()];
        let before = committed_for(instance, recipient).await.last().copied();
        let mut socket = connect(instance.addr, &instance.token(recipient)).await;
        subscribe_notifications(&mut socket, "1", None).await;
        let (count_tx, count_rx) = watch::channel(None);
        readers.push((recipient, before, count_tx, receive(socket, count_rx)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Writers: each transaction notifies one to four people at once, through the writer's
    // instance; the sets overlap, so writers contend for the same recipients.
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let instance_db = instances[w % instances.len()].app.db.clone();
        let now = instances[0].clock_now();
        let recipients = recipients.clone();
        writers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(w as u64);
            for t in 0..TRANSACTIONS_PER_WRITER {
                let count = rng.random_range(1..=4);
                let mut chosen: Vec<Uuid> = Vec::new();
                while chosen.len() < count {
                    let recipient = recipients[rng.random_range(0..recipients.len())];
                    if !chosen.contains(&recipient) {
                        chosen.push(recipient);
                    }
                }
                let txn = instance_db.begin_write().await.expect("transaction");
                notifications::notify(
                    &txn,
                    chosen,
                    NotificationKind::TaskCreated,
                    &format!("w{w} t{t}"),
                    Links::default(),
                    now,
                );
                txn.commit().await.expect("commit");
            }
        }));
    }

    // Midway, a late subscriber for the first recipient resumes after what it had seen: it
    // replays what committed since and continues live without a gap or a repeat.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let late_recipient = recipients[0];
    let seen = committed_for(&instances[0], late_recipient).await;
    let resume_after = seen.get(seen.len() / 2).copied();
    let late_instance = &instances[instances.len() - 1];
    let mut late = connect(late_instance.addr, &late_instance.token(late_recipient)).await;
    let after = resume_after.map(|id| id.to_string());
    subscribe_notifications(&mut late, "1", after.as_deref()).await;
    let (late_tx, late_rx) = watch::channel(None);
    readers.push((late_recipient, resume_after, late_tx, receive(late, late_rx)));

    for writer in writers {
        writer.await.expect("a writer finished");
    }

    let mut total = 0;
    for (recipient, after, expected, reader) in readers {
        let committed: Vec<Uuid> = committed_for(&instances[0], recipient)
            .await
            .into_iter()
            .filter(|id| after.is_none_or(|after| *id > after))
            .collect();
        expected.send(Some(committed.len())).expect("the reader is waiting");
        let received = reader.await.expect("the reader finished");
        assert_eq!(received, committed, "what {recipient} received (after {after:?}) is what was committed, in order");
        total += received.len();
    }
    assert!(total > WRITERS * TRANSACTIONS_PER_WRITER, "the writers notified ({total} deliveries)");
}

/// An instance whose clock runs behind another's still gives each new notification an id above
/// the recipient's newest, so a subscriber that has delivered up to that newest gets it.
async fn an_instance_whose_clock_runs_behind_still_notifies_in_order(backend: Backend) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    // Written by an instance an hour ahead.
    let ahead = chrono::Utc::now() + chrono::Duration::hours(1);
    let timestamp =
        uuid::Timestamp::from_unix(uuid::NoContext, ahead.timestamp() as u64, ahead.timestamp_subsec_nanos());
    let newest = Uuid::new_v7(timestamp);
    notification::ActiveModel {
        id: Set(newest),
        recipient_id: Set(lotte),
        kind: Set(NotificationKind::TaskCreated),
        title: Set("from an instance ahead".into()),
        client_id: Set(None),
        consent_request_id: Set(None),
        delegation_id: Set(None),
        task_id: Set(None),
        message_id: Set(None),
        emergency_access_id: Set(None),
        created_at: Set(ahead),
        read_at: Set(None),
    }
    .insert(app.app.db.conn())
    .await
    .expect("a notification from ahead");

    let mut socket = connect(app.addr, &app.token(lotte)).await;
    let after = newest.to_string();
    subscribe_notifications(&mut socket, "1", Some(&after)).await;
    // One notification in a transaction, then two.
    let written = [app.notify_at_once(lotte, 1).await, app.notify_at_once(lotte, 2).await].concat();
    assert!(written[0] > newest && written.is_sorted(), "{written:?} after {newest}");
    for id in &written {
        let delivered = inzage_testkit::live::next_notification(&mut socket).await;
        assert_eq!(delivered["id"].as_str(), Some(id.to_string().as_str()), "{delivered}");
    }
    assert_eq!(committed_for(&app, lotte).await, [vec![newest], written].concat());

    // On PostgreSQL a single notification whose id is already the newest is written by the
    // statement that checks it; a clock behind costs that statement (writing nothing), the read
    // of the recipient's newest, and the insert.
    let anna = app.user(org, "anna@linde.example", &[Role::Client]).await;
    let (in_order, _) = app.fewest_statements(|| app.notify_at_once(anna, 1)).await;
    let (behind, _) = app.fewest_statements(|| app.notify_at_once(lotte, 1)).await;
    let extra = if matches!(backend, Backend::Postgres(_)) { 2 } else { 0 };
    assert_eq!(behind, in_order + extra, "statements: {in_order} in order, {behind} behind");
}

async fn a_commit_of_more_notifications_than_one_statement_can_bind_writes_them_all(backend: Backend) {
    // 7,000 rows of 12 columns: more values than one statement binds on either database
    // (SQLite 32,766, PostgreSQL 65,535).
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let written = app.notify_at_once(lotte, 7_000).await;
    assert_eq!(written.len(), 7_000);
    assert!(written.is_sorted(), "ids in the order they were written");
    assert_eq!(committed_for(&app, lotte).await, written);
}

async fn live_pages_give_each_subscriber_its_own_rows_when_one_has_a_long_backlog(backend: Backend) {
    // What one wake-up reads for several subscribers at once: Lotte's backlog, written first,
    // must not crowd out Koen's one new notification, and no page is longer than asked.
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let backlog = app.notify_at_once(lotte, 500).await;
    let koens = app.notify_at_once(koen, 1).await;
    let keys = [(lotte, Uuid::nil()), (koen, Uuid::nil()), (lotte, backlog[449])];
    let pages = notifications::after_each(app.app.db.conn(), &keys, 100).await.expect("reads");
    let ids =
        |key| pages.get(&key).map(|rows: &Vec<notification::Model>| rows.iter().map(|row| row.id).collect::<Vec<_>>());
    assert_eq!(ids(keys[0]), Some(backlog[..100].to_vec()));
    assert_eq!(ids(keys[1]), Some(koens));
    assert_eq!(ids(keys[2]), Some(backlog[450..].to_vec()));
}

on_every_database!(
    live_pages_give_each_subscriber_its_own_rows_when_one_has_a_long_backlog,
    concurrent_writers_on_several_instances_reach_every_subscriber_once_and_in_order,
    an_instance_whose_clock_runs_behind_still_notifies_in_order,
    a_commit_of_more_notifications_than_one_statement_can_bind_writes_them_all,
);
