//! The test kit of Inzage's end-to-end tests and benchmarks: a real server on an ephemeral port
//! over a fresh database, HTTP and WebSocket clients, and the third-party programs the tests
//! drive.
//!
//! Every test runs on SQLite; with `INZAGE_TEST_DATABASE_URL` set (a PostgreSQL URL whose user
//! may create databases) it runs on PostgreSQL too, each test in a database of its own that is
//! dropped afterwards.

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

/// Runs each named `async fn(Backend)` as a test on SQLite and on PostgreSQL. Without
/// `INZAGE_TEST_DATABASE_URL` when the tests were built, the PostgreSQL ones are ignored (and
/// reported so), not passed.
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(postgres_tests),
                    ignore = "needs PostgreSQL: build and run with INZAGE_TEST_DATABASE_URL=postgres://…"
                )]
                async fn $name() {
                    super::$name($crate::Backend::postgres().expect("INZAGE_TEST_DATABASE_URL")).await
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
    /// PostgreSQL, when `INZAGE_TEST_DATABASE_URL` is set now or was set when the tests were
    /// built.
    pub fn postgres() -> Option<Self> {
        std::env::var("INZAGE_TEST_DATABASE_URL")
            .ok()
            .or_else(|| option_env!("INZAGE_TEST_DATABASE_URL").map(str::to_owned))
            .filter(|url| !url.is_empty())
            .map(Self::Postgres)
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
pub fn with_database_name(url: &str, name: &str) -> String {
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

/// The clock test servers start with: 2 March 2026, 09:00 UTC.
pub fn test_clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("date"))
}

/// Serves `app` on a free port of 127.0.0.1 until `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        inzage_api::http::serve(app, listener, shutdown).await.expect("the server runs");
    });
    (addr, server)
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
    /// The database, owned by the first instance on it (siblings share it).
    _database: Option<TestDatabase>,
    database_url: String,
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
    settings.jwt_key_id = None;
    settings.jwks_url = None;
    settings.jwt_type = None;
    settings.jwt_issuer = None;
    settings.jwt_audience = None;
    settings.demo = Some(false);
    // Tests seal the access log when they mean to (`sealing::seal_now`).
    settings.audit_seal_interval = Duration::ZERO;
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
        Self::start(&database.url.clone(), Some(database), adjust).await
    }

    /// A second instance on this instance's database (as behind a load balancer), with a clock
    /// of its own set to the same time.
    pub async fn sibling(&self) -> Self {
        self.sibling_with(|_| {}).await
    }

    /// Like [`sibling`](Self::sibling), with settings that `adjust` may change first.
    pub async fn sibling_with(&self, adjust: impl FnOnce(&mut Settings)) -> Self {
        let sibling = Self::start(&self.database_url, None, adjust).await;
        sibling.clock.set(self.clock_now());
        sibling
    }

    async fn start(database_url: &str, database: Option<TestDatabase>, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = test_settings(database_url);
        adjust(&mut settings);
        let clock = test_clock();
        let app = App::open(settings, Arc::new(clock.clone())).await.expect("the app starts");
        let (addr, server) = serve(app.clone(), std::future::pending()).await;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self { addr, app, clock, http, server, _database: database, database_url: database_url.to_owned() }
    }

    /// The URL of this instance's database.
    pub fn database_url(&self) -> &str {
        &self.database_url
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

    /// Has `counselor` create a CLIENT account through the API (so it joins their caseload).
    pub async fn client_created_by(&self, counselor: Uuid, email: &str, name: &str) -> Uuid {
        let response = self
            .as_user(
                counselor,
                "mutation($e: String!, $n: String!) { createUser(input: {email: $e, displayName: $n, roles: [CLIENT]}) { id } }",
                json!({"e": email, "n": name}),
            )
            .await;
        Uuid::parse_str(data(&response)["createUser"]["id"].as_str().expect("an id")).expect("a uuid")
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use inzage_api::clock::Clock;
        self.clock.now()
    }

    /// Waits (at most five seconds) until the server's background work (mail, expiry, the
    /// event listener's resynchronisation, sealing) has stopped running statements, so that a
    /// measurement that follows counts only its request.
    pub async fn settle(&self) {
        let mut last = self.app.db.statements_executed();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.app.db.statements_executed();
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// How many SQL statements `request` runs, and its first answer: the fewest of three tries,
    /// each after [`TestApp::settle`], so that a statement of the server's background work that
    /// happens to fall inside one try is not counted as the request's.
    pub async fn fewest_statements<T, F: std::future::Future<Output = T>>(
        &self,
        mut request: impl FnMut() -> F,
    ) -> (u64, T) {
        let mut fewest = u64::MAX;
        let mut first = None;
        for _ in 0..3 {
            self.settle().await;
            let before = self.app.db.statements_executed();
            let answer = request().await;
            fewest = fewest.min(self.app.db.statements_executed() - before);
            first.get_or_insert(answer);
        }
        (fewest, first.expect("three tries"))
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

/// Asserts that a mutation was refused with `code` (and, when given, `extensions.field`) and
/// returned no data.
#[track_caller]
pub fn assert_refused(response: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
    if let Some(field) = field {
        assert_eq!(response["errors"][0]["extensions"]["field"].as_str(), Some(field), "{response:#}");
    }
    let data = &response["data"];
    assert!(data.is_null() || data.as_object().is_some_and(|d| d.values().all(Value::is_null)), "{response:#}");
}

/// Every error's code, in order.
pub fn error_codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Whether an access-log row (queried with `objectTypes`) covers the kind of object `kind`: a
/// read row lists every kind read of the client in one request on one basis.
pub fn covers(row: &Value, kind: &str) -> bool {
    row["objectTypes"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == kind))
}

/// Asserts the response has no errors and returns its `data`.
#[track_caller]
pub fn data(response: &Value) -> &Value {
    assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
    &response["data"]
}

/// Programs nobody on this project wrote, pinned in `tests/clients/` (npm packages, and a
/// Python virtual environment), installed there on first use.
pub mod clients {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::Mutex;

    /// Installs are shared by the tests of a binary; one at a time.
    static INSTALL: Mutex<()> = Mutex::new(());

    /// `tests/clients/`.
    pub fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients")
    }

    fn run(command: &mut Command) -> bool {
        command.current_dir(dir()).stdout(Stdio::null()).status().is_ok_and(|status| status.success())
    }

    /// A `node` command running `script` (in `tests/clients/`) with the pinned packages
    /// installed; panics when they cannot be installed.
    pub fn node(script: &str) -> Command {
        {
            let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let manifest: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir().join("package.json")).expect("package.json"))
                    .expect("package.json is JSON");
            let missing = manifest["dependencies"]
                .as_object()
                .expect("dependencies")
                .keys()
                .any(|package| !dir().join("node_modules").join(package).join("package.json").exists());
            if missing {
                assert!(
                    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"])),
                    "npm ci in tests/clients failed"
                );
            }
        }
        let mut command = Command::new("node");
        command.arg(dir().join(script)).current_dir(dir());
        command
    }

    /// A `python` command of `tests/clients/.venv` running `script`, with the pinned packages
    /// installed; panics when they cannot be installed.
    pub fn python(script: &str) -> Command {
        let venv_python = dir().join(".venv/bin/python");
        {
            let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let installed = Command::new(&venv_python)
                .args(["-c", "import gql, websockets"])
                .status()
                .is_ok_and(|status| status.success());
            if !installed {
                assert!(
                    run(Command::new("python3").args(["-m", "venv", ".venv"])),
                    "creating tests/clients/.venv failed"
                );
                assert!(
                    run(Command::new(&venv_python).args(["-m", "pip", "install", "--quiet", "-r", "requirements.txt"])),
                    "installing tests/clients/requirements.txt failed"
                );
            }
        }
        let mut command = Command::new(venv_python);
        command.arg(dir().join(script)).current_dir(dir());
        command
    }
}

