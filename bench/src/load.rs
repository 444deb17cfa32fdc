//! `inzage-bench load`: a seeded database, one server, and concurrent portal users over real
//! HTTP. For each scenario it prints throughput, latency percentiles, the SQL statements one
//! request runs (database round trips) and, on Linux, the machine's CPU time per request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use futures_util::future::BoxFuture;
use inzage_api::policy::Decision;
use inzage_entity::{ConsentStatus, consent_request, organization, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::seed::{self, CASELOAD};
use crate::{BenchDatabase, Instance, Result, percentile, shell_quote};

/// The counselor's start page: their caseload with what they act on.
pub const DASHBOARD: &str = "query CounselorDashboard {
  viewer {
    caseload {
      id displayName
      contact { email phone address }
      counselors { id displayName }
      trajectories(status: OPEN) { id title status members { user { id displayName } role } }
      viewerAccess { canReadDossier canWriteDossier expiresAt }
    }
    tasks(status: OPEN) { id kind status trajectory { id title } }
    notifications(unreadOnly: true, first: 20) { nodes { id kind title createdAt } }
  }
}";

/// A client opening their portal.
pub const PORTAL: &str = "query PortalStart($me: ID!) {
  viewer {
    user { id displayName }
    consentRequests(status: PENDING) { id kind status reason requestedAt professional { id displayName } workflow { id name } }
    groups { id name visibility counselors { id displayName } members { id displayName } }
    notifications(unreadOnly: true, first: 20) { nodes { id kind title createdAt } }
  }
  client(id: $me) {
    id displayName contact { email phone }
    dossier(first: 20) { nodes { id kind title createdAt author { id displayName } } }
  }
}";

const ADD_ENTRY: &str = "mutation AddEntry($client: ID!, $input: DossierEntryInput!) {
  addDossierEntry(clientId: $client, input: $input) { id createdAt }
}";

const RESPOND: &str = "mutation Respond($request: ID!, $accept: Boolean!) {
  respondToConsentRequest(requestId: $request, accept: $accept) { id status }
}";

const SEND: &str = "mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { id conversation { id } }
}";

#[derive(Args)]
pub struct LoadArgs {
    /// `postgres://user@host:port/db`. Without `--seeded`, a fresh database is created on that
    /// server (and dropped at the end unless `--keep`). Default: a SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// Clients in the database.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Access-log rows per client written by the seed.
    #[arg(long, default_value_t = 5)]
    audit_per_client: usize,
    /// `--database-url` names a database seeded earlier with the same `--clients` (see `--keep`).
    #[arg(long)]
    seeded: bool,
    /// Keep the database (print its URL) instead of dropping it.
    #[arg(long)]
    keep: bool,
    /// Scenarios, in order: dashboard, guards, portal, writes, accesslog (`none`: only seed).
    #[arg(long, value_delimiter = ',', default_value = "dashboard,guards,portal,writes")]
    scenarios: Vec<String>,
    /// Concurrent users per run; each scenario runs once per value.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    concurrency: Vec<usize>,
    /// Seconds each run measures (after its warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of warm-up before each run (not measured).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Print every statement one dashboard request runs with its time, and on PostgreSQL its
    /// `EXPLAIN ANALYZE`.
    #[arg(long)]
    explain: bool,
    /// Access-log rows to add in bulk before the scenarios (PostgreSQL), spread over the clients
    /// and the last two years: the log of a platform after years.
    #[arg(long, default_value_t = 0)]
    audit_rows: u64,
    /// Server instances on the database (more than one needs PostgreSQL). They run in this
    /// process, each with its own connection pool and port; requests go to them in turn.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Each instance's database connections (`INZAGE_DATABASE_CONNECTIONS`).
    #[arg(long, default_value_t = inzage_api::db::DEFAULT_CONNECTIONS)]
    connections: u32,
    /// The instances' event transport: PostgreSQL `LISTEN/NOTIFY` when unset, or NATS
    /// JetStream at this URL (`nats://127.0.0.1:4222`).
    #[arg(long)]
    event_transport: Option<String>,
    /// The order the write mix answers the pending consent requests in.
    #[arg(long, value_enum, default_value_t = ConsentAnswers::Workflow)]
    consent_answers: ConsentAnswers,
}

/// The order of the write mix's consent answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ConsentAnswers {
    /// Workflow by workflow: the answers of a run all notify the one professional of a workflow
    /// (every write waits for the one before it to commit).
    Workflow,
    /// In turn over the workflows' professionals, as answers from clients who each decide in
    /// their own time arrive.
    Spread,
}

