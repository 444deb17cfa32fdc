//! Clients nobody on this project wrote: the reference JavaScript `graphql-ws` client and
//! Python's `gql` subscribe, receive a notification, and complete.
//!
//! Their packages are pinned in `tests/clients/` and installed there on first use (npm, and a
//! Python virtual environment); where node or python is missing the tests are ignored, saying
//! why. The protocol does not depend on the database: they run on SQLite.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::{Backend, TestApp, clients};
use serde_json::Value;

/// Runs `client` against the app as a new client account and checks it receives the
/// notification created once it is connected, then completes.
async fn subscribe_receive_complete(app: &TestApp, mut client: Command) {
    let (org, _) = app.organization("De Linde").await;
    let lotte = app.user(org, "lotte@linde.example", &[Role::Client]).await;
    let url = format!("ws://{}/graphql/ws", app.addr);
    let mut child = client
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(node_clients), ignore = "needs node and npm for the graphql-ws client")]
async fn the_reference_javascript_client_subscribes_receives_and_completes() {
    let client = tokio::task::spawn_blocking(|| clients::node("subscribe.mjs")).await.expect("install");
    let app = TestApp::spawn(&Backend::Sqlite).await;
    subscribe_receive_complete(&app, client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(python_clients), ignore = "needs python3 for the gql client")]
async fn the_python_gql_client_subscribes_receives_and_completes() {
    let client = tokio::task::spawn_blocking(|| clients::python("subscribe.py")).await.expect("install");
    let app = TestApp::spawn(&Backend::Sqlite).await;
    subscribe_receive_complete(&app, client).await;
}