/// A GraphQL WebSocket client for tests (graphql-transport-ws unless told otherwise).
pub mod live {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::{Error, Message};

    pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    /// Opens `/graphql/ws` with the given subprotocol and extra headers.
    pub async fn open(addr: std::net::SocketAddr, protocol: &str, headers: &[(&str, &str)]) -> Result<Socket, Error> {
        Ok(tokio_tungstenite::connect_async(request(addr, protocol, headers)?).await?.0)
    }

    fn request(
        addr: std::net::SocketAddr,
        protocol: &str,
        headers: &[(&str, &str)],
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, Error> {
        let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
        request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("header"));
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        Ok(request)
    }

    pub async fn send(socket: &mut Socket, message: Value) {
        socket.send(Message::Text(message.to_string().into())).await.expect("send");
    }

    /// The next JSON message, skipping pings; `Err` with the close code and reason when the
    /// server closes instead; panics after `timeout`.
    pub async fn next(socket: &mut Socket, timeout: Duration) -> Result<Value, (u16, String)> {
        loop {
            let message = tokio::time::timeout(timeout, socket.next()).await.expect("the server answered in time");
            match message {
                Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).expect("json")),
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new())));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err((1006, err.to_string())),
                None => return Err((1006, "closed".into())),
            }
        }
    }

    /// Opens a graphql-transport-ws connection authenticated with `token` and waits for the ack.
    pub async fn connect(addr: std::net::SocketAddr, token: &str) -> Socket {
        let socket = open(addr, "graphql-transport-ws", &[]).await.expect("connect");
        authenticate(socket, token).await
    }

    /// [`connect`] over a socket whose receive buffer is `bytes` (the kernel may round it up):
    /// a client that stops reading then holds the server back after little data, as a stalled
    /// browser tab or a dead network path would after more.
    pub async fn connect_with_receive_buffer(addr: std::net::SocketAddr, token: &str, bytes: u32) -> Socket {
        let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
        tcp.set_recv_buffer_size(bytes).expect("receive buffer");
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(tcp.connect(addr).await.expect("connect"));
        let request = request(addr, "graphql-transport-ws", &[]).expect("request");
        let (socket, _) = tokio_tungstenite::client_async(request, stream).await.expect("upgrade");
        authenticate(socket, token).await
    }

    async fn authenticate(mut socket: Socket, token: &str) -> Socket {
        send(&mut socket, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}))
            .await;
        let ack = next(&mut socket, Duration::from_secs(10)).await.expect("ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        socket
    }

    /// Starts the `notifications` subscription under `id`.
    pub async fn subscribe_notifications(socket: &mut Socket, id: &str, after: Option<&str>) {
        let query = "subscription($after: ID) { notifications(after: $after) { id kind title } }";
        send(
            socket,
            json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": {"after": after}}}),
        )
        .await;
    }

    /// The next `next` payload's notification.
    pub async fn next_notification(socket: &mut Socket) -> Value {
        let message = next(socket, Duration::from_secs(10)).await.expect("a notification");
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"]["notifications"].clone()
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn assert_silent(socket: &mut Socket, wait: Duration) {
        if let Ok(message) = tokio::time::timeout(wait, socket.next()).await {
            panic!("expected silence, got {message:?}");
        }
    }

    pub fn close_code(code: CloseCode) -> u16 {
        u16::from(code)
    }
}

