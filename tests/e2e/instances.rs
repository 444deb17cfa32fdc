//! Several instances on one PostgreSQL database: a notification committed through one reaches
//! subscribers on another, also when the listening connection was cut meanwhile. PostgreSQL
//! only: an SQLite file serves one instance.

use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{connect, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_subscriber_on_one_instance_receives_what_another_commits() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let b = a.sibling().await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ids = b.notify(lotte, 3).await;
    for id in ids {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string());
    }
    // One commit of hundreds of notifications reaches the subscriber in full: the wake-ups
    // heard together collapse into one.
    let burst = b.notify_at_once(lotte, 400).await;
    for id in &burst {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string());
    }
    assert_eq!(a.app.db.hub().open_subscriptions(), 1, "still subscribed");
    assert!(heard_at_least(&a, 403).await, "A heard B's events over LISTEN");
    // Operators see it too.
    let metrics = a.http.get(a.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let heard: f64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("inzage_events_heard_total ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no inzage_events_heard_total in {metrics}"));
    assert!(heard >= 403.0, "{heard}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_notification_committed_while_the_listener_is_cut_still_arrives() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let b = a.sibling().await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Cut every LISTEN connection to this database (both instances'), then commit through B
    // before A's listener is back.
    let cut = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
               WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()";
    let terminated = a.app.db.conn().execute_unprepared(cut).await.expect("terminate");
    assert!(terminated.rows_affected() >= 1, "a listener was connected");
    let ids = b.notify(lotte, 2).await;

    for id in ids {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string(), "delivered after the reconnect");
    }
}

