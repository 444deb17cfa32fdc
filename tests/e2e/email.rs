//! The e-mail channel against a local SMTP server started by the test: delivery, and retries
//! when the server is down, never failing the operation that queued the message.

use inzage_testkit::on_every_database;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inzage_entity::{EmailStatus, Role, email_outbox};
use inzage_testkit::{Backend, TestApp, data};
use sea_orm::EntityTrait;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use uuid::Uuid;

/// What the sink received: (recipients, message data).
type Received = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// A minimal SMTP server that accepts every message.
async fn smtp_sink(listener: TcpListener) -> Received {
    let received: Received = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut recipients = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if command.starts_with("RCPT TO:") {
                        recipients.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_owned());
                        b"250 OK\r\n"
                    } else if command.starts_with("DATA") {
                        let _ = write.write_all(b"354 go ahead\r\n").await;
                        let mut body = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            body.push_str(&line);
                            body.push('\n');
                        }
                        store.lock().expect("store").push((std::mem::take(&mut recipients), body));
                        b"250 queued\r\n"
                    } else if command.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    received
}

async fn wait_for(received: &Received, count: usize) -> Vec<(Vec<String>, String)> {
    for _ in 0..100 {
        let messages = received.lock().expect("store").clone();
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the SMTP server received no message");
}

async fn break_glass(app: &TestApp) -> Uuid {
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let response = app
        .as_user(
            koen,
            "mutation($c: ID!) { breakGlass(clientId: $c, reason: \"Collapsed at the front desk\") { id } }",
            json!({"c": lotte}),
        )
        .await;
    data(&response);
    lotte
}

async fn outbox(app: &TestApp) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find().all(app.app.db.conn()).await.expect("outbox")
}

/// The outbox once `done` holds for it (the background mailer may be the one that got there).
async fn outbox_when(app: &TestApp, done: impl Fn(&[email_outbox::Model]) -> bool) -> Vec<email_outbox::Model> {
    for _ in 0..100 {
        app.app.mailer.run_due().await.expect("mailer");
        let rows = outbox(app).await;
        if done(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not reach the expected state: {:?}", outbox(app).await);
}

async fn emergency_access_emails_the_client_through_smtp(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    let received = smtp_sink(listener).await;
    let app = TestApp::spawn_with(&backend, |s| s.smtp_url = Some(url)).await;
    break_glass(&app).await;
    outbox_when(&app, |rows| rows.iter().any(|r| r.status == EmailStatus::Sent)).await;
    let messages = wait_for(&received, 1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, vec!["lotte@linde.example".to_owned()]);
    assert!(messages[0].1.contains("Subject: Emergency access to your dossier"), "{}", messages[0].1);
    assert!(!messages[0].1.contains("Collapsed"), "the reason stays in the portal");
}

async fn with_the_smtp_server_down_the_operation_succeeds_and_the_email_is_retried(backend: Backend) {
    let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
    let app = TestApp::spawn_with(&backend, |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    break_glass(&app).await; // succeeds although no mail server answers
    let queued = outbox_when(&app, |rows| rows.iter().any(|r| r.attempts == 1)).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, EmailStatus::Pending);
    assert_eq!(queued[0].attempts, 1);
    assert!(queued[0].last_error.is_some());

    let received = smtp_sink(TcpListener::bind(("127.0.0.1", port)).await.expect("rebind")).await;
    app.clock.advance(chrono::Duration::seconds(10));
    let sent = outbox_when(&app, |rows| rows.iter().any(|r| r.status == EmailStatus::Sent)).await;
    assert_eq!(sent[0].attempts, 2);
    let messages = wait_for(&received, 1).await;
    assert_eq!(messages[0].0, vec!["lotte@linde.example".to_owned()]);
}

async fn without_smtp_the_email_is_logged_and_kept(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    break_glass(&app).await;
    let kept = outbox_when(&app, |rows| rows.iter().all(|r| r.status != EmailStatus::Pending)).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].status, EmailStatus::Logged);
    assert_eq!(kept[0].to_address, "lotte@linde.example");
}

on_every_database!(
    emergency_access_emails_the_client_through_smtp,
    with_the_smtp_server_down_the_operation_succeeds_and_the_email_is_retried,
    without_smtp_the_email_is_logged_and_kept,
);
