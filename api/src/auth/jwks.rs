//! The identity provider's keys as a JWK set (RFC 7517), read from a URL or a file.
//!
//! Each usable key is bound to its one algorithm: the JWK's `alg` when present, otherwise the
//! one its type implies (RSA: RS256, EC P-256: ES256, EC P-384: ES384, Ed25519: EdDSA). Keys
//! for encryption, symmetric (`oct`) keys and keys whose `alg` does not fit them are skipped
//! with a warning. Tokens name their key by `kid`; a token without one is accepted only while
//! the set holds exactly one usable key.
//!
//! The set is read at start-up and again every `INZAGE_JWKS_REFRESH`, so keys the provider
//! removed stop being accepted. A token naming an unknown `kid` has it read again at once, but
//! at most once per `INZAGE_JWKS_MIN_REFRESH`, so tokens with made-up key ids cannot flood the
//! provider; verifications waiting meanwhile share that one read. A failed read keeps the last
//! good set.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::VerifyingKey;

/// Largest JWK set accepted, in bytes.
const MAX_SET_BYTES: usize = 1024 * 1024;

/// How long one request for the set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys of one read, in the order the set lists them.
type KeyList = Arc<[Arc<VerifyingKey>]>;

/// A JWK set's source and the keys last read from it.
pub(super) struct Jwks {
    source: Source,
    keys: RwLock<KeyList>,
    /// Reads finished so far, failed ones included: a verification that waited for a read uses
    /// its outcome instead of reading again.
    reads: AtomicU64,
    /// Held while reading; holds when a token with an unknown `kid` last caused a read.
    reading: tokio::sync::Mutex<Option<Instant>>,
    refresh: Duration,
    min_refresh: Duration,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("source", &self.source.to_string()).field("keys", &self.current().len()).finish()
    }
}

impl Jwks {
    /// A set read from `location` (nothing is read yet: see [`load`](Self::load)).
    pub(super) fn open(location: &str, refresh: Duration, min_refresh: Duration) -> Result<Arc<Self>, String> {
        if refresh.is_zero() {
            return Err("INZAGE_JWKS_REFRESH must be longer than zero".into());
        }
        Ok(Arc::new(Self {
            source: Source::parse(location)?,
            keys: RwLock::new(Arc::new([])),
            reads: AtomicU64::new(0),
            reading: tokio::sync::Mutex::new(None),
            refresh,
            min_refresh,
        }))
    }

    /// The first read, at start-up. A failure is logged, not returned: the service starts,
    /// refuses tokens, and reads again on the next token or refresh.
    pub(super) async fn load(&self) {
        if let Err(error) = self.read().await {
            tracing::error!(
                source = %self.source,
                %error,
                "cannot read the identity provider's JWK set; tokens are refused until it can be read"
            );
        }
    }

    /// Whether any usable key has been read.
    pub(super) fn has_keys(&self) -> bool {
        !self.current().is_empty()
    }