/// The users the scenarios act as.
struct Cast {
    counselors: Vec<(Uuid, String)>,
    /// (id, token, index) of clients with a pending consent request at the start.
    clients: Vec<(Uuid, String, usize)>,
    /// Each client's own counselor (the one who can be messaged).
    counselor_of: HashMap<Uuid, Uuid>,
}

pub async fn bench_load(args: LoadArgs) -> Result<()> {
    let command_line: Vec<String> = std::env::args().map(|arg| shell_quote(&arg)).collect();
    println!("$ {}", command_line.join(" "));
    let scratch = std::env::temp_dir().join(format!("inzage-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch)?;
    let database = if args.seeded {
        let url = args.database_url.clone().ok_or("--seeded needs --database-url")?;
        BenchDatabase { url, postgres: None }
    } else {
        BenchDatabase::create(args.database_url.as_deref(), &keep_dir(&args, &scratch)).await?
    };
    let outcome = tokio::select! {
        outcome = run(&args, &database) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    if args.keep || args.seeded {
        println!("\ndatabase kept: {}", database.url);
    } else {
        database.remove().await;
        let _ = std::fs::remove_dir_all(&scratch);
    }
    outcome
}

/// Where a kept SQLite file goes: the working directory, so that it outlives the run.
fn keep_dir(args: &LoadArgs, scratch: &std::path::Path) -> PathBuf {
    if args.keep { std::env::current_dir().unwrap_or_else(|_| scratch.to_owned()) } else { scratch.to_owned() }
}

async fn run(args: &LoadArgs, database: &BenchDatabase) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let backend = if database.url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" };
    if args.instances == 0 || (args.instances > 1 && backend == "SQLite") {
        return Err("--instances: 1, or more on PostgreSQL".into());
    }
    println!(
        "database: {backend} {} | clients: {} | cores: {cores} (server and load generator share them)",
        inzage_api::app::redact(&database.url),
        args.clients
    );
    let instance = Instance::start_for_load(&database.url, args.connections, args.event_transport.clone()).await?;
    let db = instance.app.db.conn();
    let org = organization::Entity::find()
        .filter(organization::Column::Name.eq(seed::organization_name(args.clients)))
        .one(db)
        .await?;
    match (org, args.seeded) {
        (Some(_), _) => println!("seed: found in the database"),
        (None, true) => {
            return Err(format!("no seeded organisation for {} clients in that database", args.clients).into());
        }
        (None, false) => {
            println!("seed: writing {} clients ({} per caseload) …", args.clients, CASELOAD);
            // The seed dates access-log rows up to a year back: their months must exist.
            let now = chrono::Utc::now();
            inzage_api::retention::ensure_months(&instance.app.db, now - chrono::Duration::days(400), now).await?;
            let seeded = seed::seed(db, args.clients, args.audit_per_client).await?;
            println!(
                "seed: {} rows in {:.1} s ({:.0} rows/s)",
                seeded.rows,
                seeded.seconds,
                seeded.rows as f64 / seeded.seconds.max(f64::EPSILON)
            );
        }
    }
    if backend == "PostgreSQL" {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("ANALYZE").await?;
    }
    if args.audit_rows > 0 {
        println!("bulk access log: adding {} rows …", args.audit_rows);
        bulk_access_log(&instance.app.db, args.audit_rows).await?;
    }
    let cast = Arc::new(cast(&instance, args.clients).await?);
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let mut urls = vec![format!("http://{}/graphql", instance.addr)];
    let mut others = Vec::new();
    for _ in 1..args.instances {
        let other = Instance::start_for_load(&database.url, args.connections, args.event_transport.clone()).await?;
        urls.push(format!("http://{}/graphql", other.addr));
        others.push(other);
    }
    if args.instances > 1 {
        println!(
            "instances: {} (requests go to each in turn), {} database connections each",
            args.instances, args.connections
        );
    }
    let bench = Arc::new(Load { urls, next: AtomicUsize::new(0), http, instance, others });

    for scenario in &args.scenarios {
        match scenario.as_str() {
            "dashboard" => dashboard(&bench, &cast, args).await?,
            "guards" => guards(&bench, &cast, args).await?,
            "portal" => portal(&bench, &cast, args).await?,
            "writes" => writes(&bench, &cast, args).await?,
            "accesslog" => access_log(&bench, &cast, args).await?,
            "none" | "" => {}
            other => return Err(format!("unknown scenario {other}").into()),
        }
    }
    if args.explain {
        explain(&bench, &cast).await?;
    }
    bench.instance.server.abort();
    for other in &bench.others {
        other.server.abort();
    }
    Ok(())
}

/// Finds the counselors and clients the scenarios act as, by their seeded e-mail addresses.
async fn cast(instance: &Instance, clients: usize) -> Result<Cast> {
    let db = instance.app.db.conn();
    let counselors = seed::counselors_for(clients).min(64);
    let emails: Vec<String> = (0..counselors).map(seed::counselor_email).collect();
    let found = users_by_email(db, &emails).await?;
    let counselors: Vec<(Uuid, String)> = emails
        .iter()
        .filter_map(|email| found.get(email))
        .map(|&id| Ok((id, instance.token(id)?)))
        .collect::<Result<_>>()?;
    // Clients with a pending consent request: the even ones (see the seed).
    let indices: Vec<usize> = (0..clients).step_by(2).take(20_000).collect();
    let emails: Vec<String> = indices.iter().map(|&i| seed::client_email(i)).collect();
    let found = users_by_email(db, &emails).await?;
    let mut list = Vec::new();
    let mut counselor_of = HashMap::new();
    for (&i, email) in indices.iter().zip(&emails) {
        if let Some(&id) = found.get(email) {
            list.push((id, instance.token(id)?, i));
            if let Some((counselor, _)) = counselors.get(i / CASELOAD) {
                counselor_of.insert(id, *counselor);
            }
        }
    }
    if counselors.is_empty() || list.is_empty() {
        return Err("the seeded counselors and clients were not found".into());
    }
    Ok(Cast { counselors, clients: list, counselor_of })
}

async fn users_by_email(db: &sea_orm::DatabaseConnection, emails: &[String]) -> Result<HashMap<String, Uuid>> {
    let mut found = HashMap::new();
    for chunk in emails.chunks(1000) {
        for row in user::Entity::find().filter(user::Column::Email.is_in(chunk.iter().cloned())).all(db).await? {
            found.insert(row.email, row.id);
        }
    }
    Ok(found)
}

/// The server and an HTTP client pool.
struct Load {
    /// Each instance's GraphQL endpoint; requests take them in turn.
    urls: Vec<String>,
    next: AtomicUsize,
    http: reqwest::Client,
    /// The first instance (seeding, lookups, statement counts).
    instance: Instance,
    others: Vec<Instance>,
}

impl Load {
    /// Posts one GraphQL request; the data, or why it failed.
    async fn graphql(&self, token: &str, query: &str, variables: Value) -> std::result::Result<Value, String> {
        let url = &self.urls[self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() || body.get("errors").is_some() {
            return Err(format!("{status}: {}", crate::truncate(&body.to_string(), 300)));
        }
        Ok(body["data"].clone())
    }

    /// Statements run by all instances so far.
    fn statements(&self) -> u64 {
        self.instance.app.db.statements_executed()
            + self.others.iter().map(|other| other.app.db.statements_executed()).sum::<u64>()
    }

    /// The statements one request runs alone (the fewest of three tries, so that a scheduler
    /// tick in between is not counted).
    async fn round_trips(&self, token: &str, query: &str, variables: Value) -> Result<u64> {
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = self.statements();
            self.graphql(token, query, variables.clone()).await?;
            fewest = fewest.min(self.statements() - before);
        }
        Ok(fewest)
    }
}

/// One request of a scenario: which kind it was, or why it failed.
type Job = Arc<dyn Fn(usize, usize) -> BoxFuture<'static, std::result::Result<&'static str, String>> + Send + Sync>;

/// Latencies by kind, errors, and the run's length.
struct Measured {
    by_kind: Vec<(&'static str, Vec<f64>)>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    statements: u64,
    /// CPU time every process on the machine spent during the measured seconds (Linux).
    cpu: Option<Duration>,
}

/// CPU time the machine has spent busy since it booted, from `/proc/stat` (Linux; `None`
/// elsewhere): user, nice, system, irq and softirq time of every core, so that the server, the
/// database and the load generator all count.
fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line.split_whitespace().map(|n| n.parse().unwrap_or(0)).collect();
    // user nice system idle iowait irq softirq …; /proc/stat counts in USER_HZ, 100 a second.
    let busy = [0, 1, 2, 5, 6].iter().map(|&i| ticks.get(i).copied().unwrap_or(0)).sum::<u64>();
    Some(Duration::from_millis(busy * 10))
}

/// Runs `job` from `users` concurrent users for the warm-up and then `seconds`.
async fn drive(load: &Load, users: usize, warmup: u64, seconds: u64, job: Job) -> Measured {
    let run = |measure: bool, length: Duration, counter: Arc<AtomicUsize>| {
        let job = job.clone();
        async move {
            let deadline = Instant::now() + length;
            let tasks: Vec<_> = (0..users)
                .map(|user| {
                    let job = job.clone();
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        let mut samples: Vec<(&'static str, f64)> = Vec::new();
                        let mut errors = Vec::new();
                        while Instant::now() < deadline {
                            let n = counter.fetch_add(1, Ordering::Relaxed);
                            let started = Instant::now();
                            match job(user, n).await {
                                Ok(kind) if measure => samples.push((kind, started.elapsed().as_secs_f64() * 1e3)),
                                Ok(_) => {}
                                Err(err) => errors.push(err),
                            }
                        }
                        (samples, errors)
                    })
                })
                .collect();
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            for task in tasks {
                if let Ok((s, e)) = task.await {
                    samples.extend(s);
                    errors.extend(e);
                }
            }
            (samples, errors)
        }
    };
    let counter = Arc::new(AtomicUsize::new(0));
    let _ = run(false, Duration::from_secs(warmup), counter.clone()).await;
    let before = load.statements();
    let busy_before = machine_busy();
    let started = Instant::now();
    let (samples, errors) = run(true, Duration::from_secs(seconds), counter).await;
    let elapsed = started.elapsed();
    let statements = load.statements() - before;
    let cpu = machine_busy().zip(busy_before).map(|(after, before)| after.saturating_sub(before));
    let mut by_kind: Vec<(&'static str, Vec<f64>)> = Vec::new();
    for (kind, ms) in samples {
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.push(ms),
            None => by_kind.push((kind, vec![ms])),
        }
    }
    for (_, list) in &mut by_kind {
        list.sort_by(f64::total_cmp);
    }
    Measured { by_kind, errors: errors.len(), first_error: errors.into_iter().next(), elapsed, statements, cpu }
}

fn print_header() {
    println!(
        "  {:<28} {:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "run", "users", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "stmts/req"
    );
}

/// Prints a row per kind (and the statements per request: alone, and averaged under load).
fn print_measured(label: &str, users: usize, measured: &Measured, alone: &HashMap<&'static str, u64>) {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let total: usize = measured.by_kind.iter().map(|(_, l)| l.len()).sum();
    for (kind, list) in &measured.by_kind {
        let name = if measured.by_kind.len() == 1 { label.to_owned() } else { format!("{label}: {kind}") };
        let per_request = alone.get(kind).map_or_else(|| "-".to_owned(), |n| n.to_string());
        println!(
            "  {:<28} {:>5} {:>8} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
            name,
            users,
            list.len(),
            list.len() as f64 / measured.elapsed.as_secs_f64(),
            ms(percentile(list, 50.0)),
            ms(percentile(list, 90.0)),
            ms(percentile(list, 99.0)),
            ms(list.last().copied()),
            measured.errors,
            per_request,
        );
    }
    if measured.by_kind.len() > 1 {
        println!(
            "  {:<28} {:>5} {:>8} {:>9.1}   (all kinds together)",
            format!("{label}: all"),
            users,
            total,
            total as f64 / measured.elapsed.as_secs_f64()
        );
    }
    if total > 0 {
        println!(
            "  {:<28} statements under load: {:.1} per request (scheduler and listener included)",
            "",
            measured.statements as f64 / total as f64
        );
        if let Some(cpu) = measured.cpu {
            println!(
                "  {:<28} CPU under load: {:.2} ms per request (every process on the machine)",
                "",
                cpu.as_secs_f64() * 1e3 / total as f64
            );
        }
    }
    if let Some(error) = &measured.first_error {
        println!("  first error: {error}");
    }
}

fn dashboard_job(load: &Arc<Load>, cast: &Arc<Cast>) -> Job {
    let load = load.clone();
    let cast = cast.clone();
    Arc::new(move |user, _n| {
        let load = load.clone();
        let cast = cast.clone();
        Box::pin(async move {
            let (_, token) = &cast.counselors[user % cast.counselors.len()];
            let data = load.graphql(token, DASHBOARD, json!({})).await?;
            let caseload = data["viewer"]["caseload"].as_array().map_or(0, Vec::len);
            if caseload == 0 {
                return Err("empty caseload".into());
            }
            Ok("dashboard")
        })
    })
}

async fn dashboard(load: &Arc<Load>, cast: &Arc<Cast>, args: &LoadArgs) -> Result<()> {
    println!("\n[dashboard] counselor start page: caseload ({CASELOAD}) with contact, counselors, open trajectories");
    println!("  with members and access; open tasks; unread notifications. One counselor per user.");
    let (_, token) = &cast.counselors[0];
    let data = load.graphql(token, DASHBOARD, json!({})).await?;
    let caseload = data["viewer"]["caseload"].as_array().map_or(0, Vec::len);
    let bytes = data.to_string().len();
    let trips = load.round_trips(token, DASHBOARD, json!({})).await?;
    println!("  one response: {caseload} clients, {bytes} bytes of data, {trips} SQL statements");
    print_header();
    for &users in &args.concurrency {
        let measured = drive(load, users, args.warmup, args.seconds, dashboard_job(load, cast)).await;
        print_measured("dashboard", users, &measured, &HashMap::from([("dashboard", trips)]));
    }
    Ok(())
}

/// What the guards of one dashboard request cost: every policy decision its `Client` fields
/// ask and the access-log note each makes, timed in-process on the bases the request loads,
/// beside the request's own time. (The policy has no switch to turn it off: this measures the
/// guards themselves, not a server without them.)
async fn guards(load: &Arc<Load>, cast: &Arc<Cast>, args: &LoadArgs) -> Result<()> {
    use inzage_api::access::{self, Listing};
    use inzage_api::audit::{AuditEntry, ReadLog};
    use inzage_api::policy::client as rules;
    use inzage_entity::AuditAction;
    println!("\n[guards] the dashboard's policy decisions and access-log notes, timed in-process");
    let app = &load.instance.app;
    let (counselor, _) = &cast.counselors[0];
    let viewer = inzage_api::auth::load_viewer(app.db.conn(), *counselor).await?.ok_or("no such counselor")?;
    let now = app.clock.now();
    let page = access::page(app.db.conn(), &viewer, now, Listing::Caseload, None, None, 10_000).await?;
    let clients: Vec<access::ClientAccess> =
        access::load_for(app.db.conn(), &viewer, now, page).await?.into_values().collect();
    let note = |log: &ReadLog, client: &access::ClientAccess, object_type: &'static str, decision: Decision| {
        let id = client.client.id;
        log.record(match decision {
            Decision::Allow(basis) => AuditEntry::success(id, AuditAction::Read, object_type)
                .basis(basis, basis.and_then(|b| client.access.grant_for(b))),
            Decision::Deny(_) => AuditEntry::denied(id, AuditAction::Read, object_type),
        });
    };
    let rounds: u32 = 500;
    let started = Instant::now();
    for _ in 0..rounds {
        // What the dashboard's caseload asks of each client, as `graphql::types::client` does.
        let log = ReadLog::new(viewer.clone(), now, String::new());
        for client in &clients {
            let bases = client.access.bases;
            note(&log, client, "Client", rules::find_client(bases));
            note(&log, client, "ContactDetails", rules::read_contact(bases));
            note(&log, client, "Counselors", rules::read_counselors(bases));
            note(&log, client, "Trajectory", rules::read_trajectories(bases));
            std::hint::black_box(rules::trajectory_scope(bases));
            std::hint::black_box((
                rules::read_dossier(bases).is_allowed(),
                rules::write_dossier(bases, rules::EntryTarget::default()).is_allowed(),
                client.access.expires_at(),
            ));
        }
        std::hint::black_box(log);
    }
    let guards = started.elapsed() / rounds;
    let measured = drive(load, 1, args.warmup, args.seconds, dashboard_job(load, cast)).await;
    let mut all: Vec<f64> = measured.by_kind.iter().flat_map(|(_, l)| l.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
    println!(
        "  {} clients: guards {:.1} µs per request; the request {mean:.3} ms (1 user, mean) → guards are {:.2}% of it",
        clients.len(),
        guards.as_secs_f64() * 1e6,
        guards.as_secs_f64() * 1e3 / mean * 100.0,
    );
    Ok(())
}

async fn portal(load: &Arc<Load>, cast: &Arc<Cast>, args: &LoadArgs) -> Result<()> {
    println!("\n[portal] client portal start: own dossier page, pending consent requests, groups, notifications");
    // Clients whose group they may see (the seed's groups 1 and 2 of every 3; see `seed.rs`).
    let clients: Arc<Vec<(Uuid, String, usize)>> =
        Arc::new(cast.clients.iter().filter(|(_, _, i)| seed::group_visible_to_members(*i)).cloned().collect());
    let (me, token, _) = clients.first().ok_or("no client in a visible group")?;
    let data = load.graphql(token, PORTAL, json!({ "me": me })).await?;
    let requests = data["viewer"]["consentRequests"].as_array().map_or(0, Vec::len);
    let groups = data["viewer"]["groups"].as_array().map_or(0, Vec::len);
    let entries = data["client"]["dossier"]["nodes"].as_array().map_or(0, Vec::len);
    let trips = load.round_trips(token, PORTAL, json!({ "me": me })).await?;
    println!(
        "  one response: {requests} pending requests, {groups} groups, {entries} dossier entries, {trips} SQL statements"
    );
    let job: Job = {
        let load = load.clone();
        let clients = clients.clone();
        Arc::new(move |_user, n| {
            let load = load.clone();
            let clients = clients.clone();
            Box::pin(async move {
                let (me, token, _) = &clients[n % clients.len()];
                load.graphql(token, PORTAL, json!({ "me": me })).await?;
                Ok("portal")
            })
        })
    };
    print_header();
    for &users in &args.concurrency {
        let measured = drive(load, users, args.warmup, args.seconds, job.clone()).await;
        print_measured("portal", users, &measured, &HashMap::from([("portal", trips)]));
    }
    Ok(())
}

/// A client's own access log, first page (with the seal over each row).
pub const ACCESS_LOG: &str = "query OwnLog($me: ID!) {
  client(id: $me) {
    accessLog(first: 20) { nodes { id occurredAt action objectTypes basis outcome actor { displayName } seal { sequence } } }
  }
}";

