//! Inzage against a real, certified OpenID Connect provider: `oidc-provider` (pinned in
//! `tests/clients/`), run by `tests/clients/oidc.mjs` on a free port of 127.0.0.1.
//!
//! Inzage is configured as the README says for production: the provider's `jwks_uri`, its
//! issuer, the resource indicator as audience and `typ: at+jwt`, with no secret. The provider
//! issues RFC 9068 JWT access tokens for the resource `urn:inzage`, through the
//! `client_credentials` grant (a client whose `client_id` is the Inzage user id, which the
//! provider puts in `sub`) and the authorization code flow (logging in, on the provider's
//! development pages, as the Inzage user id). Every test runs once with RS256 keys and once with
//! ES256 keys. Refusals are `UNAUTHENTICATED` with `data` null, and each test shows a token of
//! the same provider accepted by the same server. Where node or npm is missing the tests are
//! ignored, saying why; the tokens do not depend on the database: they run on SQLite.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use inzage_api::Settings;
use inzage_entity::Role;
use inzage_testkit::{Backend, TestApp, clients, error_code};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use uuid::Uuid;

/// The resource indicator Inzage's access tokens are issued for: their `aud`.
const RESOURCE: &str = "urn:inzage";

/// Another resource server of the same provider.
const OTHER_RESOURCE: &str = "urn:other";

/// The provider's client for the authorization code flow (an ID token's `aud`).
const PORTAL: &str = "inzage-portal";

const VIEWER: &str = "{ viewer { user { id } roles } }";

// --- the identity provider ----------------------------------------------------------------------

/// `tests/clients/oidc.mjs`, running: answers one JSON command per line.
struct Provider {
    issuer: String,
    jwks_uri: String,
    stdin: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
    /// What the provider wrote to stderr so far (its warnings), shown when something fails.
    stderr: Arc<Mutex<String>>,
    _child: Child,
}

impl Provider {
    /// Starts the provider with signing keys for `algorithm` (`RS256` or `ES256`).
    async fn start(algorithm: &str) -> Self {
        let command = tokio::task::spawn_blocking(|| clients::node("oidc.mjs")).await.expect("install");
        let mut child = tokio::process::Command::from(command)
            .arg(algorithm)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the provider starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&stderr);
        tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut buffer).await {
                collected.lock().expect("stderr").push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let mut provider = Self {
            issuer: String::new(),
            jwks_uri: String::new(),
            stdin: child.stdin.take().expect("stdin"),
            answers: BufReader::new(child.stdout.take().expect("stdout")).lines(),
            stderr,
            _child: child,
        };
        let ready = provider.answer().await;
        provider.issuer = ready["issuer"].as_str().expect("the issuer").to_owned();
        provider.jwks_uri = ready["jwks_uri"].as_str().expect("the jwks_uri").to_owned();
        provider
    }

    /// The next line the provider prints, as JSON.
    async fn answer(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.answers.next_line()).await;
        let stderr = || self.stderr.lock().expect("stderr").clone();
        match line {
            Ok(Ok(Some(line))) => serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}")),
            Ok(_) => panic!("the provider exited:\n{}", stderr()),
            Err(_) => panic!("the provider did not answer in time:\n{}", stderr()),
        }
    }

    /// Sends `command` and returns the answer; panics when the provider reports an error.
    async fn command(&mut self, command: Value) -> Value {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.expect("write a command");
        self.stdin.flush().await.expect("flush the command");
        let answer = self.answer().await;
        assert!(answer.get("error").is_none(), "{command} failed: {}", answer["error"].as_str().unwrap_or_default());
        answer
    }

    /// Registers a confidential client whose `client_id` is `id`, for `client_credentials`.
    async fn register(&mut self, id: Uuid) {
        self.command(json!({ "op": "client", "id": id })).await;
    }

    /// An access token for `resource` from the `client_credentials` grant of client `client`.
    async fn client_credentials(&mut self, client: Uuid, resource: &str) -> String {
        let answer = self.command(json!({ "op": "token", "client": client, "resource": resource })).await;
        answer["access_token"].as_str().expect("an access token").to_owned()
    }

    /// Logs in as `login` through the authorization code flow of the portal client: its
    /// access token for `resource` and its ID token.
    async fn login(&mut self, login: Uuid, resource: &str) -> (String, String) {
        let answer = self.command(json!({ "op": "login", "login": login, "resource": resource })).await;
        let token = |name: &str| answer[name].as_str().unwrap_or_else(|| panic!("no {name}: {answer}")).to_owned();
        (token("access_token"), token("id_token"))
    }

    /// Starts signing with a new key, published before the old ones; returns its `kid`.
    async fn rotate(&mut self) -> String {
        self.command(json!({ "op": "rotate" })).await["kid"].as_str().expect("a kid").to_owned()
    }

    /// Publishes only the key it signs with.
    async fn retire_old_keys(&mut self) {
        self.command(json!({ "op": "retire" })).await;
    }

    /// How often the JWK set has been fetched.
    async fn jwks_fetches(&mut self) -> u64 {
        self.command(json!({ "op": "status" })).await["jwks_fetches"].as_u64().expect("a count")
    }

    /// Waits until the JWK set has been fetched `count` times.
    async fn wait_for_fetches(&mut self, count: u64) {
        for _ in 0..100 {
            if self.jwks_fetches().await >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the JWK set was not fetched {count} times within 10 s");
    }
}