    /// The key a token with this `kid` and `alg` header names; reads the set again first when it
    /// does not know the key (within the limit of `min_refresh`). The error is safe to show.
    pub(super) async fn key_for(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<Arc<VerifyingKey>, String> {
        let reads = self.reads.load(Ordering::Acquire);
        match select(&self.current(), kid, algorithm) {
            Ok(key) => return Ok(key.clone()),
            Err(Miss::NoKeys | Miss::UnknownKid) => {}
            Err(miss) => return Err(miss.reason().to_owned()),
        }
        self.read_for_unknown_key(reads).await;
        select(&self.current(), kid, algorithm).map(Arc::clone).map_err(|miss| miss.reason().to_owned())
    }

    /// Reads the set every `refresh` until the task is aborted.
    pub(super) fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let jwks = Arc::clone(self);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + jwks.refresh;
            let mut ticks = tokio::time::interval_at(start, jwks.refresh);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = jwks.read().await {
                    tracing::warn!(source = %jwks.source, %error, "refreshing the JWK set failed; keeping the last good keys");
                }
            }
        })
    }

    fn current(&self) -> KeyList {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Reads the set because a token named a key it lacks, unless a read finished since the
    /// token was looked at (`reads_seen`) or the last such read began less than `min_refresh`
    /// ago.
    async fn read_for_unknown_key(&self, reads_seen: u64) {
        let mut last = self.reading.lock().await;
        if self.reads.load(Ordering::Acquire) != reads_seen {
            return;
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(error) = self.read_locked().await {
            tracing::warn!(source = %self.source, %error, "reading the JWK set for an unknown key id failed; keeping the last good keys");
        }
    }

    /// Reads the set now (waiting for a read under way to finish first).
    async fn read(&self) -> Result<(), String> {
        let _reading = self.reading.lock().await;
        self.read_locked().await
    }

    /// Reads and installs the set; the caller holds `reading`.
    async fn read_locked(&self) -> Result<(), String> {
        let result = match self.source.read().await {
            Ok(document) => parse_set(&document).map(|keys| self.install(keys)),
            Err(error) => Err(error),
        };
        self.reads.fetch_add(1, Ordering::Release);
        result
    }

    fn install(&self, keys: Vec<Arc<VerifyingKey>>) {
        let kids = |keys: &[Arc<VerifyingKey>]| keys.iter().map(|key| key.kid.clone()).collect::<Vec<_>>();
        let new_kids = kids(&keys);
        let mut current = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kids(&current) == new_kids {
            tracing::debug!(source = %self.source, keys = keys.len(), "read the JWK set; same key ids as before");
        } else {
            tracing::info!(source = %self.source, kids = ?new_kids, "read the JWK set");
        }
        *current = keys.into();
    }
}

/// Where a JWK set is read from. Shown (in logs) without credentials: see its `Display`.
enum Source {
    Http { url: reqwest::Url, client: reqwest::Client },
    File(PathBuf),
}

impl Source {
    /// `https://…` or `http://…`, `file:///…`, or a plain path.
    fn parse(location: &str) -> Result<Self, String> {
        let location = location.trim();
        if location.is_empty() {
            return Err("INZAGE_JWKS_URL is empty".into());
        }
        let scheme = location
            .split_once("://")
            .map(|(scheme, _)| scheme)
            .filter(|scheme| scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
        let Some(scheme) = scheme else {
            return Ok(Self::File(PathBuf::from(location)));
        };
        let url = reqwest::Url::parse(location).map_err(|err| format!("INZAGE_JWKS_URL is not a valid URL: {err}"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "https" | "http" => {
                if url.scheme() == "http" && !is_loopback(&url) {
                    tracing::warn!("INZAGE_JWKS_URL uses plain http: keys can be altered on the way; use https");
                }
                let client = reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .build()
                    .map_err(|err| format!("cannot set up the HTTP client for INZAGE_JWKS_URL: {err}"))?;
                Ok(Self::Http { url, client })
            }
            "file" => url
                .to_file_path()
                .map(Self::File)
                .map_err(|()| "INZAGE_JWKS_URL is not a valid file:// URL (use file:///absolute/path)".to_owned()),
            _ => Err("INZAGE_JWKS_URL must be an https://, http:// or file:// URL, or a path".into()),
        }
    }

    /// The document, at most [`MAX_SET_BYTES`] long.
    async fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Self::Http { url, client } => {
                let mut response = client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
                    .send()
                    .await
                    .map_err(http_error)?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("the server answered {status}"));
                }
                let mut document = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(http_error)? {
                    if document.len() + chunk.len() > MAX_SET_BYTES {
                        return Err(format!("the set is larger than {MAX_SET_BYTES} bytes"));
                    }
                    document.extend_from_slice(&chunk);
                }
                Ok(document)
            }
            Self::File(path) => {
                let document = tokio::fs::read(path).await.map_err(|err| err.to_string())?;
                if document.len() > MAX_SET_BYTES {
                    return Err(format!("the set is larger than {MAX_SET_BYTES} bytes"));
                }
                Ok(document)
            }
        }
    }
}

/// For logs: a URL without credentials, query or fragment (where secrets may sit), or a path.
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http { url, .. } => write!(f, "{}{}", url.origin().ascii_serialization(), url.path()),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Whether the URL's host is this machine (where plain http cannot be tampered with on the way).
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP error with its causes, without the URL.
fn http_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    message
}

/// A JWK set document; its keys are parsed one by one, so one odd key does not spoil the rest.
#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// The usable keys of a JWK set document. Keys that cannot be used are skipped with a warning;
/// a set without any usable key is an error (and so keeps the last good set).
fn parse_set(document: &[u8]) -> Result<Vec<Arc<VerifyingKey>>, String> {
    let document: Document =
        serde_json::from_slice(document).map_err(|_| "the document is not a JWK set (`{\"keys\": [...]}`)")?;
    let mut keys = Vec::with_capacity(document.keys.len());
    for (index, value) in document.keys.into_iter().enumerate() {
        let kid = value.get("kid").and_then(serde_json::Value::as_str).map(str::to_owned);
        let key = serde_json::from_value::<Jwk>(value)
            .map_err(|_| "it is not a valid JWK".to_owned())
            .and_then(|jwk| verifying_key(&jwk));
        match key {
            Ok(key) => keys.push(Arc::new(key)),
            Err(reason) => tracing::warn!(index, kid = kid.as_deref(), %reason, "skipping a key of the JWK set"),
        }
    }
    if keys.is_empty() {
        return Err("the JWK set holds no usable signing key".into());
    }
    Ok(keys)
}

