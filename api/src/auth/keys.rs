//! Token keys: which keys and algorithms are accepted, and signing for development.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use inzage_entity::instance_setting;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::VerifyingKey;
use super::jwks::Jwks;
use crate::config::Settings;

/// Why a PostgreSQL deployment without a key refuses to start.
pub const NO_KEY_CONFIGURED: &str = "no token key configured: set INZAGE_JWKS_URL (your identity \
     provider's JWK set), INZAGE_JWT_PUBLIC_KEY (PEM file with its RS256/ES256 public key) or \
     INZAGE_JWT_SECRET (HS256)";

/// The prefix a `typ` header may carry (RFC 9068: `application/at+jwt` means `at+jwt`).
const MEDIA_TYPE_PREFIX: &str = "application/";

/// The `instance_setting` key of the generated development secret.
const DEV_SECRET_KEY: &str = "dev_jwt_secret";

/// The claims Inzage reads from a verified token. `iss`, `aud` and `nbf` are checked by
/// jsonwebtoken from the raw token (so `aud` may be a string or an array, as RFC 7519 allows).
#[derive(Debug, Deserialize)]
struct VerifiedClaims {
    sub: String,
    /// NumericDate: may carry a fraction.
    exp: f64,
}

/// The claims of tokens Inzage signs itself (development).
#[derive(Debug, Serialize)]
struct SignedClaims {
    sub: String,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Where the keys come from.
#[derive(Debug)]
enum Keys {
    /// One configured key: the HS256 secret, or the PEM public key (with its `kid`, if given).
    Single(Arc<VerifyingKey>),
    /// The identity provider's JWK set.
    Set(Arc<Jwks>),
}

/// Checks access tokens against the configured keys, each pinned to its algorithm.
pub struct TokenVerifier {
    keys: Keys,
    /// The claim checks; the algorithm is set to the chosen key's for each token.
    validation: Validation,
    /// The required `typ` header, without its `application/` prefix, lower-cased.
    token_type: Option<String>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").field("keys", &self.keys).field("token_type", &self.token_type).finish()
    }
}

impl TokenVerifier {
    fn new(keys: Keys, settings: &Settings) -> Self {
        let mut validation = Validation {
            validate_exp: true,
            validate_nbf: true,
            leeway: settings.jwt_leeway_seconds,
            ..Validation::default()
        };
        // A configured issuer or audience must be present, not merely correct when present.
        let mut required = vec!["exp", "sub"];
        if settings.jwt_issuer.is_some() {
            required.push("iss");
        }
        if settings.jwt_audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &settings.jwt_issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &settings.jwt_audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let token_type = settings.jwt_type.as_deref().map(normalized_type);
        Self { keys, validation, token_type }
    }

    /// Whether any key is available: always with a configured key; with a JWK set, once it has
    /// been read.
    pub fn has_keys(&self) -> bool {
        match &self.keys {
            Keys::Single(_) => true,
            Keys::Set(jwks) => jwks.has_keys(),
        }
    }

    /// Starts re-reading the JWK set every `INZAGE_JWKS_REFRESH`; nothing to do for a single
    /// configured key. The task runs until aborted.
    pub fn spawn_refresh(&self) -> Option<tokio::task::JoinHandle<()>> {
        match &self.keys {
            Keys::Single(_) => None,
            Keys::Set(jwks) => Some(jwks.spawn_refresh()),
        }
    }

    /// The user id (`sub`) and expiry of a valid token, or why it was refused (safe to show).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|err| refusal(&err).to_owned())?;
        if let Some(expected) = &self.token_type
            && header.typ.as_deref().map(normalized_type).as_ref() != Some(expected)
        {
            return Err("the token's type (typ) is not accepted".into());
        }
        let key = match &self.keys {
            Keys::Single(key) => {
                if key.kid.is_some() && header.kid != key.kid {
                    return Err("the token's key (kid) is not known".into());
                }
                Arc::clone(key)
            }
            Keys::Set(jwks) => jwks.key_for(header.kid.as_deref(), header.alg).await?,
        };
        let mut validation = self.validation.clone();
        validation.algorithms = vec![key.algorithm];
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, &key.key, &validation)
            .map_err(|err| refusal(&err).to_owned())?;
        let user_id =
            Uuid::parse_str(&data.claims.sub).map_err(|_| "the token's subject is not a user id".to_owned())?;
        let expires_at = DateTime::from_timestamp(data.claims.exp.floor() as i64, 0)
            .ok_or_else(|| "the token's expiry is invalid".to_owned())?;
        Ok(VerifiedToken { user_id, expires_at })
    }
}

/// Why jsonwebtoken refused a token, in words safe to show.
fn refusal(err: &jsonwebtoken::errors::Error) -> &'static str {
    match err.kind() {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
        ErrorKind::InvalidAudience => "the token is for another audience",
        ErrorKind::InvalidIssuer => "the token is from another issuer",
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted",
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
        _ => "the token is malformed",
    }
}

/// A `typ` value as compared: without the `application/` prefix, lower-cased.
fn normalized_type(typ: &str) -> String {
    let typ = typ.trim();
    let bare = match typ.get(..MEDIA_TYPE_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(MEDIA_TYPE_PREFIX) => &typ[MEDIA_TYPE_PREFIX.len()..],
        _ => typ,
    };
    bare.to_ascii_lowercase()
}

