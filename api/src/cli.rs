//! The command line: `serve` (default), `migrate`, `bootstrap`, `token`, `demo`, `export-schema`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Parser;
use inzage_entity::OrganizationKind;
use sea_orm::ActiveEnum;
use tracing_subscriber::EnvFilter;

use crate::app::{App, redact};
use crate::auth::load_keys;
use crate::clock::{Clock, SystemClock};
use crate::config::{AuditCommand, BootstrapArgs, Cli, Command, LogFormat, OrganizationKindArg, Settings, TokenArgs};
use crate::db::Database;
use crate::domain::accounts;
use crate::domain::values::{DisplayName, Email};
use crate::error::ApiError;

/// Parses the command line and runs it; what `src/main.rs` calls.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.settings.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("inzage: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            open_database(&settings).await?;
            println!("migrations applied to {}", redact(&settings.database_url));
            Ok(())
        }
        Command::Bootstrap(args) => bootstrap(&settings, args).await,
        Command::Token(args) => token(&settings, args).await,
        Command::Demo => {
            let db = open_database(&settings).await?;
            crate::demo::load(&db, SystemClock.now()).await.map_err(describe)?;
            println!("demo organisation loaded");
            Ok(())
        }
        Command::Audit(AuditCommand::Seal) => {
            let db = open_database(&settings).await?;
            let mut sealed_any = false;
            while let Some(crate::sealing::Sealed { seal, more }) =
                crate::sealing::seal_at_most(&db, SystemClock.now(), crate::sealing::MOST_ROWS)
                    .await
                    .context("sealing failed")?
            {
                println!("sealed {} rows as seal {}: {}", seal.rows, seal.sequence, hex::encode(&seal.hash));
                sealed_any = true;
                if !more {
                    break;
                }
            }
            if !sealed_any {
                println!("nothing to seal");
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify(args)) => {
            let db = open_database(&settings).await?;
            let exported = match &args.export {
                Some(path) => {
                    crate::sealing::read_export(path).map_err(|e| anyhow::anyhow!("cannot read the export: {e}"))?
                }
                None => Vec::new(),
            };
            let retained_since = chrono::Duration::from_std(settings.audit_retention)
                .ok()
                .and_then(|retention| SystemClock.now().checked_sub_signed(retention));
            let finding = crate::sealing::verify_from(&db, &exported, retained_since, args.rows_from)
                .await
                .context("verifying failed")?;
            println!("{finding}");
            match finding {
                crate::sealing::Finding::Intact { .. } => Ok(()),
                _ => Err(anyhow::anyhow!("the access log does not match its seals")),
            }
        }
        Command::ExportSchema(args) => {
            std::fs::write(&args.output, crate::graphql::sdl())
                .with_context(|| format!("cannot write {}", args.output.display()))?;
            println!("wrote {}", args.output.display());
            Ok(())
        }
    }
}

async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let db = Database::connect_with(&settings.database_url, settings.database_connections)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&settings.database_url)))?;
    db.migrate().await.context("migrating the database failed")?;
    Ok(db)
}

fn describe(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::BadUserInput { field, message } => anyhow::anyhow!("--{field} {message}"),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let app = App::open(settings, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    print_banner(&app, addr).await?;
    crate::http::serve(app, listener, async {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests, closing live connections");
    })
    .await?;
    Ok(())
}

/// Completes on Ctrl-C, or on SIGTERM (what process managers and orchestrators send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Tells a person where to point the browser, and gives them a token per demo account.
async fn print_banner(app: &App, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let base = format!("http://{addr}");
    println!("Inzage is listening on {base}");
    if app.settings.graphiql_enabled() {
        println!("GraphiQL: {base}/graphql");
    }
    let demo = crate::demo::accounts(&app.db).await.map_err(describe)?;
    match (&app.signer, demo.is_empty()) {
        (Some(signer), false) => {
            let ttl = humantime::format_duration(app.settings.demo_token_ttl);
            println!();
            println!("Demo accounts. Tokens are valid for {ttl}; in GraphiQL open Headers and paste");
            println!("  {{\"Authorization\": \"Bearer <token>\"}}");
            println!();
            let now = app.clock.now();
            for account in demo {
                let roles: Vec<String> = account.roles.iter().map(|r| r.to_value()).collect();
                let token = signer.sign(account.id, now, app.settings.demo_token_ttl);
                println!("  {:<28} {:<16} {}", account.email, roles.join(","), token);
            }
            println!();
            println!("More tokens: inzage token EMAIL [--ttl 1h]");
        }
        (None, false) => println!("Demo accounts exist; sign their tokens with your identity provider."),
        _ => {}
    }
    Ok(())
}

async fn bootstrap(settings: &Settings, args: BootstrapArgs) -> anyhow::Result<()> {
    let name = DisplayName::parse(&args.organization).map_err(|e| describe(e.at("organization")))?;
    let email = Email::parse(&args.admin_email).map_err(|e| describe(e.at("admin-email")))?;
    let admin_name = DisplayName::parse(&args.admin_name).map_err(|e| describe(e.at("admin-name")))?;
    let kind = match args.kind {
        OrganizationKindArg::CareProvider => OrganizationKind::CareProvider,
        OrganizationKindArg::Partner => OrganizationKind::Partner,
        OrganizationKindArg::InterventionProvider => OrganizationKind::InterventionProvider,
    };
    let db = open_database(settings).await?;
    let created = accounts::bootstrap(&db, SystemClock.now(), name, kind, email, admin_name).await.map_err(describe)?;
    println!("organization {}", created.organization.id);
    println!("administrator {}", created.administrator.id);
    Ok(())
}

async fn token(settings: &Settings, args: TokenArgs) -> anyhow::Result<()> {
    let email = Email::parse(&args.email).map_err(|e| describe(e.at("email")))?;
    let db = open_database(settings).await?;
    let (_, signer) = load_keys(settings, db.conn()).await.map_err(anyhow::Error::msg)?;
    let Some(signer) = signer else {
        bail!(
            "tokens are signed by your identity provider when INZAGE_JWT_PUBLIC_KEY or INZAGE_JWKS_URL is set; inzage signs only with INZAGE_JWT_SECRET"
        );
    };
    let Some(account) = accounts::find_by_email(db.conn(), &email).await.map_err(describe)? else {
        bail!("no account with e-mail {}", email.as_str());
    };
    if !account.active {
        bail!("the account {} is deactivated", email.as_str());
    }
    println!("{}", signer.sign(account.id, SystemClock.now(), args.ttl));
    Ok(())
}