/// An Inzage server trusting `provider` as the README says: its JWK set, issuer, the resource as
/// audience, `typ: at+jwt`, and no secret; `adjust` may change more.
async fn inzage_trusting(provider: &Provider, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    TestApp::spawn_with(&Backend::Sqlite, |settings| {
        settings.jwt_secret = None;
        settings.jwks_url = Some(provider.jwks_uri.clone());
        settings.jwt_issuer = Some(provider.issuer.clone());
        settings.jwt_audience = Some(RESOURCE.to_owned());
        settings.jwt_type = Some("at+jwt".to_owned());
        adjust(settings);
    })
    .await
}

/// A CLIENT account of a new organisation.
async fn client_account(app: &TestApp) -> Uuid {
    let (org, _) = app.organization("De Linde").await;
    app.user(org, "lotte@linde.example", &[Role::Client]).await
}

// --- tokens and outcomes ------------------------------------------------------------------------

/// A JWT's header and claims, as the provider wrote them (not verified).
fn parts(token: &str) -> (Value, Value) {
    let mut segments = token.split('.');
    let mut decode = || {
        let segment = segments.next().expect("a JWT segment");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
    };
    (decode(), decode())
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), VIEWER, json!({})).await
}

/// The token was accepted as `user_id`, a CLIENT.
#[track_caller]
fn assert_accepted_as(response: &Value, user_id: Uuid, what: &str) {
    assert!(response.get("errors").is_none(), "{what} was not accepted: {response:#}");
    assert_eq!(response["data"]["viewer"]["user"]["id"], user_id.to_string(), "{what} was accepted as someone else");
    assert_eq!(response["data"]["viewer"]["roles"], json!(["CLIENT"]), "{what}: the roles");
}

