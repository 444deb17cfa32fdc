//! `inzage-bench`: load benchmarks of an in-process Inzage server.
//!
//! `inzage-bench load` seeds a database of a chosen size and drives the counselor dashboard,
//! the client portal and a write mix over HTTP (see `load.rs`); `--scenarios none --keep` only
//! seeds, for later runs with `--seeded`.
//!
//! `inzage-bench notifications` starts the server in-process (one instance, or two on one
//! PostgreSQL database), creates client accounts directly, and measures over real WebSockets:
//!
//! 1. commit-to-receipt latency to one subscriber, one notification at a time and back to back;
//! 2. fan-out: many subscribers, each its own account and WebSocket, one notification each;
//! 3. the server's memory per idle subscription. The idle clients run in a child process of this
//!    binary (`inzage-bench idle-clients`), so that only the server's resident memory is measured;
//!    while they are open, scenario 1 runs again.
//!
//! It prints numbers and asserts nothing.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use inzage_api::clock::SystemClock;
use inzage_api::domain::accounts::{self, NewAccount, NewContact};
use inzage_api::domain::notifications::{self, Links};
use inzage_api::domain::values::{DisplayName, Email};
use inzage_api::{App, Settings};
use inzage_entity::{NotificationKind, OrganizationKind, Role};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use uuid::Uuid;

mod load;
mod seed;

/// The allocator of the `inzage` binary, so that the servers measured here allocate as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// What every subscriber asks for: what a portal would show.
const SUBSCRIPTION: &str = "subscription { notifications { id kind title createdAt } }";

#[derive(Parser)]
#[command(name = "inzage-bench", about = "Load benchmarks of an in-process Inzage server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seeds a database of `--clients` clients, then measures the dashboard, the portal and writes.
    Load(load::LoadArgs),
    /// Latency, fan-out and memory per subscription of the `notifications` subscription.
    Notifications(NotificationsArgs),
    /// Opens idle subscriptions and holds them until stdin closes (started by `notifications`).
    #[command(hide = true)]
    IdleClients(IdleClientsArgs),
}

#[derive(Args)]
struct NotificationsArgs {
    /// `postgres://user@host:port/db`: a fresh database `inzage_bench_<uuid>` is created on that
    /// server and dropped at the end. Default: a fresh SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Server instances, in this process. With more than one (PostgreSQL only) the
    /// notifications are committed through the last, and the subscribers connect to the others:
    /// the single subscriber of scenario 1 and the idle ones of scenario 3 to the first, those
    /// of the fan-out to each in turn.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    instances: u8,
    /// Notifications to the single subscriber (scenario 1, in each of its two modes); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Subscribers of the fan-out (scenario 2), each its own account and WebSocket; 0 skips it.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Idle subscriptions of the memory measure (scenario 3), which also repeats scenario 1 while
    /// they are open; 0 skips it.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// WebSocket connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The instances' event transport: PostgreSQL `LISTEN/NOTIFY` when unset, or NATS
    /// JetStream at this URL (`nats://127.0.0.1:4222`).
    #[arg(long)]
    event_transport: Option<String>,
}

