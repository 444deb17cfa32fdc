//! GraphiQL without the internet: the page and everything it loads come from the server itself,
//! and a real browser (headless Chromium, driven from node by `playwright-core`) runs a query
//! and a subscription on it with every other host blocked.
//!
//! The browser test needs node and a Chromium (Debian's `chromium`, or the one named by
//! `INZAGE_TEST_CHROMIUM`); where either is missing it is ignored, saying why. Screenshots go to
//! `target/browser/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use inzage_entity::Role;
use inzage_testkit::{Backend, TestApp, clients, data};
use reqwest::Url;
use serde_json::{Value, json};

/// The values of the page's `src` and `href` attributes.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=", "href="] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            // Only whole attribute names (`src=`, not `data-src=`).
            let whole = rest[..start].ends_with(|c: char| c.is_ascii_whitespace());
            rest = &rest[start + attribute.len()..];
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                panic!("an unquoted {attribute} in the page");
            };
            let end = rest[1..].find(quote).expect("a closing quote") + 1;
            if whole {
                found.push(rest[1..end].to_owned());
            }
            rest = &rest[end..];
        }
    }
    found
}

/// Every `/graphql/assets/<file>` the page names, in attributes or not (its licences are named
/// in a comment).
fn named_assets(html: &str) -> Vec<String> {
    let mut names: Vec<String> = html
        .match_indices("/graphql/assets/")
        .map(|(at, prefix)| {
            let rest = &html[at + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "-._".contains(c))).unwrap_or(rest.len());
            rest[..end].trim_end_matches('.').to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The media type a file's name calls for.
fn expected_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        _ => "text/plain",
    }
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_and_everything_it_loads_come_from_the_server() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let page_url = Url::parse(&app.url("/graphql")).expect("url");
    let page = app.http.get(page_url.clone()).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(content_type(&page).starts_with("text/html"), "{}", content_type(&page));
    let html = page.text().await.expect("text");
    assert!(html.contains("<title>Inzage · GraphiQL</title>") && html.contains(r#"<div id="graphiql">"#), "{html}");
    assert!(html.contains("React.createElement(GraphiQL"), "{html}");

    // No other server, anywhere in the page.
    for needle in ["http://", "https://"] {
        assert!(!html.contains(needle), "the page names {needle}");
    }
    let references = references(&html);
    assert!(references.len() >= 5, "{references:?}");
    for reference in &references {
        assert!(!reference.contains("//"), "{reference} is not a path of this server");
        let url = page_url.join(reference).expect("a URL");
        assert!(url.scheme() == "data" || url.origin() == page_url.origin(), "{reference} leaves the server");
    }
    let loaded: Vec<&String> = references.iter().filter(|r| !r.starts_with("data:")).collect();
    assert_eq!(loaded.iter().filter(|r| r.ends_with(".js")).count(), 4, "{loaded:?}");
    assert_eq!(loaded.iter().filter(|r| r.ends_with(".css")).count(), 1, "{loaded:?}");

    // Each is served, as what it is, for good.
    let named = named_assets(&html);
    for reference in &loaded {
        let name = reference.strip_prefix("/graphql/assets/").expect("an asset");
        assert!(named.iter().any(|n| n == name), "{name} in {named:?}");
    }
    assert_eq!(named.iter().filter(|n| n.ends_with(".LICENSE")).count(), 4, "{named:?}");
    for name in &named {
        let url = page_url.join(&format!("/graphql/assets/{name}")).expect("url");
        assert_eq!(url.path(), format!("/graphql/assets/{name}"));
        let response = app.http.get(url).send().await.expect("asset");
        assert_eq!(response.status(), 200, "{name}");
        assert!(content_type(&response).starts_with(expected_type(name)), "{name}: {}", content_type(&response));
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{name}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{name}");
        let body = response.bytes().await.expect("body");
        assert!(body.len() > 500, "{name} has {} bytes", body.len());
        if name.ends_with(".LICENSE") {
            assert!(String::from_utf8_lossy(&body).contains("MIT License"), "{name}");
        }
    }

    // Nothing else is.
    for unknown in ["nope.js", "graphiql-0.0.0.min.js", "graphiql.min.js", "..%2Fserver.rs", "README.md"] {
        let response = app.http.get(app.url(&format!("/graphql/assets/{unknown}"))).send().await.expect("asset");
        assert_eq!(response.status(), 404, "{unknown}");
    }

    // The assets route is counted under a label of its own.
    let metrics = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    for status in [200, 404] {
        let series =
            format!(r#"inzage_http_requests_total{{method="GET",route="/graphql/assets/{{file}}",status="{status}"}}"#);
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }

    // With GraphiQL off, neither the page nor its assets.
    let off = TestApp::spawn_with(&Backend::Sqlite, |settings| settings.graphiql = Some(false)).await;
    assert_eq!(off.http.get(off.url("/graphql")).send().await.expect("page").status(), 404);
    for name in &named {
        let response = off.http.get(off.url(&format!("/graphql/assets/{name}"))).send().await.expect("asset");
        assert_eq!(response.status(), 404, "{name}");
    }
}

/// The Chromium to drive: `INZAGE_TEST_CHROMIUM`, else `chromium` on `PATH`.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("INZAGE_TEST_CHROMIUM").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The node process; killed if the test ends before it does.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(browser_tests), ignore = "needs node and Chromium (apt install chromium)")]
async fn graphiql_queries_and_subscribes_in_a_real_browser_with_no_other_host() {
    let mut node = tokio::task::spawn_blocking(|| clients::node("browser.mjs")).await.expect("install");
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&screenshots).expect("target/browser");
    let failure = screenshots.join("graphiql-failure.png");
    let _ = std::fs::remove_file(&failure);

    let mut child = node
        .arg(app.url(""))
        .arg(app.token(lotte))
        .arg(app.token(carla))
        .arg(&screenshots)
        .arg(chromium())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut driver = Driver(child);
    let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match serde_json::from_str(&line) {
                Ok(value) => {
                    let _ = sender.send(value);
                }
                Err(_) => eprintln!("browser.mjs: {line}"),
            }
        }
    });
    let started = Instant::now();
    let mut next = async |step: &str| -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.recv())
            .await
            .unwrap_or_else(|_| panic!("browser.mjs said nothing about {step:?} within 60 s"))
            .unwrap_or_else(|| panic!("browser.mjs ended before {step:?}"));
        assert!(
            line.get("error").is_none(),
            "browser.mjs failed before {step:?} (see {}): {line:#}",
            failure.display()
        );
        assert_eq!(line["step"], step, "{line:#}");
        line
    };

    // The editor renders; a query with the token from the Headers tab answers.
    let editor = next("editor").await;
    let query = next("query").await;
    assert_eq!(query["result"], json!({"data": {"viewer": {"roles": ["CLIENT"]}}}), "{query:#}");

    // The subscription goes over the socket with the headers as its connection_init payload.
    let listening = next("listening").await;
    assert_eq!(listening["connectionInit"], json!({"keys": ["Authorization"], "carriesToken": true}), "{listening:#}");
    // Its stream is open on the server; the resolver registers its listener as it starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.app.metrics.subscriptions.get() < 1 {
        assert!(Instant::now() < deadline, "the subscription never started on the server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Carla, Lotte's counselor, sends her a message: the notification shows in the browser.
    let sent_at = Instant::now();
    let sent = app
        .as_user(
            carla,
            "mutation($to: [ID!]) { sendMessage(input: {recipientIds: $to, body: \"Your appointment moved\"}) { id } }",
            json!({"to": [lotte]}),
        )
        .await;
    data(&sent);
    let shown = next("notification").await;
    let arrival = sent_at.elapsed();
    let notification = &shown["result"]["data"]["notifications"];
    assert_eq!(notification["kind"], "MESSAGE_RECEIVED", "{shown:#}");
    let hers = app.as_user(lotte, "{ viewer { notifications { nodes { id kind title } } } }", json!({})).await;
    let messages: Vec<&Value> = data(&hers)["viewer"]["notifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["kind"] == "MESSAGE_RECEIVED")
        .collect();
    assert_eq!(messages, [notification], "{hers:#}");

    // Stopped, and run again with other headers: a new connection, with the new headers. With a
    // token the server refuses, the result pane says so.
    let changed = next("headers").await;
    assert_eq!(changed["secondSocket"], true, "{changed:#}");
    assert_eq!(changed["secondConnectionInit"], json!({"keys": ["Authorization"], "carriesOtherToken": true}));
    let refusal = changed["refused"]["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(refusal.contains("closed: 4403"), "{changed:#}");

    // Nothing left the server, nothing failed on the page, and stopping the subscriptions
    // completed them on the socket.
    let done = next("done").await;
    assert_eq!(done["blocked"], json!([]), "{done:#}");
    assert_eq!(done["foreignRequests"], json!([]), "{done:#}");
    assert_eq!(done["pageErrors"], json!([]), "{done:#}");
    let frames = done["framesSent"].as_array().expect("frames");
    for kind in ["connection_init", "subscribe", "complete"] {
        assert!(frames.iter().any(|frame| frame == kind), "{kind} in {frames:?}");
    }
    let status = tokio::task::spawn_blocking(move || driver.0.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "browser.mjs exited with {status}");

    let timings = &done["timings"];
    let report = format!(
        "GraphiQL in Chromium: editor ready {} ms after navigation (DOMContentLoaded {} ms, load {} ms), \
         query round trip {} ms, notification shown {} ms after sendMessage was sent \
         ({} ms after the subscription went out), refused token shown {} ms after running; {} requests, \
         none blocked; whole run {} ms; screenshots in {}",
        editor["ms"],
        timings["navigation"]["domContentLoaded"],
        timings["navigation"]["load"],
        timings["queryRoundTripMs"],
        arrival.as_millis(),
        timings["notificationWaitMs"],
        changed["refusalMs"],
        done["requests"],
        started.elapsed().as_millis(),
        screenshots.display(),
    );
    // Straight to stderr: `eprintln!` of a passing test is captured and not shown, and these
    // numbers belong in every run's log.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{report}");
}