/// A JWK as a key bound to its algorithm, or why it cannot be used.
fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, String> {
    let algorithm = bound_algorithm(jwk)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|err| format!("its key material is invalid: {err}"))?;
    Ok(VerifyingKey { kid: jwk.common.key_id.clone(), algorithm, key })
}

/// The one algorithm a JWK verifies: its `alg` when present (and fitting its type), otherwise
/// the one its type implies.
fn bound_algorithm(jwk: &Jwk) -> Result<Algorithm, String> {
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("its `use` is not `sig`".into()),
    }
    if let Some(operations) = &jwk.common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return Err("its `key_ops` do not include `verify`".into());
    }
    let fitting: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return Err("its curve is not supported (P-256 and P-384 are)".into()),
        },
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
        AlgorithmParameters::OctetKey(_) => return Err("symmetric (`oct`) keys are not accepted".into()),
        _ => return Err("its key type is not supported".into()),
    };
    match jwk.common.key_algorithm {
        None => Ok(fitting[0]),
        Some(declared) => Algorithm::try_from(declared)
            .ok()
            .filter(|algorithm| fitting.contains(algorithm))
            .ok_or_else(|| format!("its `alg` {declared} does not fit its key type")),
    }
}

/// Why no key of the set verifies a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    /// The set is empty (never read successfully).
    NoKeys,
    /// No key has the token's `kid`.
    UnknownKid,
    /// The token names no `kid`, and the set holds several keys.
    NoKid,
    /// The named key is bound to another algorithm than the token's.
    Algorithm,
}

impl Miss {
    /// Why the token is refused, safe to show.
    fn reason(self) -> &'static str {
        match self {
            Self::NoKeys => "the identity provider's keys are not available",
            Self::UnknownKid => "the token's key (kid) is not known",
            Self::NoKid => "the token does not name its key (kid)",
            Self::Algorithm => "the token's algorithm is not accepted",
        }
    }
}

