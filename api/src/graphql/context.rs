//! What resolvers find in their context: the service's shared data, and the request's viewer
//! and loaders.

use async_graphql::{Context, ID};
use uuid::Uuid;

use super::loaders::{LazyLoaders, Loaders};
use crate::audit::ReadLog;
use crate::auth::{Authentication, Viewer};
use crate::clock::SharedClock;
use crate::db::Database;
use crate::domain::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::{Limited, RateLimits};

/// Shared by every request.
#[derive(Clone)]
pub struct AppData {
    pub db: Database,
    pub clock: SharedClock,
    /// How long emergency access lasts.
    pub emergency_duration: chrono::Duration,
    /// Per-person limits on mutations that could be abused.
    pub rate_limits: std::sync::Arc<RateLimits>,
    /// What live subscribers load for each event, batched across every subscriber here.
    pub live: std::sync::Arc<super::loaders::LiveLoaders>,
}

/// One request's identity.
#[derive(Clone)]
pub struct RequestData {
    pub auth: Authentication,
    pub request_id: String,
    /// The client's address, where known (see `INZAGE_CLIENT_ADDRESS_HEADER`).
    pub client_address: Option<std::net::IpAddr>,
}

/// Typed access to the context.
pub trait ContextExt {
    fn app(&self) -> &AppData;
    fn loaders(&self) -> &Loaders;
    /// The viewer, or `UNAUTHENTICATED`.
    fn viewer(&self) -> ApiResult<&Viewer>;
    /// The request's access log of reads.
    fn read_log(&self) -> ApiResult<&ReadLog>;
    /// The viewer, the time and the request id, for a domain operation.
    fn operation(&self) -> ApiResult<Operation<'_>>;
    /// Counts one use of a rate-limited mutation by the viewer; `RATE_LIMITED` when over.
    fn rate_limit(&self, action: Limited) -> impl std::future::Future<Output = ApiResult<()>> + Send;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &AppData {
        self.data_unchecked::<AppData>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<LazyLoaders>().get()
    }

    fn viewer(&self) -> ApiResult<&Viewer> {
        match self.data_opt::<RequestData>() {
            Some(request) => request.auth.viewer(),
            None => Authentication::Anonymous.viewer(),
        }
    }

    fn read_log(&self) -> ApiResult<&ReadLog> {
        self.viewer()?;
        // Subscriptions have no per-request access log: client data is read with queries.
        self.data_opt::<std::sync::Arc<ReadLog>>()
            .map(|log| log.as_ref())
            .ok_or_else(|| ApiError::forbidden("read client data with a query, not over a subscription"))
    }

    fn operation(&self) -> ApiResult<Operation<'_>> {
        let viewer = self.viewer()?;
        let request_id = self.data_opt::<RequestData>().map(|r| r.request_id.as_str()).unwrap_or_default();
        Ok(Operation { viewer, now: self.app().clock.now(), request_id })
    }

    fn rate_limit(&self, action: Limited) -> impl std::future::Future<Output = ApiResult<()>> + Send {
        let limits = self.app().rate_limits.clone();
        let user = self.viewer().map(|viewer| viewer.user_id);
        async move { limits.check(action, user?).await }
    }
}

/// Parses an `ID` argument; `BAD_USER_INPUT` at `field` when it is not a UUID.
pub fn parse_id(id: &ID, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}

/// Parses a list of `ID`s; `BAD_USER_INPUT` at `field[index]` for the first that is not a UUID.
pub fn parse_ids(ids: &[ID], field: &str) -> ApiResult<Vec<Uuid>> {
    ids.iter().enumerate().map(|(index, id)| parse_id(id, &format!("{field}[{index}]"))).collect()
}