/// Signs development tokens with the HS256 secret.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
    /// The `typ` header, when one is required (`INZAGE_JWT_TYPE`); `JWT` otherwise.
    token_type: Option<String>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(HS256)")
    }
}

impl TokenSigner {
    /// A token for `user_id`, valid from `now` for `ttl`.
    pub fn sign(&self, user_id: Uuid, now: DateTime<Utc>, ttl: std::time::Duration) -> String {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
        let claims = SignedClaims {
            sub: user_id.to_string(),
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        if let Some(token_type) = &self.token_type {
            header.typ = Some(token_type.clone());
        }
        // Encoding our own claims with an HMAC key cannot fail.
        jsonwebtoken::encode(&header, &claims, &self.key)
            .unwrap_or_else(|err| unreachable!("HS256 signing failed: {err}"))
    }
}

/// The keys the configuration asks for: exactly one of an HS256 secret, a PEM public key and a
/// JWK set. Without any key, SQLite databases get a development secret generated once and stored
/// with them (so tokens survive restarts); PostgreSQL refuses to start, because a production
/// database must not trust a secret nobody configured. A JWK set is read once here; when that
/// fails the service still starts (and refuses tokens until a later read succeeds).
pub async fn load_keys(
    settings: &Settings,
    db: &impl ConnectionTrait,
) -> Result<(TokenVerifier, Option<TokenSigner>), String> {
    let configured = [settings.jwt_secret.is_some(), settings.jwt_public_key.is_some(), settings.jwks_url.is_some()];
    if configured.into_iter().filter(|set| *set).count() > 1 {
        return Err("configure exactly one of INZAGE_JWT_SECRET, INZAGE_JWT_PUBLIC_KEY and INZAGE_JWKS_URL".into());
    }
    if settings.jwt_key_id.is_some() && settings.jwt_public_key.is_none() {
        return Err("INZAGE_JWT_KEY_ID names the key of INZAGE_JWT_PUBLIC_KEY, which is not set".into());
    }
    if let Some(location) = &settings.jwks_url {
        let jwks = Jwks::open(location, settings.jwks_refresh, settings.jwks_min_refresh)?;
        jwks.load().await;
        return Ok((TokenVerifier::new(Keys::Set(jwks), settings), None));
    }
    if let Some(path) = &settings.jwt_public_key {
        let pem = std::fs::read(path)
            .map_err(|err| format!("cannot read INZAGE_JWT_PUBLIC_KEY {}: {err}", path.display()))?;
        let (key, algorithm) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            (key, Algorithm::RS256)
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            (key, Algorithm::ES256)
        } else {
            return Err(format!(
                "INZAGE_JWT_PUBLIC_KEY {} is not an RSA or EC (P-256) public key in PEM form",
                path.display()
            ));
        };
        let key = VerifyingKey { kid: settings.jwt_key_id.clone(), algorithm, key };
        return Ok((TokenVerifier::new(Keys::Single(Arc::new(key)), settings), None));
    }
    if let Some(secret) = &settings.jwt_secret {
        if secret.len() < 32 {
            tracing::warn!("INZAGE_JWT_SECRET is shorter than 32 bytes; use a long random secret");
        }
        return Ok(hs256(secret.as_bytes(), settings));
    }
    if settings.is_postgres() {
        return Err(NO_KEY_CONFIGURED.into());
    }
    let secret = development_secret(db).await.map_err(|err| format!("database: {err}"))?;
    Ok(hs256(secret.as_bytes(), settings))
}

fn hs256(secret: &[u8], settings: &Settings) -> (TokenVerifier, Option<TokenSigner>) {
    let key = VerifyingKey { kid: None, algorithm: Algorithm::HS256, key: DecodingKey::from_secret(secret) };
    let verifier = TokenVerifier::new(Keys::Single(Arc::new(key)), settings);
    let signer = TokenSigner {
        key: EncodingKey::from_secret(secret),
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
        token_type: settings.jwt_type.clone(),
    };
    (verifier, Some(signer))
}

/// Reads the database's development secret, generating and storing it the first time.
async fn development_secret(db: &impl ConnectionTrait) -> Result<String, sea_orm::DbErr> {
    if let Some(row) = instance_setting::Entity::find_by_id(DEV_SECRET_KEY.to_owned()).one(db).await? {
        return Ok(row.value);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let generated = hex::encode(bytes);
    let row = instance_setting::ActiveModel { key: Set(DEV_SECRET_KEY.to_owned()), value: Set(generated) };
    // Two processes starting at once may both generate; the first insert wins and both read it.
    let _ =
        instance_setting::Entity::insert(row).on_conflict_do_nothing_on([instance_setting::Column::Key]).exec(db).await;
    let stored = instance_setting::Entity::find_by_id(DEV_SECRET_KEY.to_owned()).one(db).await?;
    stored.map(|row| row.value).ok_or_else(|| sea_orm::DbErr::RecordNotFound(DEV_SECRET_KEY.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_types_compare_without_case_or_media_type_prefix() {
        assert_eq!(normalized_type("at+jwt"), "at+jwt");
        assert_eq!(normalized_type("AT+JWT"), "at+jwt");
        assert_eq!(normalized_type("application/at+jwt"), "at+jwt");
        assert_eq!(normalized_type("Application/AT+JWT"), "at+jwt");
        assert_eq!(normalized_type("JWT"), "jwt");
        assert_ne!(normalized_type("application/jwt"), normalized_type("at+jwt"));
    }
}
