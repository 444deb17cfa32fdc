//! Running Inzage in production: per-person rate limits, Prometheus metrics, and graceful
//! shutdown.

use inzage_testkit::on_every_database;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use inzage_api::App;
use inzage_entity::{Role, message};
use inzage_testkit::{Backend, TestApp, TestDatabase, data, error_code, live, test_clock, test_settings};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const SEND: &str = "mutation($to: [ID!], $b: String!) { sendMessage(input: {recipientIds: $to, body: $b}) { id } }";

async fn messages(app: &TestApp) -> u64 {
    message::Entity::find().count(app.app.db.conn()).await.expect("count messages")
}

async fn a_person_who_sends_too_many_messages_is_refused_without_a_write(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.rate_send_message = "3/1h".parse().expect("limit")).await;
    let (org, _) = app.organization("Harbour").await;
    let carla = app.user(org, "carla@harbour.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@harbour.example", &[Role::Counselor]).await;

    for n in 0..3 {
        data(&app.as_user(carla, SEND, json!({"to": [koen], "b": format!("message {n}")})).await);
    }
    let stored = messages(&app).await;
    let refused = app.as_user(carla, SEND, json!({"to": [koen], "b": "one too many"})).await;
    assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
    let retry = refused["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("retryAfterSeconds");
    assert!((60..=1200).contains(&retry), "one message comes back every 20 minutes: {retry}");
    assert!(refused["data"].is_null(), "{refused}");
    assert_eq!(messages(&app).await, stored, "the refused message was written");

    // The limit is per person.
    data(&app.as_user(koen, SEND, json!({"to": [carla], "b": "reply"})).await);
}

/// Two instances behind a load balancer count one person's uses together: the limit is the
/// configured one, not twice it, and it comes back with time on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_limit_holds_across_instances() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let limit = |s: &mut inzage_api::Settings| s.rate_send_message = "3/1h".parse().expect("limit");
    let a = TestApp::spawn_with(&backend, limit).await;
    let b = a.sibling_with(limit).await;
    let (org, _) = a.organization("Harbour").await;
    let carla = a.user(org, "carla@harbour.example", &[Role::Counselor]).await;
    let koen = a.user(org, "koen@harbour.example", &[Role::Counselor]).await;

    data(&a.as_user(carla, SEND, json!({"to": [koen], "b": "one"})).await);
    data(&b.as_user(carla, SEND, json!({"to": [koen], "b": "two"})).await);
    data(&a.as_user(carla, SEND, json!({"to": [koen], "b": "three"})).await);
    let stored = messages(&a).await;
    for (instance, name) in [(&b, "B"), (&a, "A")] {
        let refused = instance.as_user(carla, SEND, json!({"to": [koen], "b": "one too many"})).await;
        assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "instance {name}: {refused}");
        let retry = refused["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("retryAfterSeconds");
        assert!((1100..=1200).contains(&retry), "one message comes back every 20 minutes: {retry}");
    }
    assert_eq!(messages(&a).await, stored, "a refused message was written");
    // Another person's limit is their own.
    data(&b.as_user(koen, SEND, json!({"to": [carla], "b": "reply"})).await);

    // Twenty minutes later one use is back, whichever instance takes it, and only one.
    for instance in [&a, &b] {
        instance.clock.advance(chrono::Duration::seconds(20 * 60 + 1));
    }
    data(&b.as_user(carla, SEND, json!({"to": [koen], "b": "later"})).await);
    let refused = a.as_user(carla, SEND, json!({"to": [koen], "b": "and again"})).await;
    assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
}

