//! The database going away and coming back, on PostgreSQL.
//!
//! Instance A reaches PostgreSQL through a TCP proxy the test can cut, as a network failure or
//! a database restart would; instance B reaches it directly and keeps working meanwhile. While
//! A is cut off it must answer quickly with INTERNAL_SERVER_ERROR and report not ready; when the
//! database is back, A must recover by itself, lose no committed write, and deliver to its live
//! subscribers every notification committed while it was away, once each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use inzage_api::App;
use inzage_api::domain::values::{DisplayName, Email};
use inzage_entity::OrganizationKind;
use inzage_testkit::{Backend, TestDatabase, error_code, live, test_clock, test_settings};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use uuid::Uuid;

/// A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and
/// restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    pipes: Arc<std::sync::Mutex<JoinSet<()>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let up = Arc::new(AtomicBool::new(true));
        let pipes = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let accept = tokio::spawn({
            let (up, pipes) = (up.clone(), pipes.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: the connection is refused
                    }
                    pipes.lock().expect("pipes").spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            }
        });
        Self { addr, up, pipes, _accept: accept }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.pipes.lock().expect("pipes").abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').expect("a database path");
    let credentials = authority.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
    format!("{scheme}://{credentials}{addr}/{path}")
}

/// Where `url` points.
fn upstream(url: &str) -> SocketAddr {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().expect("authority");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
    let host = host.replace("localhost", "127.0.0.1");
    host.parse().expect("a host:port")
}

struct Instance {
    addr: SocketAddr,
    app: Arc<App>,
    _server: tokio::task::JoinHandle<()>,
}

async fn start(url: &str) -> Instance {
    let app = App::open(test_settings(url), Arc::new(test_clock())).await.expect("the app starts");
    let (addr, server) = inzage_testkit::serve(app.clone(), std::future::pending()).await;
    Instance { addr, app, _server: server }
}

impl Instance {
    fn token(&self, user: Uuid) -> String {
        self.app.signer.as_ref().expect("signer").sign(user, Utc::now(), Duration::from_secs(3600))
    }

    async fn graphql(&self, http: &reqwest::Client, token: &str, query: &str) -> Value {
        self.post(http, token, json!({ "query": query })).await
    }

    async fn post(&self, http: &reqwest::Client, token: &str, body: Value) -> Value {
        http.post(format!("http://{}/graphql", self.addr))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("an answer")
            .json()
            .await
            .expect("json")
    }

    async fn ready(&self, http: &reqwest::Client) -> u16 {
        http.get(format!("http://{}/readyz", self.addr)).send().await.expect("readyz").status().as_u16()
    }
}

const CREATE: &str =
    "mutation($e: String!) { createUser(input: {email: $e, displayName: \"Someone\", roles: [CLIENT]}) { id } }";

async fn create(instance: &Instance, http: &reqwest::Client, token: &str, email: &str) -> Value {
    instance.post(http, token, json!({ "query": CREATE, "variables": { "e": email } })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: build and run with INZAGE_TEST_DATABASE_URL=postgres://…")]
async fn an_instance_recovers_from_losing_the_database_without_losing_writes_or_notifications() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let database = TestDatabase::create(&backend).await;
    let proxy = Proxy::start(upstream(&database.url)).await;
    let b = start(&database.url).await;
    let a = start(&through(&database.url, proxy.addr)).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");

    let created = inzage_api::domain::accounts::bootstrap(
        &b.app.db,
        Utc::now(),
        DisplayName::parse("Harbour").expect("name"),
        OrganizationKind::CareProvider,
        Email::parse("admin@harbour.example").expect("email"),
        DisplayName::parse("Admin").expect("name"),
    )
    .await
    .expect("bootstrap");
    let admin = created.administrator.id;
    let (token_a, token_b) = (a.token(admin), b.token(admin));
    assert_eq!(a.ready(&http).await, 200);

    // A live subscriber on A, and a notification that reaches it.
    let mut socket = live::connect(a.addr, &token_a).await;
    live::subscribe_notifications(&mut socket, "1", None).await;
    while a.app.db.hub().open_subscriptions() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let notify = |n: usize| {
        let b = &b;
        async move {
            use inzage_api::domain::notifications::{self, Links};
            let txn = b.app.db.begin_write().await.expect("transaction");
            notifications::notify(
                &txn,
                [admin],
                inzage_entity::NotificationKind::TaskCreated,
                &format!("notification {n}"),
                Links::default(),
                Utc::now(),
            );
            txn.commit_notifying().await.expect("commit")
        }
    };
    notify(0).await;
    assert_eq!(live::next_notification(&mut socket).await["title"], "notification 0");
    let mut committed = Vec::new();
    let answer = create(&a, &http, &token_a, "before@harbour.example").await;
    committed.push(answer["data"]["createUser"]["id"].as_str().expect("created").to_owned());

    // The database goes away for A.
    proxy.cut();
    let started = Instant::now();
    let answer = a.graphql(&http, &token_a, "{ viewer { roles } }").await;
    assert_eq!(error_code(&answer), Some("INTERNAL_SERVER_ERROR"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    let refused = create(&a, &http, &token_a, "during@harbour.example").await;
    assert_eq!(error_code(&refused), Some("INTERNAL_SERVER_ERROR"), "{refused}");
    assert_eq!(a.ready(&http).await, 503, "readiness reflects the outage");
    assert!(!answer.to_string().to_lowercase().contains("sql"), "{answer}");

    // Meanwhile B goes on: writes and notifications for A's subscriber.
    for n in 1..=3 {
        notify(n).await;
    }
    let answer = create(&b, &http, &token_b, "meanwhile@harbour.example").await;
    committed.push(answer["data"]["createUser"]["id"].as_str().expect("created").to_owned());

    // The database comes back: A recovers without a restart.
    proxy.restore();
    let recovered = async {
        while a.ready(&http).await != 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), recovered).await.expect("A is ready again");
    let answer = a.graphql(&http, &token_a, "{ viewer { roles } }").await;
    assert_eq!(answer["data"]["viewer"]["roles"], json!(["ADMINISTRATOR"]), "{answer}");
    // Every notification committed while A was away reaches its subscriber, once each.
    for n in 1..=3 {
        assert_eq!(live::next_notification(&mut socket).await["title"], format!("notification {n}"));
    }
    live::assert_silent(&mut socket, Duration::from_millis(500)).await;
    notify(4).await;
    assert_eq!(live::next_notification(&mut socket).await["title"], "notification 4");

    // No committed write is lost, and the refused one was not written.
    let answer = create(&a, &http, &token_a, "after@harbour.example").await;
    committed.push(answer["data"]["createUser"]["id"].as_str().expect("created").to_owned());
    for id in &committed {
        let answer = a.graphql(&http, &token_a, &format!("{{ user(id: \"{id}\") {{ id }} }}")).await;
        assert_eq!(answer["data"]["user"]["id"], id.as_str(), "the committed user {id} is gone: {answer}");
    }
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let refused = inzage_entity::user::Entity::find()
        .filter(inzage_entity::user::Column::Email.eq("during@harbour.example"))
        .count(b.app.db.conn())
        .await
        .expect("count");
    assert_eq!(refused, 0, "a refused write was committed");
}
