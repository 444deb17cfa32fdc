//! All settings, from the command line or the environment (`DATABASE_URL`, `INZAGE_*`).
//! `inzage --help` lists every option with its variable and default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Inzage: who may see what about a client of a care platform, as a GraphQL API.
#[derive(Debug, Clone, Parser)]
#[command(name = "inzage", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

/// What `inzage` does; `serve` when none is given.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Migrate the database and serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an organisation and its first ADMINISTRATOR; prints the new ids.
    Bootstrap(BootstrapArgs),
    /// Print a signed access token for the account with this e-mail (needs an HS256 secret).
    Token(TokenArgs),
    /// Load the demo organisation into the database.
    Demo,
    /// Write the GraphQL schema (SDL) to a file.
    ExportSchema(ExportSchemaArgs),
    /// The access log's seals.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `inzage audit …`
#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Recompute the chain of seals and every sealed row; report the first that does not match
    /// (exit status 1), or that all is intact.
    Verify(VerifyArgs),
    /// Seal what was written since the last seal now, instead of waiting for the interval.
    Seal,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Also compare each seal with its copy in this export file (see `INZAGE_AUDIT_SEAL_EXPORT`),
    /// and report seals exported but missing from the database.
    #[arg(long)]
    pub export: Option<PathBuf>,

    /// Read again only the rows of the seals from this sequence on (every seal is still checked
    /// against the chain): a scheduled job verifies the newest seals after the one it last
    /// verified, and the whole log now and then.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub rows_from: i64,
}

#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// Name of the new organisation.
    #[arg(long)]
    pub organization: String,
    /// Kind of the new organisation.
    #[arg(long, value_enum)]
    pub kind: OrganizationKindArg,
    /// E-mail of its first administrator.
    #[arg(long)]
    pub admin_email: String,
    /// Display name of its first administrator.
    #[arg(long)]
    pub admin_name: String,
}