async fn access_log(load: &Arc<Load>, cast: &Arc<Cast>, args: &LoadArgs) -> Result<()> {
    println!("\n[accesslog] a client reads the first page of their own access log");
    let clients = Arc::new(cast.clients.clone());
    let (me, token, _) = clients.first().ok_or("no clients")?;
    let data = load.graphql(token, ACCESS_LOG, json!({ "me": me })).await?;
    let rows = data["client"]["accessLog"]["nodes"].as_array().map_or(0, Vec::len);
    let trips = load.round_trips(token, ACCESS_LOG, json!({ "me": me })).await?;
    println!("  one response: {rows} rows, {trips} SQL statements");
    let job: Job = {
        let load = load.clone();
        Arc::new(move |_user, n| {
            let load = load.clone();
            let clients = clients.clone();
            Box::pin(async move {
                let (me, token, _) = &clients[n % clients.len()];
                load.graphql(token, ACCESS_LOG, json!({ "me": me })).await?;
                Ok("accesslog")
            })
        })
    };
    print_header();
    for &users in &args.concurrency {
        let measured = drive(load, users, args.warmup, args.seconds, job.clone()).await;
        print_measured("accesslog", users, &measured, &HashMap::from([("accesslog", trips)]));
    }
    Ok(())
}

/// Adds `rows` access-log rows in bulk (PostgreSQL, in the server: `generate_series`), spread
/// evenly over the seeded clients and the last two years, oldest first, with UUIDv7 ids made
/// from their time as the server makes them, so that the log is as large as a platform's after
/// years and laid out as years of writes would have left it; then `ANALYZE`. (Written in time
/// order, each month's partition and indexes are filled one after the other, which keeps the
/// load at about the disk's pace instead of the random I/O of scattered months.)
async fn bulk_access_log(db: &inzage_api::db::Database, rows: u64) -> Result<()> {
    use sea_orm::ConnectionTrait;
    if db.backend() != sea_orm::DbBackend::Postgres {
        return Err("--audit-rows needs PostgreSQL".into());
    }
    let now = chrono::Utc::now();
    let first = now - chrono::Duration::days(730);
    inzage_api::retention::ensure_months(db, first - chrono::Duration::days(10), now).await?;
    let started = Instant::now();
    let step_seconds = 730.0 * 86_400.0 / rows as f64;
    let chunk = 2_000_000u64;
    let mut written = 0u64;
    while written < rows {
        let n = chunk.min(rows - written);
        let sql = format!(
            "WITH clients AS (SELECT array_agg(r.user_id) AS ids FROM user_role r WHERE r.role = 'CLIENT') \
             INSERT INTO audit_event (id, occurred_at, actor_id, actor_role, client_id, action, object_type, basis, \
             outcome, request_id, emergency) \
             SELECT (lpad(to_hex(floor(extract(epoch FROM e.t) * 1000)::bigint), 12, '0') || '7' || substr(e.h, 1, 3) \
             || '8' || substr(e.h, 4, 15))::uuid, e.t, ids[(1 + (g.i * 7919) % cardinality(ids))::int], \
             'COUNSELOR', ids[(1 + g.i % cardinality(ids))::int], 'READ', 'Client,ContactDetails,Counselors,Trajectory', \
             'CASELOAD', 'SUCCESS', NULL, false \
             FROM clients, generate_series({from}::bigint, {to}::bigint) AS g(i), \
             LATERAL (SELECT timestamptz '{first}' + make_interval(secs => g.i * {step_seconds}) AS t, \
             md5(g.i::text) AS h) AS e",
            from = written,
            to = written + n - 1,
            first = first.to_rfc3339(),
        );
        db.conn().execute_unprepared(&sql).await?;
        written += n;
        println!("  bulk access log: {written} rows, {:.0} s", started.elapsed().as_secs_f64());
    }
    db.conn().execute_unprepared("ANALYZE audit_event").await?;
    Ok(())
}