/// How many `live_listener` rows name `recipient`.
async fn listener_rows(app: &TestApp, recipient: Uuid) -> i64 {
    let row = app
        .app
        .db
        .conn()
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM live_listener WHERE recipient_id = $1",
            [recipient.into()],
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

/// Waits (up to 10 s) until `recipient` has `rows` listener rows.
async fn until_listener_rows(app: &TestApp, recipient: Uuid, rows: i64) {
    for _ in 0..100 {
        if listener_rows(app, recipient).await == rows {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{recipient} never had {rows} listener rows");
}

/// Two instances on one PostgreSQL database and De Linde with Lotte, a client, in it: A, B,
/// the organisation, its administrator and Lotte.
async fn two_instances() -> (TestApp, TestApp, Uuid, Uuid, Uuid) {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let b = a.sibling().await;
    let (org, admin) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    (a, b, org, admin, lotte)
}

/// `person` subscribed to their notifications on `app`, once `app` has registered it.
async fn subscribed_on(app: &TestApp, person: Uuid) -> inzage_testkit::live::Socket {
    let mut socket = connect(app.addr, &app.token(person)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    until_listener_rows(app, person, 1).await;
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn an_instance_announces_a_notification_only_when_another_listens_for_its_recipient() {
    let (a, b, org, admin, lotte) = two_instances().await;
    let henk = a.user(org, "henk@linde.example", &[Role::Client]).await;

    // Nobody listens for Lotte: B's commits for her wake no other instance.
    b.notify(lotte, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.app.db.hub().events_heard(), 0, "B announced what no one elsewhere listens for");

    // Once she subscribes on A, B's next commit for her is announced, and arrives at once.
    let mut socket = subscribed_on(&a, lotte).await;
    let ids = b.notify(lotte, 2).await;
    for id in ids {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string());
    }
    assert!(heard_at_least(&a, 2).await, "A heard B's announcement");
    // Henk still has no one listening: still not announced.
    let heard = a.app.db.hub().events_heard();
    b.notify(henk, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.app.db.hub().events_heard(), heard, "B announced Henk's, whom no one listens for");

    // When she leaves, her row goes, and B stops announcing her notifications.
    drop(socket);
    until_listener_rows(&a, lotte, 0).await;
    b.notify(lotte, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.app.db.hub().events_heard(), heard, "announced after she left");

    // Other events are announced whoever listens: a deactivation must close sockets anywhere.
    inzage_testkit::data(
        &b.as_user(
            admin,
            "mutation($u: ID!) { setUserActive(userId: $u, active: false) { active } }",
            serde_json::json!({"u": henk}),
        )
        .await,
    );
    assert!(heard_at_least(&a, heard + 1).await, "the deactivation was not announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn an_instance_whose_listener_rows_were_swept_registers_them_again() {
    let (a, b, _, _, lotte) = two_instances().await;
    let mut socket = subscribed_on(&a, lotte).await;

    // As if A had been cut off for longer than the heartbeat allows and another instance swept
    // it: its heartbeat and its rows are gone.
    let instance = a.app.db.hub().instance();
    for sql in ["DELETE FROM live_listener WHERE instance_id = $1", "DELETE FROM live_instance WHERE id = $1"] {
        a.app
            .db
            .conn()
            .execute_raw(sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, [instance.into()]))
            .await
            .expect("delete");
    }
    // Its next heartbeat finds itself new and writes its rows again; then B announces to it.
    until_listener_rows(&a, lotte, 1).await;
    let heard = a.app.db.hub().events_heard();
    let ids = b.notify(lotte, 1).await;
    assert_eq!(next_in_time(&mut socket).await["id"], ids[0].to_string());
    assert!(heard_at_least(&a, heard + 1).await, "announced to A again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn the_listener_rows_of_an_instance_that_stopped_beating_are_swept() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let socket = subscribed_on(&a, lotte).await;
    // An instance that died two minutes ago, listening for Lotte too.
    let gone = Uuid::new_v4();
    let inserted = a
        .app
        .db
        .conn()
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "WITH beat AS (INSERT INTO live_instance (id, seen_at) VALUES ($1, now() - interval '2 minutes')) \
             INSERT INTO live_listener (recipient_id, instance_id) VALUES ($2, $1)",
            [gone.into(), lotte.into()],
        ))
        .await
        .expect("insert");
    // (A's own heartbeat sweeps too, every few seconds: the count is not read in between.)
    assert_eq!(inserted.rows_affected(), 1);
    inzage_api::events::interest::sweep(a.app.db.conn()).await.expect("sweep");
    assert_eq!(listener_rows(&a, lotte).await, 1, "the gone instance's row is swept, the live one's kept");
    drop(socket);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_subscription_that_starts_while_another_instance_commits_misses_nothing() {
    let (a, b, org, _, _) = two_instances().await;
    let b = std::sync::Arc::new(b);
    for n in 0..5 {
        let person = a.user(org, &format!("person{n}@linde.example"), &[Role::Client]).await;
        let first = b.notify(person, 1).await[0];
        // B commits for them every few milliseconds while they subscribe on A.
        let writer = {
            let b = b.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..60 {
                    ids.extend(b.notify(person, 1).await);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                ids
            })
        };
        tokio::time::sleep(Duration::from_millis(40 * n)).await;
        let mut socket = connect(a.addr, &a.token(person)).await;
        subscribe_notifications(&mut socket, "1", Some(&first.to_string())).await;
        let committed = writer.await.expect("writer");
        // Each arrives in less time than the resynchronisation would take to make up for one
        // that was not announced.
        for id in committed {
            assert_eq!(next_in_time(&mut socket).await["id"], id.to_string());
        }
    }
}

// --- NATS JetStream as the event transport -------------------------------------------------

/// The NATS server of the development and CI machines (JetStream on).
const NATS_URL: &str = "nats://127.0.0.1:4222";

/// How long a notification may take over the transport: less than the resynchronisation
/// interval, so that arriving in time shows the transport carried it.
const OVER_THE_TRANSPORT: Duration = Duration::from_secs(3);

/// Two instances whose events go through NATS at `url`, and a client subscribed on the first.
async fn two_instances_over_nats(url: &str) -> (TestApp, TestApp, Uuid, inzage_testkit::live::Socket) {
    two_instances_over_nats_at(url, url).await
}

/// Two instances reaching NATS at `a_url` and `b_url`, and a client subscribed on the first.
async fn two_instances_over_nats_at(
    a_url: &str,
    b_url: &str,
) -> (TestApp, TestApp, Uuid, inzage_testkit::live::Socket) {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn_with(&backend, |s| s.event_transport = Some(a_url.to_owned())).await;
    let b = a.sibling_with(|s| s.event_transport = Some(b_url.to_owned())).await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    (a, b, lotte, socket)
}

/// Whether `app` has heard at least `count` events from other instances, within five seconds
/// (a subscriber may have been woken by a resynchronisation before the transport's message).
async fn heard_at_least(app: &TestApp, count: u64) -> bool {
    for _ in 0..50 {
        if app.app.db.hub().events_heard() >= count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The ids of the next `count` notifications.
async fn receive(socket: &mut inzage_testkit::live::Socket, count: usize) -> Vec<Uuid> {
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        received.push(next_notification(socket).await["id"].as_str().expect("an id").parse().expect("a uuid"));
    }
    received
}

async fn next_in_time(socket: &mut inzage_testkit::live::Socket) -> serde_json::Value {
    tokio::time::timeout(OVER_THE_TRANSPORT, next_notification(socket))
        .await
        .expect("delivered over the transport in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn over_nats_a_subscriber_on_one_instance_receives_what_another_commits() {
    let (a, b, lotte, mut socket) = two_instances_over_nats(NATS_URL).await;

    // Without LISTEN: the instances do not listen on PostgreSQL when NATS carries the events.
    let listening = a
        .app
        .db
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        ))
        .await
        .expect("count")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(listening, 0);

    let stored = || async {
        let context = inzage_api::events::nats::connect(NATS_URL).await.expect("NATS");
        let mut stream = context.get_stream(inzage_api::events::nats::STREAM).await.expect("the stream");
        stream.info().await.expect("its state").state.last_sequence
    };
    let before = stored().await;
    let heard = a.app.db.hub().events_heard();
    for id in b.notify(lotte, 5).await {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string());
    }
    // The five went through the stream, in one message or several (other tests may publish
    // to it too), and A heard them there: it listens to nothing else.
    assert!(stored().await > before, "B published what it committed to NATS");
    assert!(heard_at_least(&a, heard + 5).await, "A heard the five through NATS");
}

/// A NATS server of the test's own, on a free port, storing in `dir`.
struct NatsServer {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl NatsServer {
    fn start(port: u16, dir: &std::path::Path) -> Self {
        let child = std::process::Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server runs (it is installed with NATS)");
        let server = Self { child, port, dir: dir.to_owned() };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.stop();
        *self = Self::start(self.port, &self.dir.clone());
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn over_nats_nothing_is_lost_or_repeated_when_the_nats_server_goes_away_and_comes_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
    let mut server = NatsServer::start(port, dir.path());
    let server_url = server.url();
    let (a, b, lotte, mut socket) = two_instances_over_nats(&server_url).await;

    let mut committed = b.notify(lotte, 3).await;
    for id in &committed {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string());
    }
    let stored = || async {
        let context = inzage_api::events::nats::connect(&server_url).await.expect("NATS");
        let mut stream = context.get_stream(inzage_api::events::nats::STREAM).await.expect("the stream");
        stream.info().await.expect("its state").state.last_sequence
    };
    let before = stored().await;
    assert!(before >= 1, "the first three went through NATS");
    assert!(heard_at_least(&a, 3).await, "A heard them there");
    // NATS goes away: what B commits meanwhile reaches A when A resynchronises from the tables.
    server.stop();
    let during = b.notify(lotte, 3).await;
    for id in &during {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string(), "delivered while NATS was away");
    }
    committed.extend(during);
    // NATS is back: A hears the stream again within seconds (its consumer would otherwise
    // wait to miss two heartbeats, a minute), and the transport carries events again.
    server.restart();
    let back = std::time::Instant::now();
    loop {
        let heard = a.app.db.hub().events_heard();
        let probe = b.notify(lotte, 1).await;
        assert_eq!(next_notification(&mut socket).await["id"], probe[0].to_string(), "delivered after NATS came back");
        committed.extend(probe);
        tokio::time::sleep(Duration::from_millis(200)).await;
        if a.app.db.hub().events_heard() > heard {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "A did not hear NATS again within 15 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let heard = a.app.db.hub().events_heard();
    let after = b.notify(lotte, 3).await;
    for id in &after {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string(), "delivered after NATS came back");
    }
    committed.extend(after);
    assert!(stored().await > before, "the last three went through NATS again");
    assert!(heard_at_least(&a, heard + 3).await, "and A heard them there");
    inzage_testkit::live::assert_silent(&mut socket, Duration::from_millis(500)).await;
    assert!(committed.len() >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn over_nats_what_an_instance_committed_before_it_was_killed_mid_burst_still_arrives_once() {
    let (_a, b, lotte, mut socket) = two_instances_over_nats(NATS_URL).await;
    // B commits back to back; it is killed (its server and every task of it stop, announcements
    // in flight included) while it is at it.
    let db = b.app.db.clone();
    let now = b.clock_now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut committed = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && committed.len() < 200 {
                let txn = db.begin_write().await.expect("transaction");
                inzage_api::domain::notifications::notify(
                    &txn,
                    [lotte],
                    inzage_entity::NotificationKind::TaskCreated,
                    "burst",
                    Default::default(),
                    now,
                );
                committed.extend(txn.commit_notifying().await.expect("commit").into_iter().map(|(_, id)| id));
            }
            committed
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(b);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let committed = writer.await.expect("the writer");
    assert!(committed.len() >= 5, "B committed a burst before it was killed: {}", committed.len());

    let received = receive(&mut socket, committed.len()).await;
    assert_eq!(received, committed, "each once, in order");
    inzage_testkit::live::assert_silent(&mut socket, Duration::from_millis(500)).await;
}

/// A TCP relay to a NATS server that can stop passing bytes, as a stalled network path would:
/// the instance connected through it falls behind the stream while it is paused.
struct Relay {
    url: String,
    paused: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn to(upstream: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("nats://{}", listener.local_addr().expect("addr"));
        let (paused, _) = tokio::sync::watch::channel(false);
        let gate = paused.subscribe();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else { continue };
                let (from_client, to_client) = inbound.into_split();
                let (from_server, to_server) = outbound.into_split();
                tokio::spawn(Self::pass(from_client, to_server, gate.clone()));
                tokio::spawn(Self::pass(from_server, to_client, gate.clone()));
            }
        });
        Self { url, paused }
    }

    async fn pass(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        mut gate: tokio::sync::watch::Receiver<bool>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buffer = vec![0; 16 * 1024];
        loop {
            if gate.wait_for(|paused| !paused).await.is_err() {
                return;
            }
            let read = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            // Bytes read just before the pause wait for its end too.
            if gate.wait_for(|paused| !paused).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    }

    fn pause(&self) {
        self.paused.send_replace(true);
    }

    fn resume(&self) {
        self.paused.send_replace(false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn over_nats_an_instance_that_fell_behind_the_stream_catches_up_with_nothing_lost_or_twice() {
    let relay = Relay::to("127.0.0.1:4222").await;
    let (a, b, lotte, mut socket) = two_instances_over_nats_at(&relay.url, NATS_URL).await;
    let first = b.notify(lotte, 1).await;
    assert_eq!(next_in_time(&mut socket).await["id"], first[0].to_string());

    // A reads nothing from NATS while B commits 1,000 notifications for Lotte in 20 commits:
    // they wait in the stream.
    let heard = a.app.db.hub().events_heard();
    relay.pause();
    let mut committed = Vec::new();
    for _ in 0..20 {
        committed.extend(b.notify_at_once(lotte, 50).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    relay.resume();

    // The subscriber gets each once, in order, and stays subscribed: a backlog read at once
    // is not a subscriber that reads too slowly.
    let received = receive(&mut socket, committed.len()).await;
    assert_eq!(received, committed, "each once, in order");
    inzage_testkit::live::assert_silent(&mut socket, Duration::from_millis(500)).await;
    assert_eq!(a.app.db.hub().open_subscriptions(), 1, "still subscribed");
    // And A did catch up with the stream (not only with the tables, by resynchronising).
    assert!(
        heard_at_least(&a, heard + 1000).await,
        "A read the backlog from the stream: {} events",
        a.app.db.hub().events_heard() - heard
    );
}