/// Organisation kinds as written on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganizationKindArg {
    CareProvider,
    Partner,
    InterventionProvider,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// E-mail of the account.
    pub email: String,
    /// How long the token is valid, e.g. `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ExportSchemaArgs {
    /// Where to write the SDL.
    #[arg(long, default_value = "schema.graphql")]
    pub output: PathBuf,
}

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://inzage.db?mode=rwc` (default, a file in the working directory,
    /// created when missing) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://inzage.db?mode=rwc", global = true)]
    pub database_url: String,

    /// Most connections this instance keeps open to the database. Every instance on one
    /// PostgreSQL server adds its own; together they should stay near the server's cores (a few
    /// per core), well below its `max_connections`.
    #[arg(long, env = "INZAGE_DATABASE_CONNECTIONS", default_value_t = crate::db::DEFAULT_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_connections: u32,

    /// Address to listen on. Port 0 picks a free port (the address is printed at start-up).
    #[arg(long, env = "INZAGE_LISTEN", default_value = "127.0.0.1:8000", global = true)]
    pub listen: SocketAddr,

    /// HS256 signing secret for access tokens. Without any key on SQLite, a development secret
    /// is generated once and kept in the database.
    #[arg(long, env = "INZAGE_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// PEM file with the identity provider's public key (RSA for RS256, EC P-256 for ES256).
    #[arg(long, env = "INZAGE_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<PathBuf>,

    /// Key id (`kid`) of the PEM public key: when set, tokens must name it in their header.
    #[arg(long, env = "INZAGE_JWT_KEY_ID", global = true)]
    pub jwt_key_id: Option<String>,

    /// The identity provider's signing keys as a JWK set: an `https://` (or `http://`) URL, a
    /// `file://` URL or a path. Tokens name their key by `kid`.
    #[arg(long, env = "INZAGE_JWKS_URL", hide_env_values = true, global = true)]
    pub jwks_url: Option<String>,

    /// How often the JWK set is fetched again, so keys the identity provider removed stop being
    /// accepted, e.g. `10m`.
    #[arg(long, env = "INZAGE_JWKS_REFRESH", default_value = "10m", value_parser = humantime::parse_duration, global = true)]
    pub jwks_refresh: Duration,

    /// Shortest time between two fetches of the JWK set caused by tokens naming an unknown
    /// `kid`, e.g. `30s`.
    #[arg(long, env = "INZAGE_JWKS_MIN_REFRESH", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub jwks_min_refresh: Duration,

    /// Required `typ` header of tokens, e.g. `at+jwt` (compared case-insensitively; the
    /// `application/` prefix may be present or not). Any type when unset.
    #[arg(long, env = "INZAGE_JWT_TYPE", global = true)]
    pub jwt_type: Option<String>,

    /// Required `iss` claim, when set.
    #[arg(long, env = "INZAGE_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, when set.
    #[arg(long, env = "INZAGE_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed when checking `exp` and `nbf`, in seconds.
    #[arg(long, env = "INZAGE_JWT_LEEWAY_SECONDS", default_value_t = 30, global = true)]
    pub jwt_leeway_seconds: u64,

    /// Load the demo organisation into an empty database at start-up. Default: on for SQLite,
    /// off for PostgreSQL.
    #[arg(long, env = "INZAGE_DEMO", global = true)]
    pub demo: Option<bool>,

    /// `development` or `production`. Production turns GraphiQL, introspection and field
    /// suggestions off unless re-enabled below, and requires a configured token key.
    #[arg(long = "env", env = "INZAGE_ENV", value_enum, default_value_t = Environment::Development, global = true)]
    pub environment: Environment,

    /// Serve GraphiQL on `GET /graphql`. Default: on in development, off in production.
    #[arg(long, env = "INZAGE_GRAPHIQL", global = true)]
    pub graphiql: Option<bool>,

    /// Answer introspection queries. Default: on in development, off in production.
    #[arg(long, env = "INZAGE_INTROSPECTION", global = true)]
    pub introspection: Option<bool>,

    /// Suggest field names ("Did you mean ...?") in validation errors. Default: on in
    /// development, off in production.
    #[arg(long, env = "INZAGE_FIELD_SUGGESTIONS", global = true)]
    pub field_suggestions: Option<bool>,

    /// Deepest field nesting a query may have (a root field is depth 1).
    #[arg(long, env = "INZAGE_MAX_DEPTH", default_value_t = 12, global = true)]
    pub max_depth: usize,

    /// Most fields a query may select, counting every occurrence and every expanded fragment.
    #[arg(long, env = "INZAGE_MAX_COMPLEXITY", default_value_t = 300, global = true)]
    pub max_complexity: usize,

    /// Most aliased fields a query may have.
    #[arg(long, env = "INZAGE_MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,

    /// Most fields at the root of one operation.
    #[arg(long, env = "INZAGE_MAX_ROOT_FIELDS", default_value_t = 20, global = true)]
    pub max_root_fields: usize,

    /// Most directives on one field.
    #[arg(long, env = "INZAGE_MAX_DIRECTIVES", default_value_t = 4, global = true)]
    pub max_directives: usize,

    /// Largest GraphQL document (the `query` text), in bytes.
    #[arg(long, env = "INZAGE_MAX_DOCUMENT_BYTES", default_value_t = 32 * 1024, global = true)]
    pub max_document_bytes: usize,

    /// Most operations one batch request may carry.
    #[arg(long, env = "INZAGE_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "INZAGE_MAX_BODY_BYTES", default_value_t = 256 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Per person: how often `breakGlass` may be used, as `COUNT/PERIOD` (e.g. `5/1h`); `off`
    /// for no limit.
    #[arg(long, env = "INZAGE_RATE_BREAK_GLASS", default_value = "5/1h", global = true)]
    pub rate_break_glass: RateLimit,

    /// Per person: how often `sendMessage` may be used.
    #[arg(long, env = "INZAGE_RATE_SEND_MESSAGE", default_value = "30/1m", global = true)]
    pub rate_send_message: RateLimit,

    /// Per person: how often `respondToConsentRequest` may be used.
    #[arg(long, env = "INZAGE_RATE_CONSENT_RESPONSE", default_value = "30/1m", global = true)]
    pub rate_consent_response: RateLimit,

    /// Per client address: how often `submitRegistration` may be used.
    #[arg(long, env = "INZAGE_RATE_REGISTRATION_ADDRESS", default_value = "5/1h", global = true)]
    pub rate_registration_address: RateLimit,

    /// Per organisation: how often `submitRegistration` may be used for it.
    #[arg(long, env = "INZAGE_RATE_REGISTRATION_ORGANIZATION", default_value = "200/1h", global = true)]
    pub rate_registration_organization: RateLimit,

    /// The request header that names the client's address when Inzage runs behind a load
    /// balancer or proxy (e.g. `x-forwarded-for`; its last entry is taken, the one the proxy
    /// added). Unset: the address of the connection.
    #[arg(long, env = "INZAGE_CLIENT_ADDRESS_HEADER", global = true)]
    pub client_address_header: Option<String>,

    /// How long emergency access ("break the glass") lasts, in minutes.
    #[arg(long, env = "INZAGE_EMERGENCY_MINUTES", default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=10080), global = true)]
    pub emergency_minutes: u32,

    /// How instances tell each other what they committed: PostgreSQL `LISTEN/NOTIFY` when unset
    /// (nothing else to run), or NATS JetStream at this URL, e.g. `nats://127.0.0.1:4222`, for
    /// deployments with many instances.
    #[arg(long, env = "INZAGE_EVENT_TRANSPORT", global = true)]
    pub event_transport: Option<String>,

    /// How long the access log is kept, e.g. `5years` or `400days`. Older rows are removed: on
    /// PostgreSQL whole months (partitions), a day after the month passed it; on SQLite rows.
    #[arg(long, env = "INZAGE_AUDIT_RETENTION", default_value = "5years", value_parser = humantime::parse_duration, global = true)]
    pub audit_retention: Duration,

    /// How often the access log is sealed (see `inzage audit verify`), e.g. `5s`; `0s` turns
    /// sealing off.
    #[arg(long, env = "INZAGE_AUDIT_SEAL_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub audit_seal_interval: Duration,

    /// Where each seal is also written as it is made, out of reach of the database: a file
    /// (`/var/lib/inzage/seals.jsonl`, one JSON object per line) or an `https://` webhook
    /// (each seal POSTed as JSON).
    #[arg(long, env = "INZAGE_AUDIT_SEAL_EXPORT", global = true)]
    pub audit_seal_export: Option<crate::sealing::Export>,

    /// How long before a time-bound access ends its holder is warned, e.g. `24h`.
    #[arg(long, env = "INZAGE_EXPIRY_WARNING", default_value = "24h", value_parser = humantime::parse_duration, global = true)]
    pub expiry_warning: Duration,

    /// SMTP server for e-mail notifications, e.g. `smtp://mail.example:587?tls=required` or
    /// `smtps://user:pass@mail.example`. Without it, e-mails are written to the log.
    #[arg(long, env = "INZAGE_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of e-mail notifications.
    #[arg(long, env = "INZAGE_MAIL_FROM", default_value = "Inzage <no-reply@inzage.localhost>", global = true)]
    pub mail_from: String,

    /// Origins (scheme://host[:port]) whose pages may call the API (CORS) and open
    /// subscriptions, comma-separated; `*` for any. They add to those always allowed: the
    /// server's own host, and in development localhost.
    #[arg(long, env = "INZAGE_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub allowed_origins: Vec<String>,

    /// Seconds a WebSocket may take to send `connection_init` before it is closed (4408).
    #[arg(long, env = "INZAGE_WS_INIT_TIMEOUT_SECONDS", default_value_t = 10, global = true)]
    pub ws_init_timeout_seconds: u64,

    /// Seconds a message to a WebSocket client may wait for the socket before the client is
    /// taken to have stopped reading and is disconnected (4429).
    #[arg(long, env = "INZAGE_WS_SEND_TIMEOUT_SECONDS", default_value_t = 10, global = true)]
    pub ws_send_timeout_seconds: u64,

    /// Lifetime of the demo tokens printed at start-up, e.g. `12h`.
    #[arg(long, env = "INZAGE_DEMO_TOKEN_TTL", default_value = "12h", value_parser = humantime::parse_duration, global = true)]
    pub demo_token_ttl: Duration,

    /// Serve Prometheus metrics on `GET /metrics`.
    #[arg(long, env = "INZAGE_METRICS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub metrics: bool,

    /// On SIGTERM or Ctrl-C, how long in-flight requests may take to finish, e.g. `30s`.
    #[arg(long, env = "INZAGE_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_grace: Duration,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "INZAGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// Where the service runs: development defaults are convenient, production defaults are safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// At most `count` uses per `period`, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit(pub Option<(u32, Duration)>);

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        if value.trim().eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        let (count, period) =
            value.split_once('/').ok_or_else(|| format!("`{value}` is not COUNT/PERIOD, e.g. 5/1h, or off"))?;
        let count: u32 = count.trim().parse().map_err(|_| format!("`{count}` is not a positive count"))?;
        let period = humantime::parse_duration(period.trim()).map_err(|err| format!("`{period}`: {err}"))?;
        if count == 0 || period.is_zero() {
            return Err("count and period must be positive; use `off` for no limit".into());
        }
        Ok(Self(Some((count, period))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Whether a page from `origin` may call the API and open subscriptions. `host` is the
    /// request's `Host`. The server's own origin always may (its GraphiQL, say), and in
    /// development localhost; `INZAGE_ALLOWED_ORIGINS` adds to those.
    pub fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/');
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        let hostname = origin_host.rsplit_once(':').map_or(origin_host, |(name, _)| name);
        let own = host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host));
        let local = !self.is_production() && matches!(hostname, "localhost" | "127.0.0.1" | "[::1]");
        let listed =
            self.allowed_origins.iter().any(|allowed| allowed == "*" || allowed.trim_end_matches('/') == origin);
        own || local || listed
    }

    /// The settings a test or embedding program starts from: defaults, but with this database.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        let mut settings = Cli::parse_from(["inzage"]).settings;
        settings.database_url = database_url.into();
        settings
    }

    /// Whether the database URL points at PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")
    }

    /// Whether this is a production deployment.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Whether GraphiQL is served.
    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or(!self.is_production())
    }

    /// Whether introspection is answered.
    pub fn introspection_enabled(&self) -> bool {
        self.introspection.unwrap_or(!self.is_production())
    }

    /// Whether validation errors suggest field names.
    pub fn field_suggestions_enabled(&self) -> bool {
        self.field_suggestions.unwrap_or(!self.is_production())
    }

    /// Whether a token key is configured (a secret, a public key or a JWK set).
    pub fn token_key_configured(&self) -> bool {
        self.jwt_secret.is_some() || self.jwt_public_key.is_some() || self.jwks_url.is_some()
    }

    /// Whether to load demo data into an empty database.
    pub fn load_demo(&self) -> bool {
        self.demo.unwrap_or(!self.is_postgres())
    }
}
