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

// --- NATS JetStream as the event transport -------------------------------------------------

/// The NATS server of the development and CI machines (JetStream on).
const NATS_URL: &str = "nats://127.0.0.1:4222";

/// How long a notification may take over the transport: less than the resynchronisation
/// interval, so that arriving in time shows the transport carried it.
const OVER_THE_TRANSPORT: Duration = Duration::from_secs(3);

/// Two instances whose events go through NATS at `url`, and a client subscribed on the first.
async fn two_instances_over_nats(url: &str) -> (TestApp, TestApp, Uuid, inzage_testkit::live::Socket) {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let nats = |s: &mut inzage_api::Settings| s.event_transport = Some(url.to_owned());
    let a = TestApp::spawn_with(&backend, nats).await;
    let b = a.sibling_with(nats).await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    (a, b, lotte, socket)
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
    for id in b.notify(lotte, 5).await {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string());
    }
    // The five went through the stream (other tests may publish to it too, never fewer).
    assert!(stored().await >= before + 5, "B published what it committed to NATS");
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
    let (_a, b, lotte, mut socket) = two_instances_over_nats(&server_url).await;

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
    assert!(before >= 3, "the first three went through NATS");
    // NATS goes away: what B commits meanwhile reaches A when A resynchronises from the tables.
    server.stop();
    let during = b.notify(lotte, 3).await;
    for id in &during {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string(), "delivered while NATS was away");
    }
    committed.extend(during);
    // NATS is back: the transport carries events again.
    server.restart();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = b.notify(lotte, 3).await;
    for id in &after {
        assert_eq!(next_in_time(&mut socket).await["id"], id.to_string(), "delivered after NATS came back");
    }
    committed.extend(after);
    assert!(stored().await >= before + 3, "the last three went through NATS again");
    inzage_testkit::live::assert_silent(&mut socket, Duration::from_millis(500)).await;
    assert_eq!(committed.len(), 9);
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

    let mut received = Vec::new();
    while received.len() < committed.len() {
        let id: Uuid = next_notification(&mut socket).await["id"].as_str().expect("an id").parse().expect("a uuid");
        received.push(id);
    }
    assert_eq!(received, committed, "each once, in order");
    inzage_testkit::live::assert_silent(&mut socket, Duration::from_millis(500)).await;
}