/// The key of `keys` a token with this `kid` and `alg` header names. Several keys may share a
/// `kid` (for different algorithms); the one bound to `algorithm` is chosen.
fn select<'a>(
    keys: &'a [Arc<VerifyingKey>],
    kid: Option<&str>,
    algorithm: Algorithm,
) -> Result<&'a Arc<VerifyingKey>, Miss> {
    let key = match (kid, keys) {
        (_, []) => return Err(Miss::NoKeys),
        (Some(kid), _) => {
            let mut named = keys.iter().filter(|key| key.kid.as_deref() == Some(kid)).peekable();
            if named.peek().is_none() {
                return Err(Miss::UnknownKid);
            }
            return named.find(|key| key.algorithm == algorithm).ok_or(Miss::Algorithm);
        }
        (None, [only]) => only,
        (None, _) => return Err(Miss::NoKid),
    };
    if key.algorithm == algorithm { Ok(key) } else { Err(Miss::Algorithm) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A real P-256 public key (from RFC 7515, appendix A.3).
    fn ec_jwk(extra: serde_json::Value) -> Jwk {
        let mut jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        });
        jwk.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        serde_json::from_value(jwk).expect("a JWK")
    }

    /// An RSA public key (from RFC 7515, appendix A.2).
    fn rsa_jwk(extra: serde_json::Value) -> Jwk {
        let mut jwk = json!({
            "kty": "RSA",
            "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
            "e": "AQAB",
        });
        jwk.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        serde_json::from_value(jwk).expect("a JWK")
    }

    fn key(kid: Option<&str>, algorithm: Algorithm) -> Arc<VerifyingKey> {
        Arc::new(VerifyingKey {
            kid: kid.map(str::to_owned),
            algorithm,
            key: verifying_key(&ec_jwk(json!({}))).expect("a key").key,
        })
    }

    #[test]
    fn a_key_without_alg_is_bound_by_its_type() {
        assert_eq!(bound_algorithm(&rsa_jwk(json!({}))), Ok(Algorithm::RS256));
        assert_eq!(bound_algorithm(&ec_jwk(json!({}))), Ok(Algorithm::ES256));
        let p384: Jwk =
            serde_json::from_value(json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"})).expect("jwk");
        assert_eq!(bound_algorithm(&p384), Ok(Algorithm::ES384));
    }

    #[test]
    fn a_declared_alg_binds_the_key_when_it_fits_its_type() {
        assert_eq!(bound_algorithm(&rsa_jwk(json!({"alg": "RS512"}))), Ok(Algorithm::RS512));
        assert_eq!(bound_algorithm(&rsa_jwk(json!({"alg": "PS256"}))), Ok(Algorithm::PS256));
        assert_eq!(bound_algorithm(&ec_jwk(json!({"alg": "ES256", "use": "sig"}))), Ok(Algorithm::ES256));
        assert!(bound_algorithm(&rsa_jwk(json!({"alg": "ES256"}))).is_err(), "ES256 on an RSA key");
        assert!(bound_algorithm(&rsa_jwk(json!({"alg": "HS256"}))).is_err(), "HS256 on an RSA key");
        assert!(bound_algorithm(&ec_jwk(json!({"alg": "ES384"}))).is_err(), "ES384 on a P-256 key");
        assert!(bound_algorithm(&rsa_jwk(json!({"alg": "RSA-OAEP"}))).is_err(), "an encryption algorithm");
    }

    #[test]
    fn encryption_and_symmetric_keys_are_not_used() {
        assert!(bound_algorithm(&rsa_jwk(json!({"use": "enc"}))).is_err());
        assert!(bound_algorithm(&rsa_jwk(json!({"key_ops": ["encrypt"]}))).is_err());
        assert_eq!(bound_algorithm(&rsa_jwk(json!({"key_ops": ["verify"]}))), Ok(Algorithm::RS256));
        let oct: Jwk = serde_json::from_value(json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"})).expect("jwk");
        assert!(bound_algorithm(&oct).is_err());
    }

    #[test]
    fn a_set_keeps_its_usable_keys_and_skips_the_rest() {
        let document = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kid": "not a key"},
            "not even an object",
        ]});
        let keys = parse_set(document.to_string().as_bytes()).expect("a set");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ec"));
        assert_eq!(keys[0].algorithm, Algorithm::ES256);

        assert!(parse_set(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).is_err(), "no usable key");
        assert!(parse_set(br#"{"keys": []}"#).is_err(), "an empty set");
        assert!(parse_set(b"<html>").is_err(), "not JSON");
    }

    #[test]
    fn a_token_is_matched_to_its_key_by_kid_and_algorithm() {
        let keys =
            [key(Some("a"), Algorithm::RS256), key(Some("b"), Algorithm::ES256), key(Some("b"), Algorithm::PS256)];
        assert_eq!(select(&keys, Some("a"), Algorithm::RS256).map(|k| k.kid.clone()), Ok(Some("a".into())));
        let b = select(&keys, Some("b"), Algorithm::PS256).expect("b for PS256");
        assert_eq!((b.kid.as_deref(), b.algorithm), (Some("b"), Algorithm::PS256));
        assert_eq!(select(&keys, Some("a"), Algorithm::RS512).err(), Some(Miss::Algorithm));
        assert_eq!(select(&keys, Some("a"), Algorithm::HS256).err(), Some(Miss::Algorithm));
        assert_eq!(select(&keys, Some("c"), Algorithm::RS256).err(), Some(Miss::UnknownKid));
        assert_eq!(select(&keys, None, Algorithm::RS256).err(), Some(Miss::NoKid));
        assert_eq!(select(&[], Some("a"), Algorithm::RS256).err(), Some(Miss::NoKeys));
    }

    #[test]
    fn a_token_without_kid_needs_a_set_of_exactly_one_key() {
        let one = [key(Some("only"), Algorithm::ES256)];
        assert!(select(&one, None, Algorithm::ES256).is_ok());
        assert_eq!(select(&one, None, Algorithm::RS256).err(), Some(Miss::Algorithm));
        assert_eq!(select(&[], None, Algorithm::ES256).err(), Some(Miss::NoKeys));
    }

    #[test]
    fn sources_are_urls_or_paths_and_logged_without_secrets() {
        let https = Source::parse("https://user:pass@login.example/realm/certs?token=abc#x").expect("https");
        assert_eq!(https.to_string(), "https://login.example/realm/certs");
        assert!(
            matches!(Source::parse("file:///etc/inzage/jwks.json"), Ok(Source::File(p)) if p.as_path() == std::path::Path::new("/etc/inzage/jwks.json"))
        );
        assert!(
            matches!(Source::parse("jwks.json"), Ok(Source::File(p)) if p.as_path() == std::path::Path::new("jwks.json"))
        );
        assert!(Source::parse("ftp://login.example/certs").is_err());
        assert!(Source::parse("").is_err());
    }
}
