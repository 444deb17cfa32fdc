//! Who is asking: JWT verification, and the viewer loaded from the database.
//!
//! Tokens come from the platform's identity provider (its JWK set, read by URL or from a file,
//! or one RS256/ES256 public key) or, in development, are signed with an HS256 secret. Each key
//! pins its one algorithm; `exp` and `sub` are required, `nbf` is checked, `iss` and `aud` when
//! configured, and the `typ` header when `INZAGE_JWT_TYPE` is set. The token only says who the
//! user is: roles and organisation are read from the database on every request, so an
//! administrator's change takes effect at once.

mod jwks;
mod keys;

pub use keys::{NO_KEY_CONFIGURED, TokenSigner, TokenVerifier, VerifiedToken, load_keys};

use inzage_entity::{user, user_role};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::policy::RoleSet;

/// A verification key bound to the one algorithm it accepts (a configured key, or one of a JWK
/// set). Both `keys` (which holds the configured ones) and `jwks` (which reads sets) use it.
pub(crate) struct VerifyingKey {
    /// The key id tokens name in their header, when the key has one.
    pub kid: Option<String>,
    pub algorithm: jsonwebtoken::Algorithm,
    pub key: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish()
    }
}

/// The authenticated user of one request, as the database says they are now.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub roles: RoleSet,
    pub display_name: String,
}

/// The outcome of authenticating one request or connection.
#[derive(Debug, Clone)]
pub enum Authentication {
    /// No credentials were presented: only introspection is answered.
    Anonymous,
    /// A valid token of an active account.
    Viewer(Viewer),
    /// Credentials were presented and refused; the reason is safe to show.
    Refused(String),
    /// The account could not be checked (the database failed): an internal error, not the
    /// client's.
    Unavailable,
}

impl Authentication {
    /// The viewer, or `UNAUTHENTICATED` for anything else.
    pub fn viewer(&self) -> ApiResult<&Viewer> {
        match self {
            Self::Viewer(viewer) => Ok(viewer),
            Self::Anonymous => {
                Err(ApiError::Unauthenticated("authentication required: send `Authorization: Bearer <token>`".into()))
            }
            Self::Refused(reason) => Err(ApiError::Unauthenticated(reason.clone())),
            Self::Unavailable => Err(ApiError::internal("the viewer's account could not be loaded")),
        }
    }
}

/// Authenticates an `Authorization` header value (or its absence).
pub async fn authenticate(
    db: &impl ConnectionTrait,
    verifier: &TokenVerifier,
    authorization: Option<&str>,
) -> Authentication {
    let Some(header) = authorization else {
        return Authentication::Anonymous;
    };
    let Some(token) = bearer_token(header) else {
        return Authentication::Refused("the Authorization header must be `Bearer <token>`".into());
    };
    authenticate_token(db, verifier, token).await.0
}

/// The token of a `Bearer <token>` value (the scheme is case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

/// Authenticates a bare token; also returns when it expires, for connections that outlive a
/// request.
pub async fn authenticate_token(
    db: &impl ConnectionTrait,
    verifier: &TokenVerifier,
    token: &str,
) -> (Authentication, Option<chrono::DateTime<chrono::Utc>>) {
    let verified = match verifier.verify(token).await {
        Ok(verified) => verified,
        Err(reason) => return (Authentication::Refused(reason), None),
    };
    let auth = match load_viewer(db, verified.user_id).await {
        Ok(Some(viewer)) => Authentication::Viewer(viewer),
        Ok(None) => Authentication::Refused("unknown or deactivated account".into()),
        Err(err) => {
            tracing::error!(error = %err, "loading the viewer failed");
            Authentication::Unavailable
        }
    };
    (auth, Some(verified.expires_at))
}

/// Loads an active account and its roles, in one statement (a row per role); `None` when
/// unknown or deactivated.
pub async fn load_viewer(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Option<Viewer>, sea_orm::DbErr> {
    Ok(load_viewers(db, &[user_id]).await?.remove(&user_id))
}

/// [`load_viewer`] for many accounts at once: one statement whatever their number; unknown and
/// deactivated accounts are absent.
pub async fn load_viewers(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Viewer>, sea_orm::DbErr> {
    use crate::db::AmongIds;
    use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
    let query = Query::select()
        .column((user::Entity, user::Column::Id))
        .column((user::Entity, user::Column::OrganizationId))
        .column((user::Entity, user::Column::DisplayName))
        .column((user_role::Entity, user_role::Column::Role))
        .from(user::Entity)
        .join(
            JoinType::LeftJoin,
            user_role::Entity,
            Expr::col((user_role::Entity, user_role::Column::UserId)).equals((user::Entity, user::Column::Id)),
        )
        .and_where(user::Column::Id.among(db, user_ids.iter().copied()))
        .and_where(Expr::col((user::Entity, user::Column::Active)).eq(true))
        .to_owned();
    let mut viewers = std::collections::HashMap::new();
    for row in db.query_all(&query).await? {
        let user_id: Uuid = row.try_get("", "id")?;
        let viewer = match viewers.entry(user_id) {
            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::hash_map::Entry::Vacant(first) => {
                let organization_id: Uuid = row.try_get("", "organization_id")?;
                let display_name: String = row.try_get("", "display_name")?;
                first.insert(Viewer { user_id, organization_id, roles: RoleSet::new(), display_name })
            }
        };
        if let Some(role) = row.try_get::<Option<inzage_entity::Role>>("", "role")? {
            viewer.roles.insert(role);
        }
    }
    Ok(viewers)
}