#[derive(Args)]
struct IdleClientsArgs {
    /// `ws://host:port/graphql/ws`
    #[arg(long)]
    url: String,
    /// One access token per line; one subscription per token.
    #[arg(long)]
    tokens_file: PathBuf,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let files = raise_open_files_limit();
    let outcome = match cli.command {
        Command::Load(args) => {
            init_logging();
            load::bench_load(args).await
        }
        Command::Notifications(args) => {
            init_logging();
            bench_notifications(args, files).await
        }
        Command::IdleClients(args) => idle_clients(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("inzage-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Server warnings and errors go to stderr (`RUST_LOG` overrides).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

// ---------------------------------------------------------------------------------------------
// The process: open files, resident memory.

/// The open-files limit after trying to raise the soft limit to the hard one.
struct OpenFiles {
    soft: libc::rlim_t,
    problem: Option<String>,
}

fn raise_open_files_limit() -> OpenFiles {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        let problem = format!("could not read the open-files limit: {}", std::io::Error::last_os_error());
        return OpenFiles { soft: 0, problem: Some(problem) };
    }
    // An unlimited hard limit cannot be the soft one for open files; a million is plenty.
    let target = if limit.rlim_max == libc::RLIM_INFINITY { 1 << 20 } else { limit.rlim_max };
    if limit.rlim_cur >= target {
        return OpenFiles { soft: limit.rlim_cur, problem: None };
    }
    let raised = libc::rlimit { rlim_cur: target, rlim_max: limit.rlim_max };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        let problem = format!(
            "could not raise the open-files soft limit from {} to {}: {}",
            limit.rlim_cur,
            target,
            std::io::Error::last_os_error()
        );
        return OpenFiles { soft: limit.rlim_cur, problem: Some(problem) };
    }
    OpenFiles { soft: target, problem: None }
}

/// Resident memory (`VmRSS`) of this process or of `pid`, in KiB.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The database and the servers.

/// The benchmark's database: a SQLite file in the scratch directory, or a PostgreSQL database
/// of its own that is dropped at the end.
struct BenchDatabase {
    url: String,
    /// (the URL it was created through, its name)
    postgres: Option<(String, String)>,
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl BenchDatabase {
    async fn create(requested: Option<&str>, scratch: &Path) -> Result<Self> {
        use sea_orm::ConnectionTrait;
        match requested {
            None => {
                let url = format!("sqlite://{}?mode=rwc", scratch.join("inzage-bench.db").display());
                Ok(Self { url, postgres: None })
            }
            Some(url) if is_postgres(url) => {
                let name = format!("inzage_bench_{}", Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(url).await?;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
                admin.close().await?;
                Ok(Self { url: inzage_testkit::with_database_name(url, &name), postgres: Some((url.to_owned(), name)) })
            }
            Some(url) => {
                Err(format!("--database-url must be a postgres:// URL (or be left out for SQLite), not {url}").into())
            }
        }
    }

    /// Drops the PostgreSQL database (connections still open are ended).
    async fn remove(self) {
        use sea_orm::ConnectionTrait;
        let Some((server_url, name)) = self.postgres else { return };
        match sea_orm::Database::connect(server_url.as_str()).await {
            Ok(admin) => {
                if let Err(err) =
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
                {
                    eprintln!("could not drop the database {name}: {err}");
                }
                let _ = admin.close().await;
            }
            Err(err) => eprintln!("could not connect to drop the database {name}: {err}"),
        }
    }
}

/// One server instance on an ephemeral port.
struct Instance {
    app: Arc<App>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Instance {
    async fn start_with(database_url: &str, adjust: impl FnOnce(&mut Settings)) -> Result<Self> {
        // The settings and the serving of the end-to-end tests, on the system clock.
        let mut settings = inzage_testkit::test_settings(database_url);
        adjust(&mut settings);
        let app = App::open(settings, Arc::new(SystemClock)).await?;
        let (addr, server) = inzage_testkit::serve(app.clone(), std::future::pending()).await;
        Ok(Self { app, addr, server })
    }

    /// An instance for the load scenarios: no per-person rate limits (the scenarios send far
    /// more than a person would), default buffers.
    async fn start_for_load(database_url: &str, connections: u32, event_transport: Option<String>) -> Result<Self> {
        Self::start_with(database_url, |settings| {
            settings.database_connections = connections;
            settings.event_transport = event_transport;
            settings.rate_send_message = inzage_api::config::RateLimit(None);
            settings.rate_consent_response = inzage_api::config::RateLimit(None);
        })
        .await
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    fn open_subscriptions(&self) -> usize {
        self.app.db.hub().open_subscriptions()
    }

    fn token(&self, user: Uuid) -> Result<String> {
        let signer = self.app.signer.as_ref().ok_or("the server has no HS256 signer")?;
        Ok(signer.sign(user, self.app.clock.now(), Duration::from_secs(4 * 3600)))
    }

    /// Waits until this instance holds `expected` notification subscriptions.
    async fn wait_for_subscriptions(&self, expected: usize, timeout: Duration) -> Result<()> {
        wait_for_open(|| self.open_subscriptions(), expected, timeout).await
    }
}

/// Waits until `open()` (subscriptions held) is `expected`, or fails after `timeout`.
async fn wait_for_open(open: impl Fn() -> usize, expected: usize, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let held = open();
        if held == expected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(
                format!("expected {expected} open subscriptions after {timeout:?}, the server holds {held}").into()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What the scenarios share: the subscribers' instances (A, then the others) and the committing
/// one (the last, or A).
struct Bench {
    subscribed: Instance,
    others: Vec<Instance>,
    committing: Option<Instance>,
    organization: Uuid,
    run: String,
    connect_concurrency: usize,
}

impl Bench {
    fn writer(&self) -> &Instance {
        self.committing.as_ref().unwrap_or(&self.subscribed)
    }

    /// The instances subscribers connect to: A first.
    fn subscriber_instances(&self) -> impl Iterator<Item = &Instance> {
        std::iter::once(&self.subscribed).chain(&self.others)
    }

    /// Notification subscriptions open on the subscribers' instances together.
    fn open_subscriptions(&self) -> usize {
        self.subscriber_instances().map(Instance::open_subscriptions).sum()
    }

    /// Waits until the subscribers' instances together hold `expected` subscriptions.
    async fn wait_for_subscriptions(&self, expected: usize, timeout: Duration) -> Result<()> {
        wait_for_open(|| self.open_subscriptions(), expected, timeout).await
    }

    /// Creates `count` CLIENT accounts directly (no policy), 500 per transaction.
    async fn create_clients(&self, label: &str, count: usize) -> Result<Vec<Uuid>> {
        let app = &self.subscribed.app;
        let now = app.clock.now();
        let mut ids = Vec::with_capacity(count);
        for first in (0..count).step_by(500) {
            let txn = app.db.begin_write().await?;
            for n in first..(first + 500).min(count) {
                let new = NewAccount {
                    email: Email::parse(&format!("{label}-{n}@{}.bench.example", self.run)).map_err(|e| e.0)?,
                    display_name: DisplayName::parse(&format!("Bench {label} {n}")).map_err(|e| e.0)?,
                    roles: Role::Client.into(),
                    accepts_delegations: false,
                    contact: NewContact::default(),
                };
                ids.push(accounts::insert_account(&*txn, self.organization, new, now).await?.id);
            }
            txn.commit().await?;
        }
        Ok(ids)
    }

    /// Commits notifications for `recipients` in one transaction through the committing
    /// instance; returns their ids and the instant `commit` returned.
    async fn notify(&self, recipients: &[Uuid], title: &str) -> Result<(Vec<Uuid>, Instant)> {
        let app = &self.writer().app;
        let txn = app.db.begin_write().await?;
        notifications::notify(
            &txn,
            recipients.iter().copied(),
            NotificationKind::TaskCreated,
            title,
            Links::default(),
            app.clock.now(),
        );
        let ids = txn.commit_notifying().await?.into_iter().map(|(_, id)| id).collect();
        let committed = Instant::now();
        Ok((ids, committed))
    }

    /// Opens one subscription per token, the first against instance A and the next against each
    /// subscribers' instance in turn, `connect_concurrency` at a time, and starts a reader for
    /// each; returns the readers, the indices of the tokens that subscribed (in order) and why
    /// the others failed.
    async fn open_subscribers(&self, tokens: &[String], readers: &Readers) -> Subscribers {
        let urls: Vec<String> = self.subscriber_instances().map(Instance::ws_url).collect();
        let mut attempts = futures_util::stream::iter(tokens.iter().enumerate())
            .map(|(index, token)| {
                let url = urls[index % urls.len()].clone();
                async move { (index, subscribe(&url, token).await) }
            })
            .buffer_unordered(self.connect_concurrency.max(1));
        let mut subscribers = Subscribers { handles: Vec::new(), connected: Vec::new(), failures: Vec::new() };
        while let Some((index, result)) = attempts.next().await {
            match result {
                Ok(socket) => {
                    subscribers.handles.push(readers.spawn(index, socket));
                    subscribers.connected.push(index);
                }
                Err(err) => subscribers.failures.push(err.to_string()),
            }
        }
        subscribers.connected.sort_unstable();
        subscribers
    }
}

/// In-process subscribers that were opened.
struct Subscribers {
    handles: Vec<tokio::task::JoinHandle<()>>,
    /// Indices of the tokens that subscribed, ascending.
    connected: Vec<usize>,
    failures: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The WebSocket client.

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` with graphql-transport-ws, authenticates in `connection_init`, waits for
/// the acknowledgement and starts the `notifications` subscription (id "1").
async fn subscribe(url: &str, token: &str) -> Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    // Small client buffers: the clients' memory is not what is measured.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .map_err(|_| "no connection_ack within 30 s")?;
        match message {
            Some(Ok(Message::Text(text))) => match classify(&text) {
                Incoming::Ack => break,
                Incoming::Ping => socket.send(Message::Text(json!({"type": "pong"}).to_string().into())).await?,
                _ => return Err(format!("expected connection_ack, got {text}").into()),
            },
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed before connection_ack: {}", describe_close(frame.as_ref())).into());
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.into()),
            None => return Err("closed before connection_ack".into()),
        }
    }
    let start = json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}});
    socket.send(Message::Text(start.to_string().into())).await?;
    Ok(socket)
}

/// A server message, as the benchmark cares about it.
enum Incoming {
    Ack,
    Ping,
    Notification(Uuid),
    /// Anything else (an error, `complete`, a payload with errors): a problem to report.
    Unexpected,
}

fn classify(text: &str) -> Incoming {
    let Ok(message) = serde_json::from_str::<Value>(text) else { return Incoming::Unexpected };
    match message["type"].as_str() {
        Some("connection_ack") => Incoming::Ack,
        Some("ping") => Incoming::Ping,
        Some("next") if message["payload"].get("errors").is_none() => {
            match message["payload"]["data"]["notifications"]["id"].as_str().map(Uuid::parse_str) {
                Some(Ok(id)) => Incoming::Notification(id),
                _ => Incoming::Unexpected,
            }
        }
        _ => Incoming::Unexpected,
    }
}

fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("{} {}", u16::from(frame.code), frame.reason),
        None => "without a close frame".to_owned(),
    }
}

/// A notification as a subscriber's WebSocket received it.
struct Receipt {
    subscriber: usize,
    id: Uuid,
    at: Instant,
}

/// The readers of the in-process subscribers: every notification they receive goes to one
/// channel, stamped the moment its frame was read; everything else is a problem.
struct Readers {
    receipts: mpsc::UnboundedSender<Receipt>,
    problems: Arc<Mutex<Vec<String>>>,
    stop: watch::Sender<bool>,
}

impl Readers {
    fn new() -> (Self, Collector) {
        let (receipts, incoming) = mpsc::unbounded_channel();
        let (stop, _) = watch::channel(false);
        (Self { receipts, problems: Arc::default(), stop }, Collector { incoming, receipts: Vec::new() })
    }

    fn spawn(&self, subscriber: usize, socket: Socket) -> tokio::task::JoinHandle<()> {
        let receipts = self.receipts.clone();
        let problems = self.problems.clone();
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            let (mut sink, mut stream) = socket.split();
            let problem = |text: String| problems.lock().unwrap_or_else(|p| p.into_inner()).push(text);
            loop {
                tokio::select! {
                    _ = stop.changed() => {
                        let _ = sink.send(Message::Close(None)).await;
                        return;
                    }
                    message = stream.next() => {
                        let at = Instant::now();
                        match message {
                            Some(Ok(Message::Text(text))) => match classify(&text) {
                                Incoming::Notification(id) => {
                                    let _ = receipts.send(Receipt { subscriber, id, at });
                                }
                                Incoming::Ping => {
                                    let pong = Message::Text(json!({"type": "pong"}).to_string().into());
                                    let _ = sink.send(pong).await;
                                }
                                Incoming::Ack | Incoming::Unexpected => {
                                    problem(format!("subscriber {subscriber}: {text}"));
                                }
                            },
                            Some(Ok(Message::Close(frame))) => {
                                problem(format!("subscriber {subscriber}: closed {}", describe_close(frame.as_ref())));
                                return;
                            }
                            Some(Ok(_)) => {}
                            Some(Err(err)) => {
                                problem(format!("subscriber {subscriber}: {err}"));
                                return;
                            }
                            None => {
                                problem(format!("subscriber {subscriber}: the connection ended"));
                                return;
                            }
                        }
                    }
                }
            }
        })
    }

    /// Closes every subscriber's WebSocket and waits for the readers.
    async fn stop(&self, handles: Vec<tokio::task::JoinHandle<()>>) {
        let _ = self.stop.send(true);
        for handle in handles {
            let _ = handle.await;
        }
    }

    fn problems(&self) -> Vec<String> {
        std::mem::take(&mut *self.problems.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Gathers receipts from the readers.
struct Collector {
    incoming: mpsc::UnboundedReceiver<Receipt>,
    receipts: Vec<Receipt>,
}

impl Collector {
    /// Waits until `id` arrives, keeping everything received meanwhile; false after `timeout`.
    async fn wait_for(&mut self, id: Uuid, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while let Ok(Some(receipt)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await {
            let arrived = receipt.id == id;
            self.receipts.push(receipt);
            if arrived {
                return true;
            }
        }
        false
    }

    /// Waits until every id of `expected` arrived or nothing arrived for `quiet`, then listens
    /// `linger` longer for duplicates.
    async fn wait_all(&mut self, expected: &[Uuid], quiet: Duration, linger: Duration) {
        let mut missing: HashSet<Uuid> = expected.iter().copied().collect();
        for receipt in &self.receipts {
            missing.remove(&receipt.id);
        }
        while !missing.is_empty() {
            match tokio::time::timeout(quiet, self.incoming.recv()).await {
                Ok(Some(receipt)) => {
                    missing.remove(&receipt.id);
                    self.receipts.push(receipt);
                }
                _ => break,
            }
        }
        let until = tokio::time::Instant::now() + linger;
        while let Ok(Some(receipt)) = tokio::time::timeout_at(until, self.incoming.recv()).await {
            self.receipts.push(receipt);
        }
    }

    fn take(&mut self) -> Vec<Receipt> {
        std::mem::take(&mut self.receipts)
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// A committed notification: for whom, and when `commit` returned.
#[derive(Clone, Copy)]
struct Sent {
    subscriber: usize,
    id: Uuid,
    committed: Instant,
}

/// One line of a scenario's table.
struct Row {
    label: String,
    sent: usize,
    received: usize,
    lost: usize,
    duplicates: usize,
    /// Receipts of an id that was not sent to that subscriber (someone else's, or unknown).
    misdelivered: usize,
    /// Latencies in milliseconds, sorted.
    latencies: Vec<f64>,
    /// Commits per second while committing.
    commit_rate: f64,
    /// From the first commit to the last receipt.
    all_delivered: Option<Duration>,
}

fn analyse(label: impl Into<String>, sent: &[Sent], receipts: &[Receipt], committing: Duration) -> Row {
    let by_id: HashMap<Uuid, Sent> = sent.iter().map(|s| (s.id, *s)).collect();
    let mut first: HashMap<Uuid, Instant> = HashMap::new();
    let (mut duplicates, mut misdelivered) = (0, 0);
    for receipt in receipts {
        match by_id.get(&receipt.id) {
            Some(s) if s.subscriber == receipt.subscriber => match first.entry(receipt.id) {
                Entry::Occupied(_) => duplicates += 1,
                Entry::Vacant(slot) => {
                    slot.insert(receipt.at);
                }
            },
            _ => misdelivered += 1,
        }
    }
    let mut latencies: Vec<f64> =
        sent.iter().filter_map(|s| first.get(&s.id).map(|&at| signed_ms(s.committed, at))).collect();
    latencies.sort_by(f64::total_cmp);
    let start = sent.iter().map(|s| s.committed).min();
    let last = first.values().copied().max();
    let all_delivered = match (start, last) {
        (Some(start), Some(last)) if first.len() == sent.len() => Some(last.saturating_duration_since(start)),
        _ => None,
    };
    Row {
        label: label.into(),
        sent: sent.len(),
        received: first.len(),
        lost: sent.len() - first.len(),
        duplicates,
        misdelivered,
        latencies,
        commit_rate: sent.len() as f64 / committing.as_secs_f64().max(f64::EPSILON),
        all_delivered,
    }
}

/// `to - from` in milliseconds, negative when `to` came first.
fn signed_ms(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(later) => later.as_secs_f64() * 1e3,
        None => -(from.duration_since(to).as_secs_f64() * 1e3),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn print_rows(rows: &[Row]) {
    let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    println!(
        "  {:<34} {:>6} {:>6} {:>5} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>10}",
        "mode",
        "sent",
        "recv",
        "lost",
        "dup",
        "wrong",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "commits/s",
        "all in ms"
    );
    for row in rows {
        println!(
            "  {:<34} {:>6} {:>6} {:>5} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9.0} {:>10}",
            row.label,
            row.sent,
            row.received,
            row.lost,
            row.duplicates,
            row.misdelivered,
            ms(percentile(&row.latencies, 50.0)),
            ms(percentile(&row.latencies, 90.0)),
            ms(percentile(&row.latencies, 99.0)),
            ms(row.latencies.last().copied()),
            row.commit_rate,
            ms(row.all_delivered.map(|d| d.as_secs_f64() * 1e3)),
        );
    }
    for row in rows {
        let negative = row.latencies.iter().filter(|&&v| v < 0.0).count();
        if negative > 0 {
            println!(
                "  {}: {negative} receipts were read before `commit()` returned to the committing task \
                 (down to {:.2} ms)",
                row.label, row.latencies[0]
            );
        }
    }
}

fn print_problems(problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    println!("  problems reported by the subscribers: {}", problems.len());
    for problem in problems.iter().take(5) {
        println!("    {}", truncate(problem, 300));
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

async fn bench_notifications(args: NotificationsArgs, files: OpenFiles) -> Result<()> {
    if args.instances > 1 && !args.database_url.as_deref().is_some_and(is_postgres) {
        return Err("--instances above 1 needs --database-url postgres://…".into());
    }
    let command_line: Vec<String> = std::env::args().map(|arg| shell_quote(&arg)).collect();
    println!("$ {}", command_line.join(" "));
    let scratch = std::env::temp_dir().join(format!("inzage-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch)?;
    let database = BenchDatabase::create(args.database_url.as_deref(), &scratch).await?;
    let outcome = tokio::select! {
        outcome = run_scenarios(&args, &files, &database, &scratch) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    database.remove().await;
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

async fn run_scenarios(
    args: &NotificationsArgs,
    files: &OpenFiles,
    database: &BenchDatabase,
    scratch: &Path,
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let backend = if database.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    println!(
        "database: {backend} {} | instances: {} | cores: {cores} | events: {}",
        inzage_api::app::redact(&database.url),
        args.instances,
        args.event_transport.as_deref().unwrap_or(if backend == "PostgreSQL" { "LISTEN/NOTIFY" } else { "in process" })
    );
    match &files.problem {
        Some(problem) => println!("open files: {problem} (soft limit {})", files.soft),
        None => println!("open files: soft limit {}", files.soft),
    }
    println!(
        "clients: graphql-transport-ws over tokio-tungstenite, `{SUBSCRIPTION}`; latency = instant the \
         subscriber read the `next` frame minus instant `txn.commit()` returned;\n\
         scenarios 1-2 run their clients in this process, on the server's runtime ({cores} worker threads)"
    );

    let transport = args.event_transport.clone();
    let start = |transport: Option<String>| {
        Instance::start_with(&database.url, move |settings| {
            settings.event_transport = transport;
        })
    };
    let subscribed = start(transport.clone()).await?;
    let mut others = Vec::new();
    for _ in 2..args.instances {
        others.push(start(transport.clone()).await?);
    }
    let committing = if args.instances > 1 { Some(start(transport).await?) } else { None };
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let created = accounts::bootstrap(
        &subscribed.app.db,
        subscribed.app.clock.now(),
        DisplayName::parse(&format!("Bench {run}")).map_err(|e| e.0)?,
        OrganizationKind::CareProvider,
        Email::parse(&format!("admin@{run}.bench.example")).map_err(|e| e.0)?,
        DisplayName::parse("Bench administrator").map_err(|e| e.0)?,
    )
    .await?;
    let bench = Bench {
        subscribed,
        others,
        committing,
        organization: created.organization.id,
        run,
        connect_concurrency: args.connect_concurrency,
    };
    match &bench.committing {
        Some(b) => println!(
            "subscribers' instances: {} | committing instance: {}",
            bench.subscriber_instances().map(|instance| instance.addr.to_string()).collect::<Vec<_>>().join(", "),
            b.addr
        ),
        None => println!("instance: {} (subscribers and commits)", bench.subscribed.addr),
    }

    if args.count > 0 {
        scenario_latency(&bench, args.count).await?;
    }
    if args.subscribers > 0 {
        scenario_fan_out(&bench, args.subscribers).await?;
    }
    if args.idle > 0 {
        if files.soft < args.idle as libc::rlim_t + 1024 {
            println!(
                "\nnote: the open-files limit ({}) is tight for {} idle connections (+ the server's own files)",
                files.soft, args.idle
            );
        }
        scenario_idle(&bench, args.idle, args.count, scratch).await?;
    }

    for instance in bench.subscriber_instances().chain(bench.committing.as_ref()) {
        instance.server.abort();
    }
    Ok(())
}

/// Scenario 1: one subscriber, `count` notifications one at a time, then `count` back to back.
async fn scenario_latency(bench: &Bench, count: usize) -> Result<()> {
    println!("\n[1] commit-to-receipt latency, one subscriber");
    measure_latency(bench, "single", count).await
}

/// Scenario 1's measure, for a new account whose addresses start with `label`.
async fn measure_latency(bench: &Bench, label: &str, count: usize) -> Result<()> {
    let client = bench.create_clients(label, 1).await?[0];
    let token = bench.subscribed.token(client)?;
    let baseline = bench.subscribed.open_subscriptions();
    let (readers, mut collector) = Readers::new();
    let Subscribers { handles, failures, .. } = bench.open_subscribers(std::slice::from_ref(&token), &readers).await;
    if let Some(failure) = failures.first() {
        return Err(format!("the subscriber could not subscribe: {failure}").into());
    }
    bench.subscribed.wait_for_subscriptions(baseline + 1, Duration::from_secs(30)).await?;

    // Warm-up (not counted): connections, prepared statements, the LISTEN path.
    for n in 0..20 {
        let (ids, _) = bench.notify(&[client], &format!("warm-up {n}")).await?;
        if !collector.wait_for(ids[0], Duration::from_secs(10)).await {
            return Err("a warm-up notification did not arrive within 10 s".into());
        }
    }
    collector.take();

    let mut rows = Vec::new();
    // One at a time: the next commit only after the previous notification arrived.
    let mut sent = Vec::with_capacity(count);
    let mut timeouts = 0;
    let started = Instant::now();
    for n in 0..count {
        let (ids, committed) = bench.notify(&[client], &format!("one at a time {n}")).await?;
        sent.push(Sent { subscriber: 0, id: ids[0], committed });
        if !collector.wait_for(ids[0], Duration::from_secs(5)).await {
            timeouts += 1;
            if timeouts >= 5 {
                println!("  one at a time: stopped after {timeouts} notifications did not arrive within 5 s");
                break;
            }
        }
    }
    let committing = started.elapsed();
    let expected: Vec<Uuid> = sent.iter().map(|s| s.id).collect();
    collector.wait_all(&expected, Duration::from_secs(2), Duration::from_millis(300)).await;
    rows.push(analyse("one at a time (wait for each)", &sent, &collector.take(), committing));

    // Back to back: commit after commit, the subscriber reads concurrently.
    let mut sent = Vec::with_capacity(count);
    let started = Instant::now();
    for n in 0..count {
        let (ids, committed) = bench.notify(&[client], &format!("back to back {n}")).await?;
        sent.push(Sent { subscriber: 0, id: ids[0], committed });
    }
    let committing = started.elapsed();
    let expected: Vec<Uuid> = sent.iter().map(|s| s.id).collect();
    collector.wait_all(&expected, Duration::from_secs(10), Duration::from_millis(500)).await;
    rows.push(analyse("back to back", &sent, &collector.take(), committing));

    print_rows(&rows);
    readers.stop(handles).await;
    print_problems(&readers.problems());
    report_unregistered(&bench.subscribed, baseline).await;
    Ok(())
}

/// Scenario 2: `subscribers` subscribers, one notification each.
async fn scenario_fan_out(bench: &Bench, subscribers: usize) -> Result<()> {
    println!("\n[2] fan-out: {subscribers} subscribers, each its own account and WebSocket, one notification each");
    let clients = bench.create_clients("fanout", subscribers).await?;
    let tokens = clients.iter().map(|&id| bench.subscribed.token(id)).collect::<Result<Vec<_>>>()?;
    let baseline = bench.open_subscriptions();
    let (readers, mut collector) = Readers::new();
    let started = Instant::now();
    let Subscribers { handles, connected, failures } = bench.open_subscribers(&tokens, &readers).await;
    let opened = handles.len();
    bench.wait_for_subscriptions(baseline + opened, Duration::from_secs(60)).await?;
    let opening = started.elapsed();
    println!(
        "  opened {opened} subscriptions in {:.2} s ({:.0}/s, {} at a time){}",
        opening.as_secs_f64(),
        opened as f64 / opening.as_secs_f64().max(f64::EPSILON),
        bench.connect_concurrency,
        if failures.is_empty() { String::new() } else { format!("; {} failed: {}", failures.len(), failures[0]) }
    );
    // Only subscribers that are connected are sent to.
    if connected.is_empty() {
        readers.stop(handles).await;
        return Err("subscribers failed to connect; see above".into());
    }

    let mut rows = Vec::new();
    // One transaction per subscriber, back to back.
    let mut sent = Vec::with_capacity(connected.len());
    let started = Instant::now();
    for &subscriber in &connected {
        let (ids, committed) = bench.notify(&[clients[subscriber]], &format!("fan-out {subscriber}")).await?;
        sent.push(Sent { subscriber, id: ids[0], committed });
    }
    let committing = started.elapsed();
    let expected: Vec<Uuid> = sent.iter().map(|s| s.id).collect();
    collector.wait_all(&expected, Duration::from_secs(10), Duration::from_millis(500)).await;
    rows.push(analyse(format!("{} commits, 1 recipient each", sent.len()), &sent, &collector.take(), committing));

    // For comparison: one transaction notifying every subscriber at once.
    let recipients: Vec<Uuid> = connected.iter().map(|&s| clients[s]).collect();
    let started = Instant::now();
    let (ids, committed) = bench.notify(&recipients, "fan-out, one transaction").await?;
    let committing = started.elapsed();
    let sent: Vec<Sent> =
        connected.iter().zip(ids).map(|(&subscriber, id)| Sent { subscriber, id, committed }).collect();
    let expected: Vec<Uuid> = sent.iter().map(|s| s.id).collect();
    collector.wait_all(&expected, Duration::from_secs(10), Duration::from_millis(500)).await;
    let mut row = analyse(format!("1 commit, {} recipients", sent.len()), &sent, &collector.take(), committing);
    row.commit_rate = 1.0 / committing.as_secs_f64().max(f64::EPSILON);
    rows.push(row);

    print_rows(&rows);
    println!("  (\"wrong\": received by a subscriber it was not for; commits/s of the last row: transactions/s)");
    readers.stop(handles).await;
    print_problems(&readers.problems());
    if let Err(err) = bench.wait_for_subscriptions(baseline, Duration::from_secs(10)).await {
        println!("  after the subscribers closed their WebSockets: {err}");
    }
    Ok(())
}

/// Scenario 3: the server's resident memory per idle subscription, clients in a child process.
async fn scenario_idle(bench: &Bench, idle: usize, count: usize, scratch: &Path) -> Result<()> {
    println!("\n[3] memory per idle subscription: {idle} subscriptions from a child process");
    let clients = bench.create_clients("idle", idle).await?;
    let mut tokens = String::new();
    for &id in &clients {
        tokens.push_str(&bench.subscribed.token(id)?);
        tokens.push('\n');
    }
    let tokens_file = scratch.join("idle-tokens.txt");
    std::fs::write(&tokens_file, tokens)?;
    let baseline = bench.subscribed.open_subscriptions();
    drop(clients);

    tokio::time::sleep(Duration::from_secs(1)).await;
    // What the earlier scenarios freed is handed back first, so that it does not mask growth.
    trim_heap();
    let before = rss_kib(None).ok_or("cannot read /proc/self/status")?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("idle-clients")
        .arg("--url")
        .arg(bench.subscribed.ws_url())
        .arg("--tokens-file")
        .arg(&tokens_file)
        .arg("--concurrency")
        .arg(bench.connect_concurrency.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let child_pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().ok_or("no child stdout")?).lines();
    let (mut ready, mut failed) = (0usize, 0usize);
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("progress") => eprintln!("  … {} connections opened", words.next().unwrap_or("?")),
            Some("error") => println!("  first failure in the client process: {}", &line["error ".len()..]),
            Some("ready") => {
                ready = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                failed = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                break;
            }
            _ => eprintln!("  client process: {line}"),
        }
    }
    let registered = bench.subscribed.wait_for_subscriptions(baseline + ready, Duration::from_secs(60)).await;
    let opening = started.elapsed();
    if let Err(err) = &registered {
        println!("  {err}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = bench.subscribed.open_subscriptions() - baseline;
    let after = rss_kib(None).unwrap_or(0);
    let client_rss = child_pid.and_then(|pid| rss_kib(Some(pid)));
    if count > 0 && open > 0 {
        println!("\n[3a] commit-to-receipt latency, one more subscriber, while the {open} idle ones stay open");
        measure_latency(bench, "single-among-idle", count).await?;
        println!("\n[3b] the memory of the {open} idle subscriptions (measured before [3a])");
    }

    // Closing the child's stdin ends the subscriptions.
    drop(child.stdin.take());
    let mut closed_by_server = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix("closed_by_server ") {
            closed_by_server = Some(rest.to_owned());
        }
    }
    let _ = child.wait().await;
    let unregistered = bench.subscribed.wait_for_subscriptions(baseline, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let released = rss_kib(None).unwrap_or(0);
    let trimmed = trim_heap().then(|| rss_kib(None).unwrap_or(0));

    println!(
        "  opened {ready} subscriptions in {:.1} s ({failed} failed); server holds {open} open",
        opening.as_secs_f64()
    );
    let per = |kib: u64| if open == 0 { 0.0 } else { kib as f64 / open as f64 };
    let delta = after.saturating_sub(before);
    println!("  {:<44} {:>12}", "measure (server process only)", "value");
    println!("  {:<44} {:>9} KiB", "RSS before", before);
    println!("  {:<44} {:>9} KiB", format!("RSS with {open} idle subscriptions"), after);
    println!("  {:<44} {:>9} KiB", "difference", delta);
    println!("  {:<44} {:>9.1} KiB", "per open subscription (one WebSocket each)", per(delta));
    println!("  {:<44} {:>9} KiB", "RSS after they closed", released);
    if let Some(trimmed) = trimmed {
        println!("  {:<44} {:>9} KiB", "... and after malloc_trim(0)", trimmed);
    }
    if let Some(client_rss) = client_rss {
        println!(
            "  {:<44} {:>9} KiB ({:.1} KiB per connection, not counted above)",
            "client process RSS (for reference)",
            client_rss,
            per(client_rss)
        );
    }
    if let Some(closed) = closed_by_server {
        println!("  connections the server closed while idle: {closed}");
    }
    if let Err(err) = unregistered {
        println!("  after the clients left: {err}");
    }
    Ok(())
}

/// Hands freed heap memory back to the operating system (glibc), to tell memory still in use
/// from memory the allocator merely keeps; false where that is not available.
fn trim_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases free memory of the allocator.
        unsafe { libc::malloc_trim(0) };
        true
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Says so when the server still holds subscriptions of closed WebSockets after 10 s.
async fn report_unregistered(instance: &Instance, baseline: usize) {
    if let Err(err) = instance.wait_for_subscriptions(baseline, Duration::from_secs(10)).await {
        println!("  after the subscribers closed their WebSockets: {err}");
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

// ---------------------------------------------------------------------------------------------
// The idle clients' process.

/// Opens one idle subscription per token, prints `ready <opened> <failed>`, holds them until
/// stdin closes, then closes them and prints `closed_by_server <count> [<first reason>]`.
async fn idle_clients(args: IdleClientsArgs) -> Result<()> {
    let tokens: Vec<String> =
        std::fs::read_to_string(&args.tokens_file)?.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let (stop, stopped) = watch::channel(false);
    let closed = Arc::new(AtomicUsize::new(0));
    let first_close: Arc<Mutex<Option<String>>> = Arc::default();
    let mut attempts = futures_util::stream::iter(tokens.iter())
        .map(|token| subscribe(&args.url, token))
        .buffer_unordered(args.concurrency.max(1));
    let (mut held, mut failed, mut first_error, mut done) = (Vec::new(), 0usize, None, 0usize);
    while let Some(result) = attempts.next().await {
        done += 1;
        match result {
            Ok(socket) => held.push(tokio::spawn(hold(socket, stopped.clone(), closed.clone(), first_close.clone()))),
            Err(err) => {
                failed += 1;
                first_error.get_or_insert_with(|| err.to_string());
            }
        }
        if done % 1000 == 0 {
            println!("progress {done}");
        }
    }
    if let Some(error) = first_error {
        println!("error {error}");
    }
    println!("ready {} {failed}", held.len());

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(_)) = stdin.next_line().await {}
    let _ = stop.send(true);
    for handle in held {
        let _ = handle.await;
    }
    let reason = first_close.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
    println!("closed_by_server {} {reason}", closed.load(Ordering::Relaxed));
    Ok(())
}

/// Holds one idle subscription: answers pings, notes a close by the server.
async fn hold(
    socket: Socket,
    mut stop: watch::Receiver<bool>,
    closed: Arc<AtomicUsize>,
    first: Arc<Mutex<Option<String>>>,
) {
    let (mut sink, mut stream) = socket.split();
    let note = |reason: String| {
        closed.fetch_add(1, Ordering::Relaxed);
        first.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(reason);
    };
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Incoming::Ping = classify(&text) {
                        let _ = sink.send(Message::Text(json!({"type": "pong"}).to_string().into())).await;
                    }
                }
                Some(Ok(Message::Close(frame))) => return note(describe_close(frame.as_ref())),
                Some(Ok(_)) => {}
                Some(Err(err)) => return note(err.to_string()),
                None => return note("the connection ended".to_owned()),
            }
        }
    }
}
