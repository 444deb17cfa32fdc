//! Clients nobody on this project wrote: the reference JavaScript `graphql-ws` client and
//! Python's `gql` subscribe, receive a notification, and complete.
//!
//! Their packages are pinned in `tests/clients/` and installed there on first use (npm, and a
//! Python virtual environment); the tests skip, saying so, only where node or python is missing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use common::{Backend, TestApp};
use inzage_entity::Role;
use serde_json::Value;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Installs are shared by the tests of this binary; one at a time.
static INSTALL: Mutex<()> = Mutex::new(());

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(command: &mut Command) -> bool {
    command.current_dir(clients_dir()).status().is_ok_and(|status| status.success())
}

/// `node` with the pinned packages installed, or `None` where node or npm is missing.
fn node() -> Option<Vec<String>> {
    let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !available("node") || !available("npm") {
        return None;
    }
    if !clients_dir().join("node_modules/graphql-ws").exists() {
        assert!(run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"])), "npm ci in tests/clients failed");
    }
    Some(vec!["node".into(), clients_dir().join("subscribe.mjs").display().to_string()])
}

/// Python with the pinned packages in `tests/clients/.venv`, or `None` where python is missing.
fn python() -> Option<Vec<String>> {
    let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !available("python3") {
        return None;
    }
    let venv_python = clients_dir().join(".venv/bin/python");
    let installed =
        Command::new(&venv_python).args(["-c", "import gql, websockets"]).status().is_ok_and(|status| status.success());
    if !installed {
        assert!(run(Command::new("python3").args(["-m", "venv", ".venv"])), "creating tests/clients/.venv failed");
        assert!(
            run(Command::new(&venv_python).args(["-m", "pip", "install", "--quiet", "-r", "requirements.txt"])),
            "installing tests/clients/requirements.txt failed"
        );
    }
    Some(vec![venv_python.display().to_string(), clients_dir().join("subscribe.py").display().to_string()])
}

/// Runs `client` against the app as a new client account and checks it receives the
/// notification created once it is connected, then completes.
async fn subscribe_receive_complete(app: &TestApp, client: Vec<String>) {
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let url = format!("ws://{}/graphql/ws", app.addr);
    let mut child = Command::new(&client[0])
        .args(&client[1..])
        .args([url.as_str(), app.token(lotte).as_str()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the client starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = sender.send(value);
            }
        }
    });
    let next = || lines.recv_timeout(Duration::from_secs(30)).expect("the client printed in time");

    assert_eq!(next(), serde_json::json!({"connected": true}));
    // The subscribe message follows the acknowledgement; give it a moment to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = app.notify(lotte, 1).await[0];
    let received = next();
    assert_eq!(received["data"]["notifications"]["id"], id.to_string(), "{received}");
    assert_eq!(received["data"]["notifications"]["kind"], "TASK_CREATED");
    assert_eq!(next(), serde_json::json!({"complete": true}));
    let status = child.wait().expect("the client exits");
    assert!(status.success(), "the client exited with {status}");
}

async fn the_reference_javascript_client_subscribes_receives_and_completes(backend: Backend) {
    let Some(client) = tokio::task::spawn_blocking(node).await.expect("install") else {
        return eprintln!("skipped: node and npm are needed for the graphql-ws client");
    };
    let app = TestApp::spawn(&backend).await;
    subscribe_receive_complete(&app, client).await;
}

async fn the_python_gql_client_subscribes_receives_and_completes(backend: Backend) {
    let Some(client) = tokio::task::spawn_blocking(python).await.expect("install") else {
        return eprintln!("skipped: python3 is needed for the gql client");
    };
    let app = TestApp::spawn(&backend).await;
    subscribe_receive_complete(&app, client).await;
}

on_every_database!(
    the_reference_javascript_client_subscribes_receives_and_completes,
    the_python_gql_client_subscribes_receives_and_completes,
);