/// What the write mix draws on: pending consent requests (each answered once) and the
/// conversation each client started.
struct WriteState {
    pending: Mutex<Vec<(Uuid, String, Uuid)>>,
    conversations: Mutex<HashMap<Uuid, String>>,
}

async fn writes(load: &Arc<Load>, cast: &Arc<Cast>, args: &LoadArgs) -> Result<()> {
    println!("\n[writes] a third each: addDossierEntry (counselor), respondToConsentRequest and sendMessage (client)");
    let db = load.instance.app.db.conn();
    let tokens: HashMap<Uuid, &String> = cast.clients.iter().map(|(id, token, _)| (*id, token)).collect();
    let mut pending = Vec::new();
    for chunk in cast.clients.chunks(1000) {
        let rows = consent_request::Entity::find()
            .filter(consent_request::Column::ClientId.is_in(chunk.iter().map(|(id, _, _)| *id)))
            .filter(consent_request::Column::Status.eq(ConsentStatus::Pending))
            .order_by_asc(consent_request::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            if let Some(token) = tokens.get(&row.client_id) {
                pending.push((row.professional_id, (row.client_id, (*token).clone(), row.id)));
            }
        }
    }
    if args.consent_answers == ConsentAnswers::Spread {
        pending = in_turn_by_professional(pending);
    }
    pending.reverse();
    println!(
        "  {} pending consent requests to answer, {}",
        pending.len(),
        match args.consent_answers {
            ConsentAnswers::Workflow => "workflow by workflow",
            ConsentAnswers::Spread => "in turn over the workflows' professionals",
        }
    );
    let pending = pending.into_iter().map(|(_, request)| request).collect();
    let state = Arc::new(WriteState { pending: Mutex::new(pending), conversations: Mutex::new(HashMap::new()) });

    // Round trips of each kind, alone.
    let mut alone = HashMap::new();
    for kind in ["addDossierEntry", "respondToConsentRequest", "sendMessage"] {
        let before = load.statements();
        write(load, cast, &state, kind, 0, 0).await?;
        let first = load.statements() - before;
        let before = load.statements();
        write(load, cast, &state, kind, 0, 1).await?;
        alone.insert(kind, first.min(load.statements() - before));
    }

    let job: Job = {
        let load = load.clone();
        let cast = cast.clone();
        Arc::new(move |user, n| {
            let load = load.clone();
            let cast = cast.clone();
            let state = state.clone();
            Box::pin(async move {
                let kind = ["addDossierEntry", "respondToConsentRequest", "sendMessage"][n % 3];
                write(&load, &cast, &state, kind, user, n).await.map_err(|e| e.to_string())
            })
        })
    };
    print_header();
    for &users in &args.concurrency {
        let measured = drive(load, users, args.warmup, args.seconds, job.clone()).await;
        print_measured("writes", users, &measured, &alone);
    }
    Ok(())
}

