//! Keys of an identity provider: a JWK set served over HTTP or kept in a file, key ids, algorithm
//! binding, rotation and refresh, the `typ` header, and a PEM key with a key id.
//!
//! The JWK set is served by a small HTTP server inside each test that counts how often it was
//! fetched and can change what it publishes. Every refusal is `UNAUTHENTICATED` with `data` null,
//! and every test also shows a correct token accepted by the same server, so these tests fail if
//! verification were switched off. Tokens are checked against the real system time, so they are
//! dated with `Utc::now()`.

use inzage_testkit::on_every_database;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use inzage_api::Settings;
use inzage_api::clock::ManualClock;
use inzage_testkit::{Backend, TEST_SECRET, TestApp, TestDatabase, error_code, test_settings};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

const VIEWER: &str = "{ viewer { user { id } } }";

const AUDIENCE: &str = "inzage";

const ISSUER: &str = "https://login.inzage.example";

// --- keys and tokens ----------------------------------------------------------------------------

/// A file of `tests/fixtures`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|err| panic!("read fixture {name}: {err}"))
}

/// A signing key of the test identity provider, published under `kid`.
struct ProviderKey {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

impl ProviderKey {
    /// The RSA key in `tests/fixtures/{file}`, for RS256.
    fn rsa(kid: &str, file: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(&fixture_bytes(file)).expect("RSA private key");
        Self { kid: kid.to_owned(), algorithm: Algorithm::RS256, key }
    }

    /// The EC P-256 key in `tests/fixtures/{file}`, for ES256.
    fn ec(kid: &str, file: &str) -> Self {
        let key = EncodingKey::from_ec_pem(&fixture_bytes(file)).expect("EC private key");
        Self { kid: kid.to_owned(), algorithm: Algorithm::ES256, key }
    }

    /// The public JWK as an identity provider publishes it: `kid`, `use: sig` and `alg`.
    fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.key, self.algorithm).expect("public JWK of the key");
        let mut jwk = serde_json::to_value(jwk).expect("JWK as JSON");
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk
    }

    /// The public JWK with `alg` left out (bound by its key type) or replaced.
    fn jwk_with_alg(&self, alg: Option<&str>) -> Value {
        let mut jwk = self.jwk();
        match alg {
            Some(alg) => jwk["alg"] = json!(alg),
            None => {
                jwk.as_object_mut().expect("an object").remove("alg");
            }
        }
        jwk
    }

    /// `claims` signed with this key's algorithm, naming this key.
    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.algorithm, Some(&self.kid), claims)
    }

    /// `claims` signed with this key and `algorithm`, naming `kid` in the header.
    fn sign_as(&self, algorithm: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let header = Header { kid: kid.map(str::to_owned), ..Header::new(algorithm) };
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign the token")
    }

    /// `claims` signed with this key, with this `typ` header (none for `None`).
    fn sign_typed(&self, typ: Option<&str>, claims: &Value) -> String {
        let header = Header { kid: Some(self.kid.clone()), typ: typ.map(str::to_owned), ..Header::new(self.algorithm) };
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign the token")
    }
}

/// Claims for `sub`, issued now and valid for an hour.
fn claims(sub: impl ToString) -> Value {
    let now = Utc::now();
    json!({ "sub": sub.to_string(), "iat": now.timestamp(), "exp": (now + TimeDelta::hours(1)).timestamp() })
}

/// `claims` without `name`.
fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("claims are an object").remove(name);
    claims
}

/// HS256 with `secret`, naming `kid`.
fn hs256(kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let header = Header { kid: kid.map(str::to_owned), ..Header::new(Algorithm::HS256) };
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("sign the token")
}

