//! The `inzage` binary as a new user runs it: `cargo run` on a fresh directory, restarts,
//! `token`, `bootstrap`, `export-schema`, and refusing PostgreSQL without a key.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_inzage");

/// `inzage` with a clean environment (no inherited DATABASE_URL or INZAGE_*), run in `dir`.
fn inzage(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "warn");
    command
}

/// A server started as a user would, and what it printed.
struct Started {
    child: Child,
    address: String,
    lines: Vec<String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Started {
    /// The token printed beside the account with this e-mail.
    fn token_for(&self, email: &str) -> String {
        let line = self.lines.iter().find(|line| line.trim_start().starts_with(email)).expect("a line for the account");
        line.split_whitespace().last().expect("a token").to_owned()
    }
}

/// Starts `inzage` (no subcommand) in `dir` on a free port and reads its banner.
fn start(dir: &Path) -> Started {
    let mut child = inzage(dir)
        .env("INZAGE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.starts_with("More tokens");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let address = lines
        .iter()
        .find_map(|line| line.strip_prefix("GraphiQL: "))
        .unwrap_or_else(|| panic!("no GraphiQL address printed; got {lines:#?}"))
        .to_owned();
    Started { child, address, lines }
}

async fn viewer(address: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(address)
        .bearer_auth(token)
        .json(&json!({ "query": "{ viewer { user { email } roles organization { name } } }" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn cargo_run_prints_a_token_that_works_against_the_printed_address() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start(dir.path());
    assert!(dir.path().join("inzage.db").exists(), "the SQLite database is created in the working directory");
    for email in [
        "admin@delinde.example",
        "secretary@delinde.example",
        "carla@delinde.example",
        "koen@delinde.example",
        "pim@delinde.example",
        "sofie@delinde.example",
        "daan@delinde.example",
        "olga@delinde.example",
        "lotte@delinde.example",
        "gijs@delinde.example",
        "ria@delinde.example",
        "eric@delinde.example",
        "admin@vitaalcheck.example",
        "bram@vitaalcheck.example",
        "eva@vitaalcheck.example",
        "hanna@herstelwerk.example",
    ] {
        let response = viewer(&server.address, &server.token_for(email)).await;
        assert_eq!(response["data"]["viewer"]["user"]["email"], email, "{response}");
    }
    let response = viewer(&server.address, &server.token_for("pim@delinde.example")).await;
    assert_eq!(response["data"]["viewer"]["roles"], json!(["COUNSELOR_PLUS"]));

    // The consent scenario: Bram was granted access, Eva's request is still pending.
    let consents = |token: String| {
        let address = server.address.clone();
        async move {
            reqwest::Client::new()
                .post(&address)
                .bearer_auth(token)
                .json(&json!({ "query": "{ viewer { consentRequests { kind status client { displayName } \
                    workflow { participations { results { title } } } } } }" }))
                .send()
                .await
                .expect("request")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let bram = consents(server.token_for("bram@vitaalcheck.example")).await;
    let request = &bram["data"]["viewer"]["consentRequests"][0];
    assert_eq!(request["status"], "GRANTED", "{bram}");
    assert_eq!(request["client"]["displayName"], "Lotte de Vries", "{bram}");
    assert_eq!(request["workflow"]["participations"][0]["results"][0]["title"], "Vragenlijst energie", "{bram}");
    let eva = consents(server.token_for("eva@vitaalcheck.example")).await;
    assert_eq!(eva["data"]["viewer"]["consentRequests"][0]["status"], "PENDING", "{eva}");
    assert!(eva["data"]["viewer"]["consentRequests"][0]["workflow"]["participations"][0]["results"].is_null(), "{eva}");
    assert_eq!(eva["errors"][0]["extensions"]["code"], "FORBIDDEN", "{eva}");
    // The delegation scenario: Carla has an intervention to confirm, with a program that has an
    // executor and one that has none.
    let carla = reqwest::Client::new()
        .post(&server.address)
        .bearer_auth(server.token_for("carla@delinde.example"))
        .json(&json!({ "query": "{ viewer { tasks(status: OPEN) { kind trajectory { client { displayName } } } \
            providers { programs { name hasEffectiveExecutor } } } }" }))
        .send()
        .await
        .expect("request")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert_eq!(carla["data"]["viewer"]["tasks"][0]["kind"], "CONFIRM_INTERVENTION", "{carla}");
    assert_eq!(carla["data"]["viewer"]["tasks"][0]["trajectory"]["client"]["displayName"], "Milan Jansen", "{carla}");
    let programs = &carla["data"]["viewer"]["providers"][0]["programs"];
    assert_eq!(programs[0]["hasEffectiveExecutor"], true, "{carla}");
    assert_eq!(programs[1]["hasEffectiveExecutor"], false, "{carla}");
    let lotte = consents(server.token_for("lotte@delinde.example")).await;
    assert_eq!(lotte["data"]["viewer"]["consentRequests"].as_array().map(Vec::len), Some(3), "{lotte}");
}

#[tokio::test]
async fn tokens_keep_working_across_restarts_and_from_the_token_command() {
    let dir = tempfile::tempdir().expect("dir");
    let first = start(dir.path());
    let old_token = first.token_for("admin@delinde.example");
    drop(first);

    let second = start(dir.path());
    let response = viewer(&second.address, &old_token).await;
    assert_eq!(response["data"]["viewer"]["user"]["email"], "admin@delinde.example", "{response}");

    let output = inzage(dir.path()).args(["token", "lotte@delinde.example", "--ttl", "5m"]).output().expect("token");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let response = viewer(&second.address, token.trim()).await;
    assert_eq!(response["data"]["viewer"]["roles"], json!(["CLIENT"]), "{response}");

    let unknown = inzage(dir.path()).args(["token", "nobody@delinde.example"]).output().expect("token");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));
}

#[test]
fn postgres_without_a_key_refuses_to_start_and_names_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let output = inzage(dir.path())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        .env("INZAGE_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INZAGE_JWT_SECRET") && stderr.contains("INZAGE_JWT_PUBLIC_KEY"), "{stderr}");
}

#[test]
fn bootstrap_creates_an_organisation_and_refuses_an_existing_email() {
    let dir = tempfile::tempdir().expect("dir");
    let args = [
        "bootstrap",
        "--organization",
        "Huisartsen Oost",
        "--kind",
        "CARE_PROVIDER",
        "--admin-email",
        "beheer@oost.example",
        "--admin-name",
        "Bea Beheer",
    ];
    let output = inzage(dir.path()).env("INZAGE_DEMO", "false").args(args).output().expect("bootstrap");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("organization ")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("administrator ")), "{stdout}");

    let again = inzage(dir.path()).args(args).output().expect("bootstrap again");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let token = inzage(dir.path()).args(["token", "Beheer@Oost.example"]).output().expect("token");
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
}

#[test]
fn export_schema_writes_the_live_schema() {
    let dir = tempfile::tempdir().expect("dir");
    let output = inzage(dir.path()).args(["export-schema", "--output", "out.graphql"]).output().expect("export");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let written = std::fs::read_to_string(dir.path().join("out.graphql")).expect("written");
    assert_eq!(written, inzage_api::graphql::sdl());
}

#[test]
fn help_documents_every_setting_with_its_variable() {
    let output = inzage(Path::new(".")).arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "DATABASE_URL",
        "INZAGE_LISTEN",
        "INZAGE_JWT_SECRET",
        "INZAGE_JWT_PUBLIC_KEY",
        "INZAGE_JWT_ISSUER",
        "INZAGE_JWT_AUDIENCE",
        "INZAGE_DEMO",
        "INZAGE_GRAPHIQL",
        "INZAGE_INTROSPECTION",
        "INZAGE_MAX_DEPTH",
        "INZAGE_MAX_COMPLEXITY",
        "INZAGE_MAX_BATCH",
        "INZAGE_MAX_BODY_BYTES",
    ] {
        assert!(help.contains(variable), "--help does not mention {variable}");
    }
}
