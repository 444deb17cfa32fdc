//! Hostile requests, each with its expected refusal, none of which costs a database round trip.
//!
//! Every request here carries a valid token, so a request that got as far as authentication
//! would load the viewer from the database: the statement counter shows it did not. Each test
//! also shows an ordinary request passing on the same server, so the refusals are the limits'
//! doing and not a broken server.

use inzage_api::config::Environment;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

/// Sends `body` as JSON with `token`; returns the HTTP status and the parsed answer.
async fn post(app: &TestApp, token: &str, body: impl std::borrow::Borrow<Value>) -> (u16, Value) {
    let response =
        app.http.post(app.url("/graphql")).bearer_auth(token).json(body.borrow()).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Announces a JSON body of `length` bytes, sends none of it, and reads the answer: what a
/// server that refuses from the headers says before a client could upload megabytes.
async fn announce_body(app: &TestApp, token: &str, length: usize) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n{{\"query\": \"{{ viewer {{ roles }} }} #",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.expect("send the head");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    read.expect("the server answers without waiting for the body").expect("read");
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    // The body may be chunked: the JSON is between the first `{` and the last `}`.
    let json = body.find('{').zip(body.rfind('}')).map_or("null", |(from, to)| &body[from..=to]);
    (status, head.to_ascii_lowercase(), serde_json::from_str(json).unwrap_or(Value::Null))
}

/// Runs `request` and asserts that it ran no SQL statement (in the fewest of three tries, so
/// that the server's background work is not counted as the request's).
async fn without_database<F: std::future::Future<Output = T>, T>(
    app: &TestApp,
    what: &str,
    request: impl FnMut() -> F,
) -> T {
    let (statements, answer) = app.fewest_statements(request).await;
    assert_eq!(statements, 0, "{what} reached the database ({statements} statements)");
    answer
}

/// The `extensions.limit` of the first error.
fn limit(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["limit"].as_str()
}

async fn admin_token(app: &TestApp) -> (Uuid, String) {
    let (_, admin) = app.organization("Harbour").await;
    let token = app.token(admin);
    data(&app.graphql(Some(&token), "{ viewer { user { id } } }", json!({})).await);
    (admin, token)
}

async fn oversized_and_overcomplicated_documents_are_refused_before_any_database_work(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, token) = admin_token(&app).await;

    let aliases: String = (0..101).map(|i| format!("a{i}: user {{ id }} ")).collect();
    let deep = format!("{{ viewer {}id{} }}", "user { organization { ".repeat(25), " } }".repeat(25));
    let duplicated = format!("{{ viewer {{ {} }} }}", "roles ".repeat(500));
    let directives = format!("{{ viewer {} {{ roles }} }}", "@include(if: true) ".repeat(10));
    let roots = format!("{{ {} }}", (0..50).map(|i| format!("v{i}: viewer {{ roles }}")).collect::<Vec<_>>().join(" "));
    let cases = [
        ("101 aliases", format!("{{ viewer {{ {aliases} }} }}"), "aliases"),
        ("depth 50", deep, "depth"),
        ("500 duplicated fields", duplicated, "complexity"),
        ("10 repeated directives", directives, "directives"),
        ("50 root fields", roots, "rootFields"),
    ];
    for (what, query, expected) in cases {
        let (status, answer) = without_database(&app, what, || post(&app, &token, json!({ "query": query }))).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{what}: {answer}");
        assert_eq!(limit(&answer), Some(expected), "{what}: {answer}");
        assert!(answer["data"].is_null(), "{what} ran: {answer}");
    }

    // A fragment that spreads another twice, ten levels deep: a thousand fields from a few lines.
    let mut bomb = String::from("{ viewer { ...F0 } }\nfragment F10 on Viewer { roles }\n");
    for level in 0..10 {
        bomb.push_str(&format!("fragment F{level} on Viewer {{ ...F{n} ...F{n} }}\n", n = level + 1));
    }
    let (_, answer) = without_database(&app, "fragment bomb", || post(&app, &token, json!({ "query": bomb }))).await;
    assert_eq!(limit(&answer), Some("complexity"), "{answer}");

    // A document larger than the document limit, but within the body limit.
    let padded = format!("{{ viewer {{ roles }} }} #{}", "x".repeat(64 * 1024));
    let (_, answer) =
        without_database(&app, "a 64 kB document", || post(&app, &token, json!({ "query": padded }))).await;
    assert_eq!(limit(&answer), Some("documentBytes"), "{answer}");

    // 5 MB: larger than the body limit, refused from its headers before the body is read.
    let (status, head, answer) =
        without_database(&app, "a 5 MB document", || announce_body(&app, &token, 5 * 1024 * 1024)).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&answer), Some("PAYLOAD_TOO_LARGE"), "{answer}");
    // The unread rest of the body makes the connection unusable: the client is told to close it.
    assert!(head.contains("\r\nconnection: close"), "{head}");

    // Brackets nested far past any sensible depth are refused before the parser recurses.
    let brackets = format!("{}{}", "{".repeat(10_000), "}".repeat(10_000));
    let (_, answer) =
        without_database(&app, "10,000 nested brackets", || post(&app, &token, json!({ "query": brackets }))).await;
    assert_eq!(limit(&answer), Some("depth"), "{answer}");

    // A batch of 50 operations.
    let batch: Vec<Value> = (0..50).map(|_| json!({ "query": "{ viewer { roles } }" })).collect();
    let (_, answer) = without_database(&app, "a batch of 50", || post(&app, &token, json!(batch))).await;
    assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");

    // The same server answers an ordinary request.
    data(&post(&app, &token, &json!({ "query": "{ viewer { roles } }" })).await.1);
}