/// Many uses at once through two instances: exactly the configured number gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn concurrent_uses_on_two_instances_are_counted_once_each() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let limit = |s: &mut inzage_api::Settings| s.rate_send_message = "5/1h".parse().expect("limit");
    let a = Arc::new(TestApp::spawn_with(&backend, limit).await);
    let b = Arc::new(a.sibling_with(limit).await);
    let (org, _) = a.organization("Harbour").await;
    let carla = a.user(org, "carla@harbour.example", &[Role::Counselor]).await;
    let koen = a.user(org, "koen@harbour.example", &[Role::Counselor]).await;
    let sends: Vec<_> = (0..16)
        .map(|n| {
            let instance = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(
                async move { instance.as_user(carla, SEND, json!({"to": [koen], "b": format!("m{n}")})).await },
            )
        })
        .collect();
    let mut allowed = 0;
    for send in sends {
        let answer = send.await.expect("sent");
        match error_code(&answer) {
            None => allowed += 1,
            Some(code) => assert_eq!(code, "RATE_LIMITED", "{answer}"),
        }
    }
    assert_eq!(allowed, 5, "the burst of five, across both instances");
    assert_eq!(messages(&a).await, 5);
}

/// The value of the sample `name{labels}` (labels as printed), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

async fn metrics_count_operations_by_outcome_and_report_live_state(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.rate_send_message = "1/1h".parse().expect("limit")).await;
    let (org, _) = app.organization("Harbour").await;
    let carla = app.user(org, "carla@harbour.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@harbour.example", &[Role::Counselor]).await;
    data(&app.as_user(carla, SEND, json!({"to": [koen], "b": "hello"})).await);
    app.as_user(carla, SEND, json!({"to": [koen], "b": "again"})).await;
    data(&app.as_user(carla, "{ viewer { roles } }", json!({})).await);
    // Counted under the schema's name, not the alias; refused operations are not counted, so a
    // client cannot make up label values.
    data(&app.as_user(carla, "{ me: viewer { roles } }", json!({})).await);
    app.as_user(carla, "{ madeUpField }", json!({})).await;
    app.as_user(carla, "{ viewer { roles } } query Two { viewer { roles } }", json!({})).await;
    let mut socket = live::connect(app.addr, &app.token(koen)).await;
    live::subscribe_notifications(&mut socket, "1", None).await;
    while app.app.db.hub().open_subscriptions() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.notify(koen, 1).await;
    live::next_notification(&mut socket).await;

    let response = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    let mutation = |outcome: &str| {
        sample(
            &text,
            &format!(r#"inzage_graphql_operations_total{{kind="mutation",field="sendMessage",outcome="{outcome}"}}"#),
        )
    };
    assert_eq!(mutation("ok"), Some(1.0), "{text}");
    assert_eq!(mutation("RATE_LIMITED"), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, r#"inzage_graphql_operations_total{kind="query",field="viewer",outcome="ok"}"#),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("madeUpField") && !text.contains(r#"field="me""#), "{text}");
    let bucket = r#"inzage_graphql_operation_duration_seconds_bucket{le="+Inf",kind="mutation",field="sendMessage"}"#;
    assert_eq!(sample(&text, bucket), Some(2.0), "{text}");
    assert_eq!(sample(&text, "inzage_websocket_connections"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "inzage_subscriptions"), Some(1.0), "{text}");
    assert!(sample(&text, "inzage_notifications_published_total").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "inzage_notifications_delivered_total").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "inzage_db_pool_connections").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "inzage_db_statements_total").is_some_and(|n| n > 0.0), "{text}");
    assert!(text.contains("inzage_scheduler_lag_seconds_bucket"), "{text}");
    assert!(
        sample(&text, r#"inzage_http_requests_total{method="POST",route="/graphql",status="200"}"#)
            .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    // No user ids or tokens in the metrics.
    assert!(!text.contains(&carla.to_string()) && !text.contains(&koen.to_string()));

    drop(socket);
    let closed = async {
        loop {
            let text = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
            if sample(&text, "inzage_subscriptions") == Some(0.0)
                && sample(&text, "inzage_websocket_connections") == Some(0.0)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed).await.expect("the gauges go down when the socket closes");

    let off = TestApp::spawn_with(&backend, |s| s.metrics = false).await;
    assert_eq!(off.http.get(off.url("/metrics")).send().await.expect("metrics").status(), 404);
}

/// On shutdown a request in flight still gets its answer, live sockets are closed with 1001,
/// and new connections are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_closes_sockets_with_1001() {
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let app = App::open(test_settings(&database.url), Arc::new(test_clock())).await.expect("the app starts");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = inzage_testkit::serve(app.clone(), async move {
        let _ = stopped.await;
    })
    .await;

    let created = inzage_api::domain::accounts::bootstrap(
        &app.db,
        Utc::now(),
        inzage_api::domain::values::DisplayName::parse("Harbour").expect("name"),
        inzage_entity::OrganizationKind::CareProvider,
        inzage_api::domain::values::Email::parse("admin@harbour.example").expect("email"),
        inzage_api::domain::values::DisplayName::parse("Admin").expect("name"),
    )
    .await
    .expect("bootstrap");
    let admin = created.administrator.id;
    let token = app.signer.as_ref().expect("signer").sign(admin, Utc::now(), Duration::from_secs(3600));
    let mut socket = live::connect(addr, &token).await;
    live::subscribe_notifications(&mut socket, "1", None).await;

    // Hold SQLite's write gate so that a mutation stays in flight.
    let gate = app.db.begin_write().await.expect("write gate");
    let http = reqwest::Client::new();
    let create =
        r#"mutation { createUser(input: {email: "x@harbour.example", displayName: "X", roles: [CLIENT]}) { id } }"#;
    let in_flight = tokio::spawn({
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.post(format!("http://{addr}/graphql"))
                .bearer_auth(token)
                .json(&json!({ "query": create }))
                .send()
                .await
                .expect("the request in flight is answered")
                .json::<Value>()
                .await
                .expect("json")
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    stop.send(()).expect("signal shutdown");
    let closed = live::next(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(closed.map_err(|(code, _)| code), Err(1001), "the live socket is closed as going away");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(gate);
    let answer = in_flight.await.expect("request task");
    assert!(data(&answer)["createUser"]["id"].is_string(), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("the server stops").expect("task");
    assert!(http.get(format!("http://{addr}/healthz")).send().await.is_err(), "new connections are refused");
}

/// `INZAGE_DATABASE_CONNECTIONS` caps the instance's pool: requests beyond it wait for a
/// connection instead of opening more.
async fn the_pool_holds_no_more_connections_than_configured(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.database_connections = 2).await;
    let most = match app.app.db.backend() {
        sea_orm::DbBackend::Postgres => {
            app.app.db.conn().get_postgres_connection_pool().options().get_max_connections()
        }
        _ => app.app.db.conn().get_sqlite_connection_pool().options().get_max_connections(),
    };
    assert_eq!(most, 2);
    let (org, _) = app.organization("Harbour").await;
    let anna = app.user(org, "anna@harbour.example", &[Role::Client]).await;
    let token = app.token(anna);
    let requests = (0..24).map(|n| {
        let (http, url, token) = (app.http.clone(), app.url("/graphql"), token.clone());
        tokio::spawn(async move {
            let body = json!({ "query": "mutation($n: String!) { createSelfHelpTool(name: $n, content: \"x\") { id } }", "variables": { "n": format!("Tool {n}") } });
            http.post(url).bearer_auth(token).json(&body).send().await.expect("post").json::<Value>().await.expect("json")
        })
    });
    for answer in futures_util::future::join_all(requests).await {
        let answer = answer.expect("request task");
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let text = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let held = sample(&text, "inzage_db_pool_connections").expect("db_pool_connections");
    assert!((1.0..=2.0).contains(&held), "the pool holds {held} connections");
}

on_every_database!(
    a_person_who_sends_too_many_messages_is_refused_without_a_write,
    metrics_count_operations_by_outcome_and_report_live_state,
    the_pool_holds_no_more_connections_than_configured,
);