/// The token was refused: `UNAUTHENTICATED`, no data, and a message saying `because`.
#[track_caller]
fn assert_refused(response: &Value, because: &str, what: &str) {
    assert_eq!(error_code(response), Some("UNAUTHENTICATED"), "{what} was not refused: {response:#}");
    assert!(response["data"].is_null(), "{what} was refused but data was returned: {response:#}");
    let message = response["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(because), "{what} was refused for another reason: {message}");
}

// --- the tests ----------------------------------------------------------------------------------

async fn client_credentials_access_tokens_for_inzage_are_accepted(algorithm: &str) {
    let mut provider = Provider::start(algorithm).await;
    let app = inzage_trusting(&provider, |_| {}).await;
    let lotte = client_account(&app).await;
    provider.register(lotte).await;

    let token = provider.client_credentials(lotte, RESOURCE).await;
    let (header, claims) = parts(&token);
    assert_eq!(header["alg"], algorithm, "{header}");
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(header["kid"], "key-1", "{header}");
    assert_eq!(claims["sub"], lotte.to_string(), "the client id is the subject: {claims}");
    assert_eq!(claims["client_id"], lotte.to_string(), "{claims}");
    assert_eq!(claims["aud"], RESOURCE, "{claims}");
    assert_eq!(claims["iss"], provider.issuer, "{claims}");

    assert_accepted_as(&viewer(&app, &token).await, lotte, "a client_credentials access token");
    assert_eq!(provider.jwks_fetches().await, 1, "the set was read once, at start-up");
}

async fn a_logged_in_users_access_token_is_accepted_and_the_id_token_refused(algorithm: &str) {
    let mut provider = Provider::start(algorithm).await;
    let app = inzage_trusting(&provider, |_| {}).await;
    let lotte = client_account(&app).await;

    let (access_token, id_token) = provider.login(lotte, RESOURCE).await;
    let (header, claims) = parts(&access_token);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(claims["sub"], lotte.to_string(), "the login is the subject: {claims}");
    assert_eq!(claims["client_id"], PORTAL, "{claims}");
    assert_eq!(claims["aud"], RESOURCE, "{claims}");
    assert_accepted_as(&viewer(&app, &access_token).await, lotte, "the access token of the code flow");

    // Signed by the same key, for the same user and issuer; but for the portal, and not typed
    // as an access token (oidc-provider writes no `typ` at all into ID tokens).
    let (header, claims) = parts(&id_token);
    assert_eq!(header["alg"], algorithm, "{header}");
    assert_eq!(header["kid"], "key-1", "{header}");
    assert!(header.get("typ").is_none_or(|typ| typ.as_str().is_some_and(|typ| typ.eq_ignore_ascii_case("JWT"))));
    assert_eq!(claims["sub"], lotte.to_string(), "{claims}");
    assert_eq!(claims["aud"], PORTAL, "{claims}");
    assert_eq!(claims["iss"], provider.issuer, "{claims}");
    assert_refused(&viewer(&app, &id_token).await, "(typ)", "the ID token");

    // Without the `typ` requirement, the audience alone still refuses it.
    let lenient = inzage_trusting(&provider, |settings| settings.jwt_type = None).await;
    let lotte_there = client_account(&lenient).await;
    let (access_token, id_token) = provider.login(lotte_there, RESOURCE).await;
    assert_accepted_as(&viewer(&lenient, &access_token).await, lotte_there, "an access token without the typ check");
    assert_refused(&viewer(&lenient, &id_token).await, "another audience", "the ID token without the typ check");
}

async fn access_tokens_for_another_resource_are_refused(algorithm: &str) {
    let mut provider = Provider::start(algorithm).await;
    let app = inzage_trusting(&provider, |_| {}).await;
    let lotte = client_account(&app).await;
    provider.register(lotte).await;

    let other = provider.client_credentials(lotte, OTHER_RESOURCE).await;
    let (header, claims) = parts(&other);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(claims["aud"], OTHER_RESOURCE, "{claims}");
    assert_eq!(claims["sub"], lotte.to_string(), "{claims}");
    assert_refused(&viewer(&app, &other).await, "another audience", "an access token for urn:other");
    let (other_by_login, _) = provider.login(lotte, OTHER_RESOURCE).await;
    assert_refused(&viewer(&app, &other_by_login).await, "another audience", "a code-flow token for urn:other");

    let ours = provider.client_credentials(lotte, RESOURCE).await;
    assert_accepted_as(&viewer(&app, &ours).await, lotte, "an access token for urn:inzage");
}

async fn a_new_signing_key_is_accepted_without_restarting_inzage(algorithm: &str) {
    let mut provider = Provider::start(algorithm).await;
    let app = inzage_trusting(&provider, |settings| settings.jwks_min_refresh = Duration::from_secs(1)).await;
    let lotte = client_account(&app).await;
    provider.register(lotte).await;
    let before = provider.client_credentials(lotte, RESOURCE).await;
    assert_accepted_as(&viewer(&app, &before).await, lotte, "a token of the first key");
    assert_eq!(provider.jwks_fetches().await, 1);

    let kid = provider.rotate().await;
    let after = provider.client_credentials(lotte, RESOURCE).await;
    assert_eq!(parts(&after).0["kid"], kid.as_str(), "the provider signs with the new key");
    assert_ne!(kid, "key-1");
    assert_accepted_as(&viewer(&app, &after).await, lotte, "a token of the new key");
    assert_eq!(provider.jwks_fetches().await, 2, "the unknown kid had the set read again at once");
    assert_accepted_as(&viewer(&app, &before).await, lotte, "a token of the first key, still published");
    let (code_flow, _) = provider.login(lotte, RESOURCE).await;
    assert_accepted_as(&viewer(&app, &code_flow).await, lotte, "a code-flow token of the new key");
    assert_eq!(provider.jwks_fetches().await, 2, "known keys need no read");
}

async fn tokens_of_a_retired_key_are_refused_once_inzage_reads_the_set_again(algorithm: &str) {
    let mut provider = Provider::start(algorithm).await;
    let app = inzage_trusting(&provider, |settings| {
        settings.jwks_refresh = Duration::from_secs(1);
        settings.jwks_min_refresh = Duration::from_secs(3600);
    })
    .await;
    let lotte = client_account(&app).await;
    provider.register(lotte).await;
    let old = provider.client_credentials(lotte, RESOURCE).await;
    provider.rotate().await;
    let new = provider.client_credentials(lotte, RESOURCE).await;
    assert_accepted_as(&viewer(&app, &old).await, lotte, "a token of the old key, still published");
    assert_accepted_as(&viewer(&app, &new).await, lotte, "a token of the new key");

    provider.retire_old_keys().await;
    // The first read counted after retiring serves the new set; once a second one has begun,
    // the first has been installed.
    let fetches = provider.jwks_fetches().await;
    provider.wait_for_fetches(fetches + 2).await;
    assert_refused(&viewer(&app, &old).await, "(kid) is not known", "a token of the retired key");
    assert_accepted_as(&viewer(&app, &new).await, lotte, "a token of the key kept");
}

/// Runs each named `async fn(&str)` as a test with RS256 keys and with ES256 keys.
macro_rules! with_each_algorithm {
    ($($name:ident),* $(,)?) => {
        mod rs256 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(node_clients), ignore = "needs node and npm for the oidc-provider identity provider")]
                async fn $name() {
                    super::$name("RS256").await
                }
            )*
        }
        mod es256 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(node_clients), ignore = "needs node and npm for the oidc-provider identity provider")]
                async fn $name() {
                    super::$name("ES256").await
                }
            )*
        }
    };
}

with_each_algorithm!(
    client_credentials_access_tokens_for_inzage_are_accepted,
    a_logged_in_users_access_token_is_accepted_and_the_id_token_refused,
    access_tokens_for_another_resource_are_refused,
    a_new_signing_key_is_accepted_without_restarting_inzage,
    tokens_of_a_retired_key_are_refused_once_inzage_reads_the_set_again,
);