impl TestApp {
    /// Writes notifications for `recipient` through the same path as domain operations (one
    /// transaction, announced on commit); returns their ids.
    pub async fn notify(&self, recipient: Uuid, count: usize) -> Vec<Uuid> {
        let mut ids = Vec::new();
        for _ in 0..count {
            ids.extend(self.notify_at_once(recipient, 1).await);
        }
        ids
    }

    /// Commits `count` notifications for `recipient` in one transaction; their ids in order.
    pub async fn notify_at_once(&self, recipient: Uuid, count: usize) -> Vec<Uuid> {
        use inzage_api::domain::notifications::{self, Links};
        let txn = self.app.db.begin_write().await.expect("transaction");
        for n in 0..count {
            notifications::notify(
                &txn,
                [recipient],
                inzage_entity::NotificationKind::TaskCreated,
                &format!("test notification {n}"),
                Links::default(),
                self.clock_now(),
            );
        }
        txn.commit_notifying().await.expect("commit").into_iter().map(|(_, id)| id).collect()
    }
}

impl TestApp {
    /// Like [`organization`](Self::organization), of the given kind (PARTNER for workflows).
    pub async fn organization_of_kind(&self, name: &str, kind: OrganizationKind) -> (Uuid, Uuid) {
        let slug: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
        let created = accounts::bootstrap(
            &self.app.db,
            self.clock_now(),
            DisplayName::parse(name).expect("name"),
            kind,
            Email::parse(&format!("admin@{slug}.example")).expect("email"),
            DisplayName::parse(&format!("Admin of {name}")).expect("name"),
        )
        .await
        .expect("bootstrap");
        (created.organization.id, created.administrator.id)
    }
}

/// The paths (dot-joined) of a response's errors with `code`.
pub fn paths_with(response: &Value, code: &str) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| e["extensions"]["code"] == code)
                .map(|e| {
                    e["path"]
                        .as_array()
                        .map(|p| p.iter().map(|s| s.to_string().replace('"', "")).collect::<Vec<_>>().join("."))
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}
