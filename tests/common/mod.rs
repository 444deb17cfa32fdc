//! Test harness: a real server on an ephemeral port over a fresh database, and an HTTP client.
//!
//! Every test runs on SQLite; with `INZAGE_TEST_DATABASE_URL` set (a PostgreSQL URL whose user
//! may create databases) it runs on PostgreSQL too, each test in a database of its own that is
//! dropped afterwards.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use inzage_api::clock::ManualClock;
use inzage_api::domain::accounts::{self, NewAccount, NewContact};
use inzage_api::domain::values::{DisplayName, Email};
use inzage_api::{App, Settings};
use inzage_entity::{OrganizationKind, Role};
use serde_json::{Value, json};
use uuid::Uuid;

/// Runs each named `async fn(Backend)` as a test on SQLite and, when configured, on PostgreSQL.
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::common::Backend::postgres() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!("skipped: set INZAGE_TEST_DATABASE_URL to run on PostgreSQL"),
                    }
                }
            )*
        }
    };
}

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL, when `INZAGE_TEST_DATABASE_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("INZAGE_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()).map(Self::Postgres)
    }
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("inzage.db").display());
                Self { url, _dir: Some(dir), postgres: None }
            }
            Backend::Postgres(admin_url) => {
                let name = format!("inzage_test_{}", Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(admin_url.as_str()).await.expect("connect to PostgreSQL");
                use sea_orm::ConnectionTrait;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await.ok();
                let url = with_database_name(admin_url, &name);
                Self { url, _dir: None, postgres: Some((admin_url.clone(), name)) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Dropping runs inside the test's runtime; use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    use sea_orm::ConnectionTrait;
                    if let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await {
                        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// `postgres://user@host:port/db?x` with the database replaced by `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// The secret test servers sign and verify HS256 tokens with.
pub const TEST_SECRET: &str = "inzage-test-secret-that-is-long-enough-for-hs256";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Settings for a test server on `database_url`: HS256 with [`TEST_SECRET`], no demo data.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::with_database(database_url);
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.jwt_secret = Some(TEST_SECRET.to_owned());
    settings.jwt_public_key = None;
    settings.jwt_issuer = None;
    settings.jwt_audience = None;
    settings.demo = Some(false);
    settings
}

impl TestApp {
    /// A server with default test settings on a fresh database of `backend`.
    pub async fn spawn(backend: &Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server whose settings `adjust` may change first.
    pub async fn spawn_with(backend: &Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        let database = TestDatabase::create(backend).await;
        let mut settings = test_settings(&database.url);
        adjust(&mut settings);
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("date"));
        let app = App::open(settings, Arc::new(clock.clone())).await.expect("the app starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn({
            let app = app.clone();
            async move {
                let _ = inzage_api::server::serve(app, listener, std::future::pending()).await;
            }
        });
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self { addr, app, clock, http, server, _database: database }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A valid token for `user_id`, signed with the server's key.
    pub fn token(&self, user_id: Uuid) -> String {
        self.app.signer.as_ref().expect("test servers sign HS256 tokens").sign(
            user_id,
            Utc::now(),
            Duration::from_secs(3600),
        )
    }

    /// POSTs a GraphQL operation, with `Authorization: Bearer <token>` when given.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        response.json().await.expect("a JSON response")
    }

    /// Like [`graphql`](Self::graphql) as the user `user_id`.
    pub async fn as_user(&self, user_id: Uuid, query: &str, variables: Value) -> Value {
        self.graphql(Some(&self.token(user_id)), query, variables).await
    }

    /// Creates an organisation with its first administrator; returns (organisation, admin) ids.
    pub async fn organization(&self, name: &str) -> (Uuid, Uuid) {
        let slug: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
        let created = accounts::bootstrap(
            &self.app.db,
            self.clock_now(),
            DisplayName::parse(name).expect("name"),
            OrganizationKind::CareProvider,
            Email::parse(&format!("admin@{slug}.example")).expect("email"),
            DisplayName::parse(&format!("Admin of {name}")).expect("name"),
        )
        .await
        .expect("bootstrap");
        (created.organization.id, created.administrator.id)
    }

    /// Creates an account directly (no policy): the arrangement of a test, not what it proves.
    pub async fn user(&self, organization_id: Uuid, email: &str, roles: &[Role]) -> Uuid {
        let txn = self.app.db.begin_write().await.expect("transaction");
        let account = accounts::insert_account(
            &*txn,
            organization_id,
            NewAccount {
                email: Email::parse(email).expect("email"),
                display_name: DisplayName::parse(email.split('@').next().unwrap_or(email)).expect("name"),
                roles: roles.iter().copied().collect(),
                accepts_delegations: false,
                contact: NewContact::default(),
            },
            self.clock_now(),
        )
        .await
        .expect("insert account");
        txn.commit().await.expect("commit");
        account.id
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use inzage_api::clock::Clock;
        self.clock.now()
    }

    /// How many accounts exist (to prove that a refused mutation wrote nothing).
    pub async fn count_users(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        inzage_entity::user::Entity::find().count(self.app.db.conn()).await.expect("count")
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Every error's code, in order.
pub fn error_codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Asserts the response has no errors and returns its `data`.
#[track_caller]
pub fn data(response: &Value) -> &Value {
    assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
    &response["data"]
}
