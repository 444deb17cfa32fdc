//! Live notifications over WebSocket: delivery, isolation, replay without gaps or duplicates,
//! and the protocol's refusals.

use inzage_testkit::on_every_database;
use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{self, assert_silent, connect, next, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TEST_SECRET, TestApp, data};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn a_subscriber_receives_its_notification_after_the_mutation_commits_and_no_one_elses(backend: Backend) {
    // No expiry warning falls due during the test (it would be Koen's own notification).
    let app = TestApp::spawn_with(&backend, |s| s.expiry_warning = Duration::from_secs(60)).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;

    let mut lotte_socket = connect(app.addr, &app.token(lotte)).await;
    subscribe_notifications(&mut lotte_socket, "1", None).await;
    let mut koen_socket = connect(app.addr, &app.token(koen)).await;
    subscribe_notifications(&mut koen_socket, "1", None).await;
    // Give the subscriptions a moment to register before the mutation.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let reason = "Collapsed in the waiting room, need her medication";
    data(
        &app.as_user(
            koen,
            "mutation($c: ID!, $r: String!) { breakGlass(clientId: $c, reason: $r) { id } }",
            json!({"c": lotte, "r": reason}),
        )
        .await,
    );

    let received = next_notification(&mut lotte_socket).await;
    assert_eq!(received["kind"], "EMERGENCY_ACCESS");
    assert!(received["title"].as_str().unwrap_or_default().contains("Lotte"));
    assert_silent(&mut koen_socket, Duration::from_millis(500)).await;
}

async fn replay_after_an_id_returns_exactly_the_missed_ones_in_order_then_live_ones(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let other = app.user(org, "milan@linde.example", &[Role::Client]).await;
    let before = app.notify(lotte, 4).await;
    app.notify(other, 2).await;

    let mut socket = connect(app.addr, &app.token(lotte)).await;
    subscribe_notifications(&mut socket, "replay", Some(&before[0].to_string())).await;
    for expected in &before[1..] {
        assert_eq!(next_notification(&mut socket).await["id"], expected.to_string());
    }
    let live = app.notify(lotte, 2).await;
    for expected in &live {
        assert_eq!(next_notification(&mut socket).await["id"], expected.to_string());
    }
    assert_silent(&mut socket, Duration::from_millis(300)).await;
}

async fn notifications_committed_during_replay_arrive_once_and_none_is_lost(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let first = app.notify(lotte, 1).await[0];
    app.notify(lotte, 300).await;
    for round in 0..10 {
        // A writer commits while the subscriber replays.
        let writer = {
            let db = app.app.db.clone();
            let now = app.clock_now();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..20 {
                    let txn = db.begin_write().await.expect("txn");
                    inzage_api::domain::notifications::notify(
                        &txn,
                        [lotte],
                        inzage_entity::NotificationKind::TaskCreated,
                        &format!("during replay {n}"),
                        Default::default(),
                        now,
                    );
                    ids.extend(txn.commit_notifying().await.expect("commit").into_iter().map(|(_, id)| id));
                }
                ids
            })
        };
        let mut socket = connect(app.addr, &app.token(lotte)).await;
        subscribe_notifications(&mut socket, "race", Some(&first.to_string())).await;
        writer.await.expect("writer");
        let expected: Vec<String> = {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
            inzage_entity::notification::Entity::find()
                .filter(inzage_entity::notification::Column::RecipientId.eq(lotte))
                .filter(inzage_entity::notification::Column::Id.gt(first))
                .order_by_asc(inzage_entity::notification::Column::Id)
                .all(app.app.db.conn())
                .await
                .expect("rows")
                .into_iter()
                .map(|n| n.id.to_string())
                .collect()
        };
        let mut received = Vec::new();
        while received.len() < expected.len() {
            received.push(next_notification(&mut socket).await["id"].as_str().expect("id").to_owned());
        }
        assert_silent(&mut socket, Duration::from_millis(200)).await;
        let mut sorted = received.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), received.len(), "round {round}: a notification arrived twice");
        assert_eq!(sorted, expected, "round {round}: every notification, none lost");
    }
}

async fn a_bad_or_missing_token_closes_with_4403(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let mut socket = live::open(app.addr, "graphql-transport-ws", &[]).await.expect("open");
    live::send(&mut socket, json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}))
        .await;
    let (code, reason) = next(&mut socket, WAIT).await.expect_err("closed");
    assert_eq!(code, 4403, "{reason}");

    let mut socket = live::open(app.addr, "graphql-transport-ws", &[]).await.expect("open");
    live::send(&mut socket, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(next(&mut socket, WAIT).await.expect_err("closed").0, 4403);
}