async fn get_never_runs_a_mutation_and_post_takes_only_json(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, token) = admin_token(&app).await;
    let before = app.count_users().await;

    let mutation =
        r#"mutation { createUser(input: {email: "x@harbour.example", displayName: "X", roles: [CLIENT]}) { id } }"#;
    let response = without_database(&app, "a mutation over GET", || {
        app.http.get(app.url("/graphql")).bearer_auth(&token).query(&[("query", mutation)]).send()
    })
    .await
    .expect("get");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let answer: Value = response.json().await.expect("json");
    assert_eq!(error_code(&answer), Some("METHOD_NOT_ALLOWED"), "{answer}");

    for content_type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
        let response = without_database(&app, content_type, || {
            app.http
                .post(app.url("/graphql"))
                .bearer_auth(&token)
                .header("content-type", content_type)
                .body(format!("query={}", mutation))
                .send()
        })
        .await
        .expect("post");
        assert_eq!(response.status(), 415, "{content_type}");
        let answer: Value = response.json().await.expect("json");
        assert_eq!(error_code(&answer), Some("UNSUPPORTED_MEDIA_TYPE"), "{answer}");
    }
    assert_eq!(app.count_users().await, before, "a user was created");

    // GET does run queries, for the viewer of the token.
    let response = app
        .http
        .get(app.url("/graphql"))
        .bearer_auth(&token)
        .query(&[("query", "{ viewer { roles } }")])
        .send()
        .await
        .expect("get");
    let answer: Value = response.json().await.expect("json");
    assert_eq!(data(&answer)["viewer"]["roles"], json!(["ADMINISTRATOR"]));
    // POST with the GraphQL response media type is JSON too.
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("content-type", "application/graphql-response+json")
        .body(json!({ "query": "{ viewer { roles } }" }).to_string())
        .send()
        .await
        .expect("post");
    data(&response.json::<Value>().await.expect("json"));
}