/// `requests` (each with the professional it asks for) reordered so that each professional's
/// next one follows every other professional's, keeping each one's own order.
fn in_turn_by_professional<T>(requests: Vec<(Option<Uuid>, T)>) -> Vec<(Option<Uuid>, T)> {
    let mut queues: Vec<(Option<Uuid>, std::collections::VecDeque<T>)> = Vec::new();
    for (professional, request) in requests {
        match queues.iter_mut().find(|(p, _)| *p == professional) {
            Some((_, queue)) => queue.push_back(request),
            None => queues.push((professional, std::collections::VecDeque::from([request]))),
        }
    }
    let mut in_turn = Vec::new();
    while queues.iter().any(|(_, queue)| !queue.is_empty()) {
        for (professional, queue) in &mut queues {
            if let Some(request) = queue.pop_front() {
                in_turn.push((*professional, request));
            }
        }
    }
    in_turn
}

/// One write of `kind` by the `user`-th concurrent user.
async fn write(
    load: &Load,
    cast: &Cast,
    state: &WriteState,
    kind: &'static str,
    user: usize,
    n: usize,
) -> Result<&'static str> {
    match kind {
        "addDossierEntry" => {
            let k = user % cast.counselors.len();
            let (_, token) = &cast.counselors[k];
            // A client of this counselor's caseload.
            let client = cast
                .clients
                .iter()
                .filter(|(_, _, i)| i / CASELOAD == k)
                .nth(n % (CASELOAD / 2))
                .ok_or("a counselor without clients")?
                .0;
            let input = json!({ "kind": "NOTE", "title": format!("Note {n}"), "body": "Called; all is well." });
            load.graphql(token, ADD_ENTRY, json!({ "client": client, "input": input })).await?;
        }
        "respondToConsentRequest" => {
            let next = state.pending.lock().map_err(|_| "poisoned")?.pop();
            let Some((_, token, request)) = next else { return Err("no pending consent requests left".into()) };
            load.graphql(&token, RESPOND, json!({ "request": request, "accept": n.is_multiple_of(2) })).await?;
        }
        _ => {
            // Clients come in seed order, so the first ones belong to the counselors in the cast.
            let with_counselor = cast.clients.len().min(cast.counselors.len() * CASELOAD / 2).max(1);
            let (me, token, _) = &cast.clients[(user * 7 + n) % with_counselor];
            let conversation = state.conversations.lock().map_err(|_| "poisoned")?.get(me).cloned();
            let input = match conversation {
                Some(id) => json!({ "conversationId": id, "body": format!("Message {n}") }),
                None => {
                    let counselor = cast.counselor_of.get(me).ok_or("a client without a counselor")?;
                    json!({ "recipientIds": [counselor], "body": format!("Message {n}") })
                }
            };
            let data = load.graphql(token, SEND, json!({ "input": input })).await?;
            if let Some(id) = data["sendMessage"]["conversation"]["id"].as_str() {
                state.conversations.lock().map_err(|_| "poisoned")?.insert(*me, id.to_owned());
            }
        }
    }
    Ok(kind)
}