async fn a_connection_without_init_is_closed_with_4408(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.ws_init_timeout_seconds = 1).await;
    let mut socket = live::open(app.addr, "graphql-transport-ws", &[]).await.expect("open");
    let (code, _) = next(&mut socket, WAIT).await.expect_err("closed");
    assert_eq!(code, 4408);
}

async fn the_token_in_the_upgrade_header_or_as_token_field_is_accepted(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let token = app.token(lotte);
    let bearer = format!("Bearer {token}");
    let mut socket = live::open(app.addr, "graphql-transport-ws", &[("authorization", &bearer)]).await.expect("open");
    live::send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(next(&mut socket, WAIT).await.expect("ack")["type"], "connection_ack");

    let mut legacy = live::open(app.addr, "graphql-ws", &[]).await.expect("open");
    live::send(&mut legacy, json!({"type": "connection_init", "payload": {"token": token}})).await;
    assert_eq!(next(&mut legacy, WAIT).await.expect("ack")["type"], "connection_ack");
    live::send(
        &mut legacy,
        json!({"id": "1", "type": "start", "payload": {"query": "subscription { notifications { id } }"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ids = app.notify(lotte, 1).await;
    let message = next(&mut legacy, WAIT).await.expect("data");
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(message["payload"]["data"]["notifications"]["id"], ids[0].to_string());
}

async fn an_expiring_token_closes_the_open_subscription(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let exp = chrono::Utc::now().timestamp() + 2;
    let token = jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": lotte.to_string(), "exp": exp}),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("token");
    let mut socket = connect(app.addr, &token).await;
    subscribe_notifications(&mut socket, "1", None).await;
    let started = std::time::Instant::now();
    let (code, reason) = next(&mut socket, WAIT).await.expect_err("closed at expiry");
    assert_eq!(code, 4403, "{reason}");
    assert!(started.elapsed() < Duration::from_secs(4), "closed within a second of exp");
}

async fn deactivating_the_account_closes_its_subscriptions(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(app.addr, &app.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    data(
        &app.as_user(
            admin,
            "mutation($u: ID!) { setUserActive(userId: $u, active: false) { active } }",
            json!({"u": lotte}),
        )
        .await,
    );
    let (code, reason) = next(&mut socket, Duration::from_secs(2)).await.expect_err("closed");
    assert_eq!(code, 4403);
    assert!(reason.contains("deactivated"), "{reason}");
}

/// A server that closes a client as too slow after one second, and Lotte subscribed to it
/// (over a socket with a small receive buffer when `small_receive_buffer`).
async fn subscribed(backend: Backend, small_receive_buffer: bool) -> (TestApp, Uuid, live::Socket) {
    let app = TestApp::spawn_with(&backend, |s| s.ws_send_timeout_seconds = 1).await;
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = if small_receive_buffer {
        live::connect_with_receive_buffer(app.addr, &app.token(lotte), 4096).await
    } else {
        connect(app.addr, &app.token(lotte)).await
    };
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    (app, lotte, socket)
}

async fn one_commit_of_many_notifications_arrives_in_full(backend: Backend) {
    let (app, lotte, mut socket) = subscribed(backend, false).await;
    let committed = app.notify_at_once(lotte, 40).await;
    for id in &committed {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string());
    }
    assert_silent(&mut socket, Duration::from_millis(300)).await;
    assert_eq!(app.app.db.hub().open_subscriptions(), 1, "still subscribed");
}

async fn a_subscriber_that_reads_is_not_closed_however_many_wake_ups_arrive_while_it_catches_up(backend: Backend) {
    let (app, lotte, mut socket) = subscribed(backend, false).await;
    // A backlog of many pages, and while the subscriber pages through it, far more wake-ups
    // than any queue of them would hold (announcements of other commits, heard one by one).
    let mut committed = app.notify_at_once(lotte, 5_000).await;
    for _ in 0..10_000 {
        app.app.db.hub().publish(inzage_api::events::Event::Notification { recipient: lotte, id: Uuid::now_v7() });
    }
    committed.extend(app.notify(lotte, 20).await);
    for id in &committed {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string());
    }
    assert_silent(&mut socket, Duration::from_millis(300)).await;
    assert_eq!(app.app.db.hub().open_subscriptions(), 1, "still subscribed");
}

async fn a_client_that_stops_reading_is_disconnected_and_resumes_where_it_stopped(backend: Backend) {
    let (app, lotte, mut socket) = subscribed(backend, true).await;

    // The client reads nothing more. One commit gives the server more to send than the
    // sockets hold (about 7 MB; the kernel lets a socket buffer up to 4 MiB here), so a write
    // waits, and after the send timeout the server lets go of the connection. Rows committed
    // meanwhile are not lost.
    let mut committed = app.notify_at_once(lotte, 40_000).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.app.db.hub().open_subscriptions() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the stalled subscription is still open");
        committed.extend(app.notify(lotte, 1).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // When the client reads again it gets what reached it, then the end of the connection.
    let mut received: Vec<String> = Vec::new();
    let ended = loop {
        match next(&mut socket, WAIT).await {
            Ok(message) if message["type"] == "next" => {
                received.push(message["payload"]["data"]["notifications"]["id"].as_str().expect("id").to_owned());
            }
            Ok(message) => panic!("unexpected {message}"),
            Err(ended) => break ended,
        }
    };
    // 4429 when the close frame still fit; otherwise the connection just ends.
    assert!(ended.0 == 4429 || ended.0 == 1006, "{ended:?}");
    assert!(!received.is_empty(), "nothing was sent before the client stopped reading");
    assert!(received.len() < committed.len(), "everything arrived although the client did not read");
    let expected: Vec<String> = committed.iter().map(Uuid::to_string).collect();
    assert_eq!(received, expected[..received.len()], "what arrived came in order, without gaps");

    // Reconnecting after the last one it got, the client receives exactly the rest, in order.
    let mut socket = connect(app.addr, &app.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", received.last().map(String::as_str)).await;
    for id in &expected[received.len()..] {
        assert_eq!(next_notification(&mut socket).await["id"], id.as_str());
    }
    assert_silent(&mut socket, Duration::from_millis(300)).await;
}

async fn a_foreign_origin_may_not_open_a_socket(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let refused = live::open(app.addr, "graphql-transport-ws", &[("origin", "https://evil.example")]).await;
    assert!(refused.is_err(), "a page on another site connected");
    let local = live::open(app.addr, "graphql-transport-ws", &[("origin", "http://localhost:5173")]).await;
    assert!(local.is_ok(), "a local development page may connect");
    // The configured origins add to the server's own and (in development) localhost.
    let listed = TestApp::spawn_with(&backend, |s| s.allowed_origins = vec!["http://portal.test:8001".into()]).await;
    let own = format!("http://{}", listed.addr);
    for origin in ["http://portal.test:8001", own.as_str(), "http://localhost:5173"] {
        let opened = live::open(listed.addr, "graphql-transport-ws", &[("origin", origin)]).await;
        assert!(opened.is_ok(), "{origin} may connect");
    }
    assert!(live::open(listed.addr, "graphql-transport-ws", &[("origin", "https://evil.example")]).await.is_err());
    // In production, localhost is no longer trusted; the own origin and the list still are.
    let production = TestApp::spawn_with(&backend, |s| {
        s.allowed_origins = vec!["http://portal.test:8001".into()];
        s.environment = inzage_api::config::Environment::Production;
    })
    .await;
    let own = format!("http://{}", production.addr);
    for origin in ["http://portal.test:8001", own.as_str()] {
        let opened = live::open(production.addr, "graphql-transport-ws", &[("origin", origin)]).await;
        assert!(opened.is_ok(), "{origin} may connect in production");
    }
    let local = live::open(production.addr, "graphql-transport-ws", &[("origin", "http://localhost:5173")]).await;
    assert!(local.is_err(), "localhost is not trusted in production");
}

on_every_database!(
    a_subscriber_receives_its_notification_after_the_mutation_commits_and_no_one_elses,
    one_commit_of_many_notifications_arrives_in_full,
    replay_after_an_id_returns_exactly_the_missed_ones_in_order_then_live_ones,
    notifications_committed_during_replay_arrive_once_and_none_is_lost,
    a_bad_or_missing_token_closes_with_4403,
    a_connection_without_init_is_closed_with_4408,
    the_token_in_the_upgrade_header_or_as_token_field_is_accepted,
    an_expiring_token_closes_the_open_subscription,
    deactivating_the_account_closes_its_subscriptions,
    a_subscriber_that_reads_is_not_closed_however_many_wake_ups_arrive_while_it_catches_up,
    a_client_that_stops_reading_is_disconnected_and_resumes_where_it_stopped,
    a_foreign_origin_may_not_open_a_socket,
);
