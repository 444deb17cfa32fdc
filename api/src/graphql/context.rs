//! What resolvers find in their context: the service's shared data, and the request's viewer
//! and loaders.

use async_graphql::{Context, ID};
use uuid::Uuid;

use super::loaders::Loaders;
use crate::auth::{Authentication, Viewer};
use crate::clock::SharedClock;
use crate::db::Database;
use crate::error::{ApiError, ApiResult};

/// Shared by every request.
#[derive(Clone)]
pub struct AppData {
    pub db: Database,
    pub clock: SharedClock,
}

/// One request's identity.
#[derive(Clone)]
pub struct RequestData {
    pub auth: Authentication,
    pub request_id: String,
}

/// Typed access to the context.
pub trait ContextExt {
    fn app(&self) -> &AppData;
    fn loaders(&self) -> &Loaders;
    /// The viewer, or `UNAUTHENTICATED`.
    fn viewer(&self) -> ApiResult<&Viewer>;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &AppData {
        self.data_unchecked::<AppData>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }

    fn viewer(&self) -> ApiResult<&Viewer> {
        match self.data_opt::<RequestData>() {
            Some(request) => request.auth.viewer(),
            None => Authentication::Anonymous.viewer(),
        }
    }
}

/// Parses an `ID` argument; `BAD_USER_INPUT` at `field` when it is not a UUID.
pub fn parse_id(id: &ID, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}
