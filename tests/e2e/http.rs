//! The HTTP surface: health, readiness, GraphiQL, JSON-only POST, and the request limits.

use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, data, error_code};
use serde_json::json;

async fn healthz_and_readyz_report_up(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let health = app.http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body, json!({ "database": "up", "migrations": "applied", "keys": "loaded" }));
}

async fn readyz_is_red_when_the_database_is_gone(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.app.db.conn().clone().close().await.expect("close the pool");
    let ready = app.http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);
}

async fn graphiql_is_served_on_get_and_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let page = app.http.get(app.url("/graphql")).send().await.expect("graphiql");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("graphiql"), "GraphiQL page");
    assert!(html.contains("/graphql/ws"), "subscriptions endpoint configured");

    let off = TestApp::spawn_with(&backend, |s| s.graphiql = Some(false)).await;
    let page = off.http.get(off.url("/graphql")).send().await.expect("graphiql");
    assert_eq!(page.status(), 404);
}

async fn get_never_runs_an_operation(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    let before = app.count_users().await;
    let mutation =
        r#"mutation { createUser(input: {email: "x@noord.example", displayName: "X", roles: [CLIENT]}) { id } }"#;
    let response = app.http.get(app.url("/graphql")).query(&[("query", mutation)]).send().await.expect("get");
    let body = response.text().await.expect("body");
    assert!(!body.contains("\"data\""), "GET answered an operation: {body}");
    assert_eq!(app.count_users().await, before);
    let _ = org;
}

async fn post_bodies_must_be_json(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let form = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=%7B__typename%7D")
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 415);
    let text = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(text.status(), 415);
}

async fn introspection_is_answered_without_a_token_and_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let response = app.graphql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(data(&response)["__schema"]["queryType"]["name"], "Query");

    let closed = TestApp::spawn_with(&backend, |s| s.introspection = Some(false)).await;
    let response = closed.graphql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert!(response.get("errors").is_some(), "introspection still answered: {response}");
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
}

async fn deep_queries_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.max_depth = 3).await;
    let (_, admin) = app.organization("Oost").await;
    let shallow = app.as_user(admin, "{ viewer { user { displayName } } }", json!({})).await;
    data(&shallow);
    let deep = app.as_user(admin, "{ viewer { user { organization { name } } } }", json!({})).await;
    assert_eq!(error_code(&deep), Some("BAD_USER_INPUT"), "{deep}");
    assert!(deep["data"].is_null());
}

async fn batches_are_capped(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.max_batch = 2).await;
    let one = json!({ "query": "{ __typename }" });
    let ok: serde_json::Value = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([one, one]))
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("json");
    assert_eq!(ok.as_array().map(Vec::len), Some(2), "{ok}");
    let refused: serde_json::Value = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([one, one, one]))
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("json");
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.max_body_bytes = 1024).await;
    let padding = " ".repeat(4096);
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({ "query": format!("{{ __typename {padding} }}") }))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 413);
}

async fn internal_errors_carry_a_request_id_and_no_details(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Zuid").await;
    let token = app.token(admin);
    data(&app.graphql(Some(&token), "{ viewer { roles } }", json!({})).await);
    app.app.db.conn().clone().close().await.expect("close the pool");
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { roles } }" }))
        .send()
        .await
        .expect("request");
    let header_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), Some("INTERNAL_SERVER_ERROR"), "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error");
    let request_id = body["errors"][0]["extensions"]["requestId"].as_str().map(str::to_owned);
    assert!(request_id.is_some(), "{body}");
    assert_eq!(request_id, header_id, "the error names the request id the response header carries");
    let text = body.to_string().to_lowercase();
    for leak in ["sql", "pool", "database", "connection"] {
        assert!(!text.contains(leak), "the client was told about {leak}: {body}");
    }
}

async fn complex_queries_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.max_complexity = 3).await;
    let (_, admin) = app.organization("West").await;
    data(&app.as_user(admin, "{ viewer { roles } }", json!({})).await);
    let complex = app
        .as_user(admin, "{ viewer { roles user { id displayName active email } organization { id name } } }", json!({}))
        .await;
    assert_eq!(error_code(&complex), Some("BAD_USER_INPUT"), "{complex}");
}

on_every_database!(
    healthz_and_readyz_report_up,
    readyz_is_red_when_the_database_is_gone,
    graphiql_is_served_on_get_and_can_be_turned_off,
    get_never_runs_an_operation,
    post_bodies_must_be_json,
    introspection_is_answered_without_a_token_and_can_be_turned_off,
    deep_queries_are_refused,
    batches_are_capped,
    oversized_bodies_are_refused,
    internal_errors_carry_a_request_id_and_no_details,
    complex_queries_are_refused,
);
