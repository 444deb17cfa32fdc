//! Authentication over HTTP: which tokens the server trusts and which it refuses.
//!
//! Every refusal is `UNAUTHENTICATED` on `viewer` with `data` null, and every group also shows
//! the valid token being accepted by the same server, so these tests fail if verification were
//! switched off. Tokens are checked against the real system time, so they are dated with
//! `Utc::now()`, not with the test clock.

use inzage_testkit::on_every_database;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use inzage_entity::Role;
use inzage_testkit::{Backend, TEST_SECRET, TestApp, data, error_code};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

const VIEWER: &str = "{ viewer { user { id } } }";

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

const SET_ACTIVE: &str = "mutation($id: ID!, $active: Boolean!) {
    setUserActive(userId: $id, active: $active) { active }
}";

const AUDIENCE: &str = "inzage";

const ISSUER: &str = "https://login.inzage.example";

// --- helpers ------------------------------------------------------------------------------------

/// A file of `tests/fixtures`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|err| panic!("read fixture {name}: {err}"))
}

/// Claims for `sub`, issued now and valid for an hour.
fn claims(sub: impl ToString) -> Value {
    let now = Utc::now();
    json!({ "sub": sub.to_string(), "iat": now.timestamp(), "exp": (now + Duration::hours(1)).timestamp() })
}

/// `claims` without `name`.
fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("claims are an object").remove(name);
    claims
}

fn sign(algorithm: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).expect("sign the token")
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    sign(Algorithm::HS256, claims, &EncodingKey::from_secret(secret))
}

/// HS256 with the secret of default test servers.
fn with_test_secret(claims: &Value) -> String {
    hs256(claims, TEST_SECRET.as_bytes())
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture_bytes("rsa_private.pem")).expect("RSA private key")
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&fixture_bytes("ec_private.pem")).expect("EC private key")
}

/// A token with header `{"alg":"none"}` and no signature, built by hand.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// A server that trusts only the public key in `tests/fixtures/{file}`.
async fn spawn_with_public_key(backend: &Backend, file: &str) -> TestApp {
    let path = fixture(file);
    TestApp::spawn_with(backend, |settings| {
        settings.jwt_secret = None;
        settings.jwt_public_key = Some(path);
    })
    .await
}

/// `{ viewer { user { id } } }` sent with `Authorization: Bearer <token>`.
async fn viewer(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), VIEWER, json!({})).await
}

/// `{ viewer { user { id } } }` sent with this exact `Authorization` header.
async fn viewer_with_authorization(app: &TestApp, authorization: &str) -> Value {
    app.http
        .post(app.url("/graphql"))
        .header("authorization", authorization)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a JSON response")
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

// --- no token and malformed tokens -------------------------------------------------------------

async fn without_a_token_only_introspection_is_answered(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;

    assert_refused(&app.graphql(None, VIEWER, json!({})).await, "a request without a token");
    let schema = app.graphql(None, INTROSPECTION, json!({})).await;
    assert_eq!(data(&schema)["__schema"]["queryType"]["name"], "Query");

    assert_accepted_as(&viewer(&app, &app.token(admin)).await, admin, "a valid token");
}

async fn malformed_tokens_and_other_schemes_are_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let token = app.token(admin);

    for bad in ["not.a.jwt", "garbage", "a.b", "...", ""] {
        assert_refused(&viewer_with_authorization(&app, &format!("Bearer {bad}")).await, &format!("token {bad:?}"));
    }
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("admin:secret"));
    assert_refused(&viewer_with_authorization(&app, &basic).await, "an `Authorization: Basic` header");
    assert_refused(&viewer_with_authorization(&app, &token).await, "a valid token without the `Bearer` scheme");
    assert_refused(&viewer_with_authorization(&app, &format!("Basic {token}")).await, "a valid token sent as Basic");
    let truncated = &token[..token.len() - 4];
    assert_refused(&viewer(&app, truncated).await, "a valid token with its signature cut short");

    assert_accepted_as(&viewer_with_authorization(&app, &format!("Bearer {token}")).await, admin, "a valid token");
}

// --- signatures and algorithms ------------------------------------------------------------------

async fn a_token_signed_with_another_secret_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;

    let forged = hs256(&claims(admin), b"another-secret-that-is-also-long-enough-for-hs256");
    assert_refused(&viewer(&app, &forged).await, "an HS256 token signed with another secret");

    assert_accepted_as(&viewer(&app, &with_test_secret(&claims(admin))).await, admin, "the same claims, signed right");
}

async fn an_unsigned_alg_none_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;

    let token = unsigned(&claims(admin));
    assert!(token.ends_with('.'), "an alg:none token has an empty signature");
    assert_refused(&viewer(&app, &token).await, "an alg:none token");

    assert_accepted_as(&viewer(&app, &with_test_secret(&claims(admin))).await, admin, "the same claims, signed");
}

