//! Token keys: which algorithm is accepted, and signing for development.

use chrono::{DateTime, Utc};
use inzage_entity::instance_setting;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Settings;

/// Why a PostgreSQL deployment without a key refuses to start.
pub const NO_KEY_CONFIGURED: &str = "no token key configured: set INZAGE_JWT_SECRET (HS256) or \
     INZAGE_JWT_PUBLIC_KEY (PEM file with your identity provider's RS256/ES256 public key)";

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

/// Checks access tokens against the one configured key and algorithm.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").field("algorithms", &self.validation.algorithms).finish()
    }
}

impl TokenVerifier {
    fn new(key: DecodingKey, algorithm: Algorithm, settings: &Settings) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = settings.jwt_leeway_seconds;
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
        Self { key, validation }
    }

    /// The user id (`sub`) and expiry of a valid token, or why it was refused (safe to show).
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, String> {
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, &self.key, &self.validation).map_err(|err| {
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
            .to_owned()
        })?;
        let user_id =
            Uuid::parse_str(&data.claims.sub).map_err(|_| "the token's subject is not a user id".to_owned())?;
        let expires_at = DateTime::from_timestamp(data.claims.exp.floor() as i64, 0)
            .ok_or_else(|| "the token's expiry is invalid".to_owned())?;
        Ok(VerifiedToken { user_id, expires_at })
    }
}

/// Signs development tokens with the HS256 secret.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
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
        // Encoding our own claims with an HMAC key cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .unwrap_or_else(|err| unreachable!("HS256 signing failed: {err}"))
    }
}

/// The keys the configuration asks for. Without any key, SQLite databases get a development
/// secret generated once and stored with them (so tokens survive restarts); PostgreSQL refuses
/// to start, because a production database must not trust a secret nobody configured.
pub async fn load_keys(
    settings: &Settings,
    db: &impl ConnectionTrait,
) -> Result<(TokenVerifier, Option<TokenSigner>), String> {
    match (&settings.jwt_secret, &settings.jwt_public_key) {
        (Some(_), Some(_)) => {
            Err("both INZAGE_JWT_SECRET and INZAGE_JWT_PUBLIC_KEY are set: configure exactly one key".into())
        }
        (Some(secret), None) => {
            if secret.len() < 32 {
                tracing::warn!("INZAGE_JWT_SECRET is shorter than 32 bytes; use a long random secret");
            }
            Ok(hs256(secret.as_bytes(), settings))
        }
        (None, Some(path)) => {
            let pem = std::fs::read(path)
                .map_err(|err| format!("cannot read INZAGE_JWT_PUBLIC_KEY {}: {err}", path.display()))?;
            let verifier = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                TokenVerifier::new(key, Algorithm::RS256, settings)
            } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
                TokenVerifier::new(key, Algorithm::ES256, settings)
            } else {
                return Err(format!(
                    "INZAGE_JWT_PUBLIC_KEY {} is not an RSA or EC (P-256) public key in PEM form",
                    path.display()
                ));
            };
            Ok((verifier, None))
        }
        (None, None) if settings.is_postgres() => Err(NO_KEY_CONFIGURED.into()),
        (None, None) => {
            let secret = development_secret(db).await.map_err(|err| format!("database: {err}"))?;
            Ok(hs256(secret.as_bytes(), settings))
        }
    }
}

fn hs256(secret: &[u8], settings: &Settings) -> (TokenVerifier, Option<TokenSigner>) {
    let verifier = TokenVerifier::new(DecodingKey::from_secret(secret), Algorithm::HS256, settings);
    let signer = TokenSigner {
        key: EncodingKey::from_secret(secret),
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
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