/// A token with header `{"alg":"none"}` naming `kid`, and no signature, built by hand.
fn unsigned(kid: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

// --- the identity provider's JWK set ------------------------------------------------------------

/// What the test identity provider publishes, and how often it was asked.
#[derive(Default)]
struct Published {
    /// The JWK set document; `None` answers `503 Service Unavailable`.
    document: Mutex<Option<Value>>,
    fetches: AtomicUsize,
}

/// An HTTP server publishing a JWK set at `/jwks.json`.
struct JwksServer {
    addr: SocketAddr,
    published: Arc<Published>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl JwksServer {
    /// A server publishing `keys`.
    async fn start(keys: &[Value]) -> Self {
        let published = Arc::new(Published::default());
        let server = Self::start_with(published).await;
        server.publish(keys);
        server
    }

    /// A server that answers `503` until something is published.
    async fn start_failing() -> Self {
        Self::start_with(Arc::new(Published::default())).await
    }

    async fn start_with(published: Arc<Published>) -> Self {
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get({
                let published = published.clone();
                move || async move {
                    // Counted under the lock: a fetch counted after `publish` returned serves
                    // what it published.
                    let document = published.document.lock().expect("lock");
                    published.fetches.fetch_add(1, Ordering::SeqCst);
                    match document.clone() {
                        Some(document) => Ok(axum::Json(document)),
                        None => Err(axum::http::StatusCode::SERVICE_UNAVAILABLE),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, published, task }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// Publishes a set of these keys from now on.
    fn publish(&self, keys: &[Value]) {
        *self.published.document.lock().expect("lock") = Some(json!({ "keys": keys }));
    }

    /// Answers `503` from now on.
    fn fail(&self) {
        *self.published.document.lock().expect("lock") = None;
    }

    /// How often the set was fetched.
    fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    /// Waits until the set was fetched `count` times in all (panics after 15 seconds).
    async fn wait_for_fetches(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.fetches() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the set was fetched {} times, not {count}",
                self.fetches()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An Inzage server trusting the JWK set at `location` (and no secret); `adjust` may change more.
async fn spawn_with_jwks(backend: &Backend, location: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    TestApp::spawn_with(backend, |settings| {
        settings.jwt_secret = None;
        settings.jwks_url = Some(location.to_owned());
        adjust(settings);
    })
    .await
}

/// Writes a JWK set file the way a deployment should: a new file renamed over the old one.
fn write_set(path: &Path, keys: &[Value]) {
    let next = path.with_extension("next");
    std::fs::write(&next, json!({ "keys": keys }).to_string()).expect("write the set");
    std::fs::rename(&next, path).expect("replace the set");
}

// --- requests and outcomes ----------------------------------------------------------------------

/// `{ viewer { user { id } } }` sent with `Authorization: Bearer <token>`.
async fn viewer(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), VIEWER, json!({})).await
}

/// The token was refused: `UNAUTHENTICATED`, and no data.
#[track_caller]
fn assert_refused(response: &Value, what: &str) {
    assert_eq!(error_code(response), Some("UNAUTHENTICATED"), "{what} was not refused: {response:#}");
    assert!(response["data"].is_null(), "{what} was refused but data was returned: {response:#}");
}

/// The token was accepted as `user_id`.
#[track_caller]
fn assert_accepted_as(response: &Value, user_id: Uuid, what: &str) {
    assert!(response.get("errors").is_none(), "{what} was not accepted: {response:#}");
    assert_eq!(response["data"]["viewer"]["user"]["id"], user_id.to_string(), "{what} was accepted as someone else");
}

/// The refusal's message.
fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or_default()
}

// --- keys of a JWK set --------------------------------------------------------------------------

async fn rs256_and_es256_tokens_naming_their_key_are_accepted(backend: Backend) {
    let rsa = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let ec = ProviderKey::ec("ec-1", "ec_private.pem");
    let provider = JwksServer::start(&[rsa.jwk(), ec.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |_| {}).await;
    assert!(app.app.verifier.has_keys(), "the set was read at start-up");
    assert!(app.app.signer.is_none(), "a server trusting a JWK set signs no tokens");
    let (_, admin) = app.organization("Noord").await;

    assert_accepted_as(&viewer(&app, &rsa.sign(&claims(admin))).await, admin, "RS256 naming the RSA key");
    assert_accepted_as(&viewer(&app, &ec.sign(&claims(admin))).await, admin, "ES256 naming the EC key");

    let anonymous = viewer(&app, &rsa.sign_as(Algorithm::RS256, None, &claims(admin))).await;
    assert_refused(&anonymous, "a token without kid while the set holds two keys");
    assert!(message(&anonymous).contains("kid"), "{anonymous:#}");
    assert_eq!(provider.fetches(), 1, "known keys need no fetch");
}

async fn a_token_without_kid_is_accepted_only_from_a_set_of_one_key(backend: Backend) {
    let ec = ProviderKey::ec("ec-1", "ec_private.pem");
    let provider = JwksServer::start(&[ec.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |_| {}).await;
    let (_, admin) = app.organization("Noord").await;

    let anonymous = ec.sign_as(Algorithm::ES256, None, &claims(admin));
    assert_accepted_as(&viewer(&app, &anonymous).await, admin, "ES256 without kid from a set of one key");
    let other = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let forged = other.sign_as(Algorithm::RS256, None, &claims(admin));
    assert_refused(&viewer(&app, &forged).await, "RS256 without kid, signed by a key outside the set");
    assert_refused(&viewer(&app, &ec.sign_as(Algorithm::ES256, Some("ec-2"), &claims(admin))).await, "another kid");
}

async fn forged_and_confused_tokens_are_refused(backend: Backend) {
    let a = ProviderKey::rsa("key-a", "rsa_private.pem");
    let b = ProviderKey::rsa("key-b", "rsa2_private.pem");
    let ec = ProviderKey::ec("key-ec", "ec_private.pem");
    let provider = JwksServer::start(&[a.jwk(), b.jwk(), ec.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |_| {}).await;
    let (_, admin) = app.organization("Noord").await;

    assert_refused(&viewer(&app, &unsigned("key-a", &claims(admin))).await, "an alg:none token naming key A");
    let public_pem = fixture_bytes("rsa_public.pem");
    assert_refused(
        &viewer(&app, &hs256(Some("key-a"), &claims(admin), &public_pem)).await,
        "HS256 keyed with key A's public PEM (algorithm confusion)",
    );
    assert_refused(
        &viewer(&app, &hs256(None, &claims(admin), &public_pem)).await,
        "HS256 keyed with key A's public PEM, without kid",
    );
    assert_refused(
        &viewer(&app, &hs256(Some("key-a"), &claims(admin), TEST_SECRET.as_bytes())).await,
        "HS256 with the test secret",
    );
    assert_refused(
        &viewer(&app, &b.sign_as(Algorithm::RS256, Some("key-a"), &claims(admin))).await,
        "a token naming key A, signed by key B",
    );
    assert_refused(
        &viewer(&app, &ec.sign_as(Algorithm::ES256, Some("key-a"), &claims(admin))).await,
        "an ES256 token naming RSA key A, signed by the EC key",
    );
    for algorithm in [Algorithm::RS512, Algorithm::PS256] {
        let response = viewer(&app, &a.sign_as(algorithm, Some("key-a"), &claims(admin))).await;
        assert_refused(&response, &format!("{algorithm:?} signed by key A, which is bound to RS256"));
        assert!(message(&response).contains("algorithm"), "{response:#}");
    }
    let unknown = viewer(&app, &a.sign_as(Algorithm::RS256, Some("key-z"), &claims(admin))).await;
    assert_refused(&unknown, "a token naming an unknown kid");
    assert!(message(&unknown).contains("kid"), "{unknown:#}");
    assert!(!message(&unknown).contains("key-z"), "the refusal does not echo the token: {unknown:#}");

    assert_accepted_as(&viewer(&app, &a.sign(&claims(admin))).await, admin, "the same claims, signed by key A");
    assert_accepted_as(&viewer(&app, &b.sign(&claims(admin))).await, admin, "the same claims, signed by key B");
}

async fn each_key_is_bound_to_its_declared_algorithm_and_unusable_keys_are_skipped(backend: Backend) {
    let rs512 = ProviderKey { algorithm: Algorithm::RS512, ..ProviderKey::rsa("rs512", "rsa_private.pem") };
    let bare = ProviderKey::ec("bare-ec", "ec_private.pem");
    let enc = ProviderKey::rsa("enc", "rsa2_private.pem");
    let mut enc_jwk = enc.jwk_with_alg(Some("RSA-OAEP"));
    enc_jwk["use"] = json!("enc");
    let oct = json!({"kty": "oct", "kid": "oct", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(TEST_SECRET)});
    let provider = JwksServer::start(&[rs512.jwk(), bare.jwk_with_alg(None), enc_jwk, oct]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| {
        settings.jwks_min_refresh = Duration::from_secs(3600);
    })
    .await;
    let (_, admin) = app.organization("Noord").await;

    assert_accepted_as(&viewer(&app, &rs512.sign(&claims(admin))).await, admin, "RS512 for a key declared RS512");
    assert_refused(
        &viewer(&app, &rs512.sign_as(Algorithm::RS256, Some("rs512"), &claims(admin))).await,
        "RS256 for a key declared RS512",
    );
    assert_accepted_as(&viewer(&app, &bare.sign(&claims(admin))).await, admin, "ES256 for a P-256 key without alg");
    assert_refused(
        &viewer(&app, &hs256(Some("oct"), &claims(admin), TEST_SECRET.as_bytes())).await,
        "HS256 naming a symmetric key of the set",
    );
    assert_refused(&viewer(&app, &enc.sign_as(Algorithm::RS256, Some("enc"), &claims(admin))).await, "an `enc` key");
}

// --- rotation and refresh -----------------------------------------------------------------------

async fn a_new_key_is_fetched_when_a_token_names_it(backend: Backend) {
    let old = ProviderKey::rsa("2026-01", "rsa_private.pem");
    let new = ProviderKey::rsa("2026-02", "rsa2_private.pem");
    let provider = JwksServer::start(&[old.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| {
        settings.jwks_min_refresh = Duration::from_secs(1);
    })
    .await;
    let (_, admin) = app.organization("Noord").await;
    assert_accepted_as(&viewer(&app, &old.sign(&claims(admin))).await, admin, "a token of the old key");
    assert_eq!(provider.fetches(), 1);

    assert_refused(&viewer(&app, &new.sign(&claims(admin))).await, "a token of a key not yet published");
    assert_eq!(provider.fetches(), 2, "the unknown kid had the set fetched again");

    provider.publish(&[old.jwk(), new.jwk()]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted_as(&viewer(&app, &new.sign(&claims(admin))).await, admin, "the new key, once published");
    assert_eq!(provider.fetches(), 3, "the new key was fetched on demand");
    assert_accepted_as(&viewer(&app, &old.sign(&claims(admin))).await, admin, "the old key, still published");
    assert_eq!(provider.fetches(), 3, "known keys need no fetch");
}

async fn a_key_removed_at_the_provider_stops_being_accepted_after_the_periodic_refresh(backend: Backend) {
    let kept = ProviderKey::rsa("kept", "rsa_private.pem");
    let removed = ProviderKey::ec("removed", "ec_private.pem");
    let provider = JwksServer::start(&[kept.jwk(), removed.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| {
        settings.jwks_refresh = Duration::from_secs(1);
        settings.jwks_min_refresh = Duration::from_secs(3600);
    })
    .await;
    let (_, admin) = app.organization("Noord").await;
    assert_accepted_as(&viewer(&app, &removed.sign(&claims(admin))).await, admin, "a key still published");

    provider.publish(&[kept.jwk()]);
    // The first fetch counted after publishing serves the new set; once a second one has begun,
    // the first has been installed.
    provider.wait_for_fetches(provider.fetches() + 2).await;
    assert_refused(&viewer(&app, &removed.sign(&claims(admin))).await, "a key removed at the provider");
    assert_accepted_as(&viewer(&app, &kept.sign(&claims(admin))).await, admin, "the key kept at the provider");
}

async fn tokens_with_made_up_kids_cause_one_fetch_per_interval(backend: Backend) {
    let key = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let provider = JwksServer::start(&[key.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |_| {}).await;
    let (_, admin) = app.organization("Noord").await;
    assert_eq!(provider.fetches(), 1, "read once at start-up");

    let tokens: Vec<String> =
        (0..20).map(|_| key.sign_as(Algorithm::RS256, Some(&Uuid::new_v4().to_string()), &claims(admin))).collect();
    let responses = futures_util::future::join_all(tokens.iter().map(|token| viewer(&app, token))).await;
    for response in &responses {
        assert_refused(response, "a token naming a made-up kid");
    }
    assert!(provider.fetches() <= 2, "20 made-up kids caused {} fetches", provider.fetches());
    assert_eq!(provider.fetches(), 2, "concurrent unknown kids share one fetch");

    for token in tokens.iter().take(5) {
        assert_refused(&viewer(&app, token).await, "a made-up kid within the interval");
    }
    assert_eq!(provider.fetches(), 2, "no fetch within INZAGE_JWKS_MIN_REFRESH (30s by default)");
    assert_accepted_as(&viewer(&app, &key.sign(&claims(admin))).await, admin, "the published key");
}

async fn a_failed_read_keeps_the_last_good_keys_and_a_later_one_recovers(backend: Backend) {
    let key = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let provider = JwksServer::start_failing().await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| {
        settings.jwks_refresh = Duration::from_secs(1);
        settings.jwks_min_refresh = Duration::from_secs(3600);
    })
    .await;
    assert!(!app.app.verifier.has_keys(), "the provider failed at start-up");
    let ready = app.http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503, "not ready without keys to check tokens with");
    assert_eq!(ready.json::<serde_json::Value>().await.expect("json")["keys"], "missing");
    let (_, admin) = app.organization("Noord").await;
    assert_refused(&viewer(&app, &key.sign(&claims(admin))).await, "a token while no key could be read");

    provider.publish(&[key.jwk()]);
    provider.wait_for_fetches(provider.fetches() + 2).await;
    assert!(app.app.verifier.has_keys(), "a periodic refresh read the set");
    assert_eq!(app.http.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
    assert_accepted_as(&viewer(&app, &key.sign(&claims(admin))).await, admin, "a token once the set was read");

    provider.fail();
    provider.wait_for_fetches(provider.fetches() + 2).await;
    assert!(app.app.verifier.has_keys());
    assert_accepted_as(&viewer(&app, &key.sign(&claims(admin))).await, admin, "a token after failed refreshes");
}

async fn an_unreachable_jwks_url_still_starts_and_refuses_tokens(backend: Backend) {
    // A port nobody listens on: bound, then released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("address");
    let app = spawn_with_jwks(&backend, &format!("http://{closed}/jwks.json"), |_| {}).await;
    assert!(!app.app.verifier.has_keys(), "no keys could be read");
    let (_, admin) = app.organization("Noord").await;

    let key = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let response = viewer(&app, &key.sign(&claims(admin))).await;
    assert_refused(&response, "a token while the JWK set is unreachable");
    let anonymous = viewer(&app, &key.sign_as(Algorithm::RS256, None, &claims(admin))).await;
    assert_refused(&anonymous, "a token without kid while the JWK set is unreachable");
    assert!(!message(&response).contains(&closed.to_string()), "the refusal names no URL: {response:#}");

    let schema = app.graphql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query", "the server answers: {schema:#}");
}

async fn a_jwks_file_is_read_again_when_it_is_rewritten(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jwks.json");
    let old = ProviderKey::rsa("old", "rsa_private.pem");
    let new = ProviderKey::ec("new", "ec_private.pem");
    write_set(&path, &[old.jwk()]);
    let location = format!("file://{}", path.display());
    let app = spawn_with_jwks(&backend, &location, |settings| {
        // Reading a local file costs little: every unknown kid may read it.
        settings.jwks_min_refresh = Duration::ZERO;
    })
    .await;
    let (_, admin) = app.organization("Noord").await;
    assert_accepted_as(&viewer(&app, &old.sign(&claims(admin))).await, admin, "the key in the file");
    assert_refused(&viewer(&app, &new.sign(&claims(admin))).await, "a key not yet in the file");

    write_set(&path, &[new.jwk()]);
    assert_accepted_as(&viewer(&app, &new.sign(&claims(admin))).await, admin, "the key written into the file");
    assert_refused(&viewer(&app, &old.sign(&claims(admin))).await, "the key rotated out of the file");

    // A plain path works the same.
    let plain = spawn_with_jwks(&backend, &path.display().to_string(), |_| {}).await;
    let (_, other) = plain.organization("Zuid").await;
    assert_accepted_as(&viewer(&plain, &new.sign(&claims(other))).await, other, "the key, read from a plain path");
}

// --- claims and header --------------------------------------------------------------------------

async fn the_token_type_is_checked_when_configured(backend: Backend) {
    let key = ProviderKey::ec("ec-1", "ec_private.pem");
    let provider = JwksServer::start(&[key.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| settings.jwt_type = Some("at+jwt".into())).await;
    let (_, admin) = app.organization("Noord").await;

    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let response = viewer(&app, &key.sign_typed(Some(typ), &claims(admin))).await;
        assert_accepted_as(&response, admin, &format!("typ {typ}"));
    }
    for typ in [Some("JWT"), Some("application/jwt"), Some("at+jwt2"), None] {
        let response = viewer(&app, &key.sign_typed(typ, &claims(admin))).await;
        assert_refused(&response, &format!("typ {typ:?}"));
        assert!(message(&response).contains("typ"), "{response:#}");
    }

    // With the HS256 secret too; the server's own tokens carry the configured type.
    let hs = TestApp::spawn_with(&backend, |settings| settings.jwt_type = Some("application/at+jwt".into())).await;
    let (_, admin) = hs.organization("Noord").await;
    assert_accepted_as(&viewer(&hs, &hs.token(admin)).await, admin, "a token of the server's own signer");
    assert_refused(&viewer(&hs, &hs256(None, &claims(admin), TEST_SECRET.as_bytes())).await, "typ JWT with HS256");
}

async fn exp_nbf_aud_and_iss_are_checked_with_jwks_keys(backend: Backend) {
    let key = ProviderKey::rsa("rsa-1", "rsa_private.pem");
    let provider = JwksServer::start(&[key.jwk()]).await;
    let app = spawn_with_jwks(&backend, &provider.url(), |settings| {
        settings.jwt_issuer = Some(ISSUER.to_owned());
        settings.jwt_audience = Some(AUDIENCE.to_owned());
    })
    .await;
    let (_, admin) = app.organization("Noord").await;
    let now = Utc::now();
    let mut valid = claims(admin);
    valid["iss"] = json!(ISSUER);
    valid["aud"] = json!(AUDIENCE);

    let mut expired = valid.clone();
    expired["exp"] = json!((now - TimeDelta::minutes(10)).timestamp());
    assert_refused(&viewer(&app, &key.sign(&expired)).await, "a token that expired 10 minutes ago");
    assert_refused(&viewer(&app, &key.sign(&without(valid.clone(), "exp"))).await, "a token without exp");
    let mut early = valid.clone();
    early["nbf"] = json!((now + TimeDelta::minutes(10)).timestamp());
    assert_refused(&viewer(&app, &key.sign(&early)).await, "a token with nbf 10 minutes from now");
    let mut elsewhere = valid.clone();
    elsewhere["aud"] = json!("another-service");
    assert_refused(&viewer(&app, &key.sign(&elsewhere)).await, "a token for another audience");
    assert_refused(&viewer(&app, &key.sign(&without(valid.clone(), "aud"))).await, "a token without aud");
    let mut foreign = valid.clone();
    foreign["iss"] = json!("https://login.elsewhere.example");
    assert_refused(&viewer(&app, &key.sign(&foreign)).await, "a token from another issuer");
    assert_refused(&viewer(&app, &key.sign(&without(valid.clone(), "iss"))).await, "a token without iss");
    assert_refused(&viewer(&app, &key.sign(&without(valid.clone(), "sub"))).await, "a token without sub");

    let mut ready = valid.clone();
    ready["nbf"] = json!((now - TimeDelta::minutes(10)).timestamp());
    assert_accepted_as(&viewer(&app, &key.sign(&ready)).await, admin, "a valid token with a past nbf");
    assert_accepted_as(&viewer(&app, &key.sign(&valid)).await, admin, "a valid token");
}

// --- a PEM key with a key id, and the choice of key -------------------------------------------

async fn a_pem_key_with_a_key_id_accepts_only_tokens_naming_it(backend: Backend) {
    let path = fixture("rsa_public.pem");
    let app = TestApp::spawn_with(&backend, |settings| {
        settings.jwt_secret = None;
        settings.jwt_public_key = Some(path);
        settings.jwt_key_id = Some("pem-1".into());
    })
    .await;
    let (_, admin) = app.organization("Noord").await;
    let key = ProviderKey::rsa("pem-1", "rsa_private.pem");

    assert_accepted_as(&viewer(&app, &key.sign(&claims(admin))).await, admin, "RS256 naming the configured kid");
    assert_refused(&viewer(&app, &key.sign_as(Algorithm::RS256, None, &claims(admin))).await, "RS256 without kid");
    assert_refused(
        &viewer(&app, &key.sign_as(Algorithm::RS256, Some("pem-2"), &claims(admin))).await,
        "RS256 naming another kid",
    );
}

async fn exactly_one_kind_of_key_may_be_configured(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let clock = || Arc::new(ManualClock::new(Utc::now()));
    let provider = JwksServer::start(&[ProviderKey::rsa("rsa-1", "rsa_private.pem").jwk()]).await;

    let mut both = test_settings(&database.url);
    both.jwks_url = Some(provider.url());
    let error = inzage_api::App::open(both, clock()).await.err().expect("a secret and a JWK set are refused");
    assert!(error.to_string().contains("exactly one"), "{error}");

    let mut stray_kid = test_settings(&database.url);
    stray_kid.jwt_key_id = Some("pem-1".into());
    let error = inzage_api::App::open(stray_kid, clock()).await.err().expect("a key id without a PEM key is refused");
    assert!(error.to_string().contains("INZAGE_JWT_KEY_ID"), "{error}");

    let mut scheme = test_settings(&database.url);
    scheme.jwt_secret = None;
    scheme.jwks_url = Some("ftp://login.example/jwks.json".into());
    let error = inzage_api::App::open(scheme, clock()).await.err().expect("an ftp:// URL is refused");
    assert!(error.to_string().contains("INZAGE_JWKS_URL"), "{error}");

    let mut jwks_only = test_settings(&database.url);
    jwks_only.jwt_secret = None;
    jwks_only.jwks_url = Some(provider.url());
    let app = inzage_api::App::open(jwks_only, clock()).await.expect("a JWK set alone is accepted");
    assert!(app.verifier.has_keys());
}

on_every_database!(
    rs256_and_es256_tokens_naming_their_key_are_accepted,
    a_token_without_kid_is_accepted_only_from_a_set_of_one_key,
    forged_and_confused_tokens_are_refused,
    each_key_is_bound_to_its_declared_algorithm_and_unusable_keys_are_skipped,
    a_new_key_is_fetched_when_a_token_names_it,
    a_key_removed_at_the_provider_stops_being_accepted_after_the_periodic_refresh,
    tokens_with_made_up_kids_cause_one_fetch_per_interval,
    a_failed_read_keeps_the_last_good_keys_and_a_later_one_recovers,
    an_unreachable_jwks_url_still_starts_and_refuses_tokens,
    a_jwks_file_is_read_again_when_it_is_rewritten,
    the_token_type_is_checked_when_configured,
    exp_nbf_aud_and_iss_are_checked_with_jwks_keys,
    a_pem_key_with_a_key_id_accepts_only_tokens_naming_it,
    exactly_one_kind_of_key_may_be_configured,
);