async fn with_an_rsa_public_key_only_rs256_signed_by_its_private_key_is_accepted(backend: Backend) {
    let app = spawn_with_public_key(&backend, "rsa_public.pem").await;
    assert!(app.app.signer.is_none(), "a server with a public key signs no tokens");
    let (_, admin) = app.organization("Noord").await;

    assert_accepted_as(&viewer(&app, &sign(Algorithm::RS256, &claims(admin), &rsa_key())).await, admin, "RS256");

    let public_pem = fixture_bytes("rsa_public.pem");
    assert_refused(
        &viewer(&app, &hs256(&claims(admin), &public_pem)).await,
        "HS256 keyed with the RSA public key PEM (algorithm confusion)",
    );
    assert_refused(&viewer(&app, &with_test_secret(&claims(admin))).await, "HS256 with the default test secret");
    assert_refused(&viewer(&app, &sign(Algorithm::RS512, &claims(admin), &rsa_key())).await, "RS512, not pinned");
    assert_refused(&viewer(&app, &sign(Algorithm::ES256, &claims(admin), &ec_key())).await, "ES256 with another key");
    assert_refused(&viewer(&app, &unsigned(&claims(admin))).await, "an alg:none token");
}

async fn with_an_ec_public_key_only_es256_signed_by_its_private_key_is_accepted(backend: Backend) {
    let app = spawn_with_public_key(&backend, "ec_public.pem").await;
    assert!(app.app.signer.is_none(), "a server with a public key signs no tokens");
    let (_, admin) = app.organization("Noord").await;

    assert_accepted_as(&viewer(&app, &sign(Algorithm::ES256, &claims(admin), &ec_key())).await, admin, "ES256");

    let public_pem = fixture_bytes("ec_public.pem");
    assert_refused(
        &viewer(&app, &hs256(&claims(admin), &public_pem)).await,
        "HS256 keyed with the EC public key PEM (algorithm confusion)",
    );
    assert_refused(&viewer(&app, &with_test_secret(&claims(admin))).await, "HS256 with the default test secret");
    assert_refused(&viewer(&app, &sign(Algorithm::RS256, &claims(admin), &rsa_key())).await, "RS256 with another key");
    assert_refused(&viewer(&app, &unsigned(&claims(admin))).await, "an alg:none token");
}

// --- time ---------------------------------------------------------------------------------------

async fn an_expired_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let now = Utc::now();

    let mut expired = claims(admin);
    expired["iat"] = json!((now - Duration::hours(1)).timestamp());
    expired["exp"] = json!((now - Duration::minutes(10)).timestamp());
    assert_refused(&viewer(&app, &with_test_secret(&expired)).await, "a token that expired 10 minutes ago");

    let mut fresh = claims(admin);
    fresh["exp"] = json!((now + Duration::minutes(10)).timestamp());
    assert_accepted_as(&viewer(&app, &with_test_secret(&fresh)).await, admin, "a token valid for 10 more minutes");
}

async fn a_token_not_valid_before_a_future_time_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let now = Utc::now();

    let mut early = claims(admin);
    early["nbf"] = json!((now + Duration::minutes(10)).timestamp());
    assert_refused(&viewer(&app, &with_test_secret(&early)).await, "a token with nbf 10 minutes from now");

    let mut ready = claims(admin);
    ready["nbf"] = json!((now - Duration::minutes(10)).timestamp());
    assert_accepted_as(&viewer(&app, &with_test_secret(&ready)).await, admin, "a token with nbf 10 minutes ago");
}

async fn a_token_without_exp_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;

    let forever = without(claims(admin), "exp");
    assert_refused(&viewer(&app, &with_test_secret(&forever)).await, "a token without exp");

    assert_accepted_as(&viewer(&app, &with_test_secret(&claims(admin))).await, admin, "the same token with exp");
}

// --- audience and issuer ------------------------------------------------------------------------

async fn a_token_for_another_audience_is_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.jwt_audience = Some(AUDIENCE.to_owned())).await;
    let (_, admin) = app.organization("Noord").await;

    let mut elsewhere = claims(admin);
    elsewhere["aud"] = json!("another-service");
    assert_refused(&viewer(&app, &with_test_secret(&elsewhere)).await, "a token for another audience");

    let mut ours = claims(admin);
    ours["aud"] = json!(AUDIENCE);
    assert_accepted_as(&viewer(&app, &with_test_secret(&ours)).await, admin, "a token for `inzage`");
    assert_accepted_as(&viewer(&app, &app.token(admin)).await, admin, "a token of the server's own signer");

    let none = without(claims(admin), "aud");
    assert_refused(&viewer(&app, &with_test_secret(&none)).await, "a token without aud when one is required");
    let mut many = claims(admin);
    many["aud"] = json!(["another-service", AUDIENCE]);
    assert_accepted_as(&viewer(&app, &with_test_secret(&many)).await, admin, "an aud array that names `inzage`");
    many["aud"] = json!(["another-service"]);
    assert_refused(&viewer(&app, &with_test_secret(&many)).await, "an aud array without `inzage`");
}

async fn a_token_without_iss_is_refused_when_an_issuer_is_configured(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.jwt_issuer = Some(ISSUER.to_owned())).await;
    let (_, admin) = app.organization("Noord").await;
    let none = without(claims(admin), "iss");
    assert_refused(&viewer(&app, &with_test_secret(&none)).await, "a token without iss");
    let mut ours = claims(admin);
    ours["iss"] = json!(ISSUER);
    assert_accepted_as(&viewer(&app, &with_test_secret(&ours)).await, admin, "a token from the issuer");
}