/// `EXPLAIN ANALYZE` of each statement one dashboard request and one portal start run.
async fn explain(load: &Arc<Load>, cast: &Arc<Cast>) -> Result<()> {
    let (_, counselor) = &cast.counselors[0];
    explain_one(load, "one dashboard request", counselor, DASHBOARD, json!({})).await?;
    if let Some((me, client, _)) = cast.clients.first() {
        explain_one(load, "one portal start", client, PORTAL, json!({ "me": me })).await?;
    }
    Ok(())
}

/// `EXPLAIN ANALYZE` (on PostgreSQL) of each statement one request runs, with its time.
async fn explain_one(load: &Arc<Load>, what: &str, token: &str, query: &str, variables: Value) -> Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    println!("\n[explain] the statements of {what}");
    let db = load.instance.app.db.clone();
    db.record_statements(true);
    let started = Instant::now();
    load.graphql(token, query, variables).await?;
    let total = started.elapsed();
    let statements = db.record_statements(false);
    let in_sql: Duration = statements.iter().map(|(_, took)| *took).sum();
    println!(
        "  {} statements took {:.2} ms of the request's {:.2} ms",
        statements.len(),
        in_sql.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
    let postgres = db.backend() == DbBackend::Postgres;
    for (n, (statement, took)) in statements.iter().enumerate() {
        println!("\n  -- statement {} of {}: {:.3} ms", n + 1, statements.len(), took.as_secs_f64() * 1e3);
        println!("  {}", crate::truncate(&statement.sql, 600));
        let verb = statement.sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if !postgres || verb != "SELECT" {
            continue;
        }
        let sql = format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {}", statement.sql);
        let explained = match &statement.values {
            Some(values) => Statement::from_sql_and_values(DbBackend::Postgres, sql, values.0.clone()),
            None => Statement::from_string(DbBackend::Postgres, sql),
        };
        for row in db.conn().query_all_raw(explained).await? {
            let line: String = row.try_get_by_index(0)?;
            println!("    {line}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_answers_take_the_professionals_in_turn_and_keep_each_ones_order() {
        let (a, b, c) = (Some(Uuid::now_v7()), Some(Uuid::now_v7()), None);
        let requests = vec![(a, 1), (a, 2), (a, 3), (b, 4), (b, 5), (c, 6)];
        let in_turn: Vec<i32> = in_turn_by_professional(requests).into_iter().map(|(_, n)| n).collect();
        assert_eq!(in_turn, [1, 4, 6, 2, 5, 3]);
    }
}
