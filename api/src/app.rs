//! Everything one running instance holds: settings, database, keys, clock and schema.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio_util::sync::CancellationToken;

use crate::auth::{NO_KEY_CONFIGURED, TokenSigner, TokenVerifier, load_keys};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::Database;
use crate::graphql::{AppData, InzageSchema, QueryLimits, build_schema};
use crate::mailer::Mailer;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::scheduler::Scheduler;

/// One instance of the service, ready to serve.
pub struct App {
    pub settings: Settings,
    pub db: Database,
    pub clock: SharedClock,
    pub verifier: TokenVerifier,
    /// Present when an HS256 secret is configured or generated: development tokens.
    pub signer: Option<TokenSigner>,
    pub schema: InzageSchema,
    /// Emits expiry warnings and ends; runs in the background, and can be driven directly.
    pub scheduler: Arc<Scheduler>,
    /// Sends queued e-mail; runs in the background, and can be driven directly.
    pub mailer: Arc<Mailer>,
    pub metrics: Arc<Metrics>,
    /// Limits checked on every operation (HTTP requests are checked before authentication).
    pub limits: QueryLimits,
    /// Cancelled when the instance shuts down: live connections close with 1001.
    pub shutdown: CancellationToken,
    /// Background work that ends with the instance.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl App {
    /// The schema behind the document limits and the operation metrics, for WebSockets.
    pub fn checked_schema(&self) -> crate::graphql::CheckedSchema {
        crate::graphql::CheckedSchema {
            schema: self.schema.clone(),
            limits: self.limits,
            metrics: self.metrics.clone(),
        }
    }

    /// Connects, migrates, loads the keys and, for an empty database with demo data enabled,
    /// the demo organisation.
    pub async fn open(settings: Settings, clock: SharedClock) -> anyhow::Result<Arc<Self>> {
        if (settings.is_postgres() || settings.is_production()) && !settings.token_key_configured() {
            // Refuse before touching the database: production never trusts a generated secret.
            bail!(NO_KEY_CONFIGURED);
        }
        let db = Database::connect_with(&settings.database_url, settings.database_connections)
            .await
            .with_context(|| format!("cannot open the database {}", redact(&settings.database_url)))?;
        db.migrate().await.context("migrating the database failed")?;
        let mut tasks = Vec::new();
        if let Some(url) = &settings.event_transport {
            let context = crate::events::nats::context(url)
                .await
                .map_err(|err| anyhow::anyhow!("cannot use the event transport {}: {err}", redact(url)))?;
            let transport = crate::events::announcer::Transport::Nats(context);
            let (announcer, task) = crate::events::announcer::Announcer::spawn(transport, db.hub().instance());
            db.announce_through(announcer);
            tasks.push(task);
            tasks.push(crate::events::nats::spawn_listener(url.clone(), db.conn().clone(), db.hub().clone()));
        } else if settings.is_postgres() {
            if let Some(changes) = db.hub().track_interest() {
                tasks.push(crate::events::interest::spawn(db.conn().clone(), db.hub().clone(), changes));
            }
            let transport = crate::events::announcer::Transport::Postgres(db.conn().clone());
            let (announcer, task) = crate::events::announcer::Announcer::spawn(transport, db.hub().instance());
            db.announce_through(announcer);
            tasks.push(task);
            tasks.push(crate::events::postgres::spawn_listener(
                settings.database_url.clone(),
                db.conn().clone(),
                db.hub().clone(),
            ));
        }
        let (verifier, signer) = load_keys(&settings, db.conn()).await.map_err(anyhow::Error::msg)?;
        tasks.extend(verifier.spawn_refresh());
        if settings.load_demo() && crate::demo::database_is_empty(&db).await? {
            crate::demo::load(&db, clock.now()).await?;
            tracing::info!("loaded the demo organisation into the empty database");
        }
        let limits = QueryLimits {
            max_depth: settings.max_depth,
            max_complexity: settings.max_complexity,
            max_aliases: settings.max_aliases,
            max_root_fields: settings.max_root_fields,
            max_directives: settings.max_directives,
            max_document_bytes: settings.max_document_bytes,
            introspection: settings.introspection_enabled(),
        };
        let metrics = Metrics::new(&db);
        let rate_limits = Arc::new(RateLimits::new(&settings, &db, clock.clone()));
        let emergency_duration = chrono::Duration::minutes(i64::from(settings.emergency_minutes));
        let data = AppData {
            db: db.clone(),
            clock: clock.clone(),
            emergency_duration,
            rate_limits: rate_limits.clone(),
            live: Arc::new(crate::graphql::LiveLoaders::new(&db)),
        };
        let schema = build_schema(data, limits, settings.field_suggestions_enabled());
        let warning = chrono::Duration::from_std(settings.expiry_warning).unwrap_or(chrono::Duration::hours(24));
        let scheduler = Arc::new(Scheduler::new(db.clone(), clock.clone(), warning, metrics.clone()));
        tasks.push(scheduler.clone().spawn());
        let mailer =
            Arc::new(Mailer::new(db.clone(), clock.clone(), settings.smtp_url.as_deref(), &settings.mail_from)?);
        tasks.push(mailer.clone().spawn());
        // The access log's months from now on must exist before the first request writes to it.
        let (from, to) = crate::retention::months_needed(clock.now());
        crate::retention::ensure_months(&db, from, to).await?;
        tasks.push(crate::retention::spawn(db.clone(), clock.clone(), settings.audit_retention));
        if !settings.audit_seal_interval.is_zero() {
            let export = settings.audit_seal_export.clone();
            tasks.push(crate::sealing::spawn(
                db.clone(),
                clock.clone(),
                settings.audit_seal_interval,
                crate::sealing::MOST_ROWS,
                export,
            ));
        }
        tasks.push(tokio::spawn(async move {
            let period = std::time::Duration::from_secs(60);
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                every.tick().await;
                rate_limits.forget_idle().await;
            }
        }));
        Ok(Arc::new(Self {
            settings,
            db,
            clock,
            verifier,
            signer,
            schema,
            scheduler,
            mailer,
            metrics,
            limits,
            shutdown: CancellationToken::new(),
            tasks,
        }))
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