async fn the_bearer_scheme_is_case_insensitive_and_exp_may_carry_a_fraction(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let token = app.token(admin);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = viewer_with_authorization(&app, &format!("{scheme} {token}")).await;
        assert_accepted_as(&response, admin, scheme);
    }
    let mut fractional = claims(admin);
    fractional["exp"] = json!((Utc::now() + Duration::minutes(10)).timestamp() as f64 + 0.5);
    assert_accepted_as(&viewer(&app, &with_test_secret(&fractional)).await, admin, "a fractional exp");
}

async fn a_token_from_another_issuer_is_refused(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.jwt_issuer = Some(ISSUER.to_owned())).await;
    let (_, admin) = app.organization("Noord").await;

    let mut foreign = claims(admin);
    foreign["iss"] = json!("https://login.elsewhere.example");
    assert_refused(&viewer(&app, &with_test_secret(&foreign)).await, "a token from another issuer");

    let mut ours = claims(admin);
    ours["iss"] = json!(ISSUER);
    assert_accepted_as(&viewer(&app, &with_test_secret(&ours)).await, admin, "a token from the configured issuer");
    assert_accepted_as(&viewer(&app, &app.token(admin)).await, admin, "a token of the server's own signer");
}

// --- who the token names ------------------------------------------------------------------------

async fn a_token_for_an_unknown_or_malformed_subject_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;

    let stranger = Uuid::new_v4();
    assert_refused(&viewer(&app, &with_test_secret(&claims(stranger))).await, "a token for an unknown user id");
    assert_refused(&viewer(&app, &with_test_secret(&claims("admin"))).await, "a token whose sub is not a UUID");
    assert_refused(&viewer(&app, &with_test_secret(&claims(""))).await, "a token whose sub is empty");
    assert_refused(&viewer(&app, &with_test_secret(&without(claims(admin), "sub"))).await, "a token without sub");

    assert_accepted_as(&viewer(&app, &with_test_secret(&claims(admin))).await, admin, "a token for a known user");
}

async fn a_deactivated_users_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    let token = app.token(counselor);
    assert_accepted_as(&viewer(&app, &token).await, counselor, "an active user's token");

    let deactivated = app.as_user(admin, SET_ACTIVE, json!({ "id": counselor, "active": false })).await;
    assert_eq!(data(&deactivated)["setUserActive"]["active"], false);
    assert_refused(&viewer(&app, &token).await, "the same token after its user was deactivated");
    assert_refused(
        &app.graphql(Some(&token), SET_ACTIVE, json!({ "id": counselor, "active": true })).await,
        "a deactivated user reactivating themselves",
    );

    let reactivated = app.as_user(admin, SET_ACTIVE, json!({ "id": counselor, "active": true })).await;
    assert_eq!(data(&reactivated)["setUserActive"]["active"], true);
    assert_accepted_as(&viewer(&app, &token).await, counselor, "the same token after reactivation");
}

async fn roles_come_from_the_database_not_the_token(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;

    let mut boasting = claims(client);
    boasting["roles"] = json!(["ADMINISTRATOR"]);
    let token = with_test_secret(&boasting);
    let response = app.graphql(Some(&token), "{ viewer { roles user { id } } }", json!({})).await;
    assert_eq!(data(&response)["viewer"]["roles"], json!(["CLIENT"]));
    assert_eq!(data(&response)["viewer"]["user"]["id"], client.to_string());

    let attempt = app.graphql(Some(&token), SET_ACTIVE, json!({ "id": admin, "active": false })).await;
    // A client may not even see the administrator's account (NOT_FOUND); either way, refused.
    assert!(
        matches!(error_code(&attempt), Some("FORBIDDEN" | "NOT_FOUND")) && attempt["data"].is_null(),
        "a client with an ADMINISTRATOR claim deactivated the administrator: {attempt:#}"
    );
    let still = app.as_user(admin, VIEWER, json!({})).await;
    assert_accepted_as(&still, admin, "the administrator, after the client's attempt");
}

on_every_database!(
    without_a_token_only_introspection_is_answered,
    malformed_tokens_and_other_schemes_are_refused,
    a_token_signed_with_another_secret_is_refused,
    an_unsigned_alg_none_token_is_refused,
    with_an_rsa_public_key_only_rs256_signed_by_its_private_key_is_accepted,
    with_an_ec_public_key_only_es256_signed_by_its_private_key_is_accepted,
    an_expired_token_is_refused,
    a_token_not_valid_before_a_future_time_is_refused,
    a_token_without_exp_is_refused,
    a_token_for_another_audience_is_refused,
    a_token_without_iss_is_refused_when_an_issuer_is_configured,
    the_bearer_scheme_is_case_insensitive_and_exp_may_carry_a_fraction,
    a_token_from_another_issuer_is_refused,
    a_token_for_an_unknown_or_malformed_subject_is_refused,
    a_deactivated_users_token_is_refused,
    roles_come_from_the_database_not_the_token,
);