async fn production_mode_hides_the_schema(backend: Backend) {
    let production = TestApp::spawn_with(&backend, |s| s.environment = Environment::Production).await;
    let (_, token) = admin_token(&production).await;
    let introspection = json!({ "query": "{ __schema { queryType { name } } }" });
    let (_, answer) =
        without_database(&production, "introspection", || post(&production, &token, &introspection)).await;
    assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    let typo = json!({ "query": "{ viewer { rols } }" });
    let (_, answer) = post(&production, &token, &typo).await;
    assert!(answer["errors"].is_array(), "{answer}");
    assert!(!answer.to_string().contains("Did you mean"), "a field was suggested in production: {answer}");
    let page = production.http.get(production.url("/graphql")).send().await.expect("graphiql");
    assert_eq!(page.status(), 404, "GraphiQL is off in production");

    // Development answers both, and production can turn introspection back on.
    let development = TestApp::spawn(&backend).await;
    let (_, token) = admin_token(&development).await;
    data(&post(&development, &token, &introspection).await.1);
    let (_, answer) = post(&development, &token, &typo).await;
    assert!(answer.to_string().contains("Did you mean"), "{answer}");
    let reopened = TestApp::spawn_with(&backend, |s| {
        s.environment = Environment::Production;
        s.introspection = Some(true);
    })
    .await;
    let (_, token) = admin_token(&reopened).await;
    data(&post(&reopened, &token, &introspection).await.1);
}

async fn cors_admits_the_configured_origins_only(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.allowed_origins = vec!["https://portal.example".to_owned()]).await;
    let preflight = |origin: &str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://portal.example").await.expect("preflight");
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://portal.example")
    );
    let allowed_headers = headers.get("access-control-allow-headers").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(allowed_headers.contains("authorization"), "{allowed_headers}");

    let refused = preflight("https://evil.example").await.expect("preflight");
    assert!(refused.headers().get("access-control-allow-origin").is_none(), "another origin was admitted");
    // The list adds to the server's own origin: its own pages (GraphiQL) keep working.
    let own = format!("http://{}", app.addr);
    let own_answer = preflight(&own).await.expect("preflight");
    let admitted = own_answer.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok());
    assert_eq!(admitted, Some(own.as_str()));

    // The same list decides who may open subscriptions.
    let upgrade = |origin: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("request");
        request.headers_mut().insert("origin", origin.parse().expect("origin"));
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("protocol"));
        tokio_tungstenite::connect_async(request)
    };
    assert!(upgrade("https://portal.example").await.is_ok());
    assert!(upgrade(&own).await.is_ok(), "the server's own page opens subscriptions");
    assert!(upgrade("https://evil.example").await.is_err());
}

/// Operations over the WebSocket meet the same limits as over HTTP, before they run.
async fn websocket_operations_meet_the_same_limits(backend: Backend) {
    use inzage_testkit::live;
    use std::time::Duration;
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Harbour").await;
    let carla = app.user(org, "carla@harbour.example", &[inzage_entity::Role::Counselor]).await;
    let mut socket = live::connect(app.addr, &app.token(carla)).await;
    let deep = format!(
        "query {{ viewer {{ caseload {{ {}id{} }} }} }}",
        "trajectories { client { ".repeat(8),
        " } }".repeat(8)
    );
    live::send(&mut socket, json!({"id": "deep", "type": "subscribe", "payload": {"query": deep}})).await;
    let refused = live::next(&mut socket, Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(refused["id"], "deep", "{refused}");
    let errors = if refused["type"] == "error" { &refused["payload"] } else { &refused["payload"]["errors"] };
    assert_eq!(errors[0]["extensions"]["limit"], "depth", "{refused}");
    assert!(refused["payload"]["data"].is_null(), "{refused}");

    // An ordinary query on the same socket still runs.
    live::send(&mut socket, json!({"id": "ok", "type": "subscribe", "payload": {"query": "{ viewer { roles } }"}}))
        .await;
    let answered = loop {
        let message = live::next(&mut socket, Duration::from_secs(10)).await.expect("an answer");
        if message["id"] == "ok" {
            break message;
        }
    };
    assert_eq!(answered["payload"]["data"]["viewer"]["roles"], json!(["COUNSELOR"]), "{answered}");
}

on_every_database!(
    websocket_operations_meet_the_same_limits,
    oversized_and_overcomplicated_documents_are_refused_before_any_database_work,
    get_never_runs_a_mutation_and_post_takes_only_json,
    production_mode_hides_the_schema,
    cors_admits_the_configured_origins_only,
);
