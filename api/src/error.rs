//! The one error type of the API, and how each variant reaches a client.
//!
//! Every error a client sees carries `extensions.code`. Internal errors are logged (inside the
//! request's span, so with its request id) and reach the client only as
//! `INTERNAL_SERVER_ERROR` with that request id: never SQL, never a stack trace.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// What went wrong, in the terms the client is told.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, a bad token, or an unknown or deactivated account. Code `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),
    /// The viewer may see the object but not do this with it. Code `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist for the viewer (whether or not it exists). Code `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
    /// An input value is invalid; `field` names it (e.g. `input.email`). Code `BAD_USER_INPUT`.
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// The request conflicts with the current state (a duplicate, the last administrator).
    /// Code `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// The person has used this mutation too often; try again after `retry_after`. Code
    /// `RATE_LIMITED`, with `extensions.retryAfterSeconds`.
    #[error("too many requests of this kind; try again in {} s", retry_after.as_secs())]
    RateLimited { retry_after: std::time::Duration },
    /// Anything the client cannot act on. Logged; shown as `INTERNAL_SERVER_ERROR`.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of domain operations.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput { field: field.into(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// The `extensions.code` a client sees.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

/// Turns a unique-constraint violation into a client error; every other database error stays
/// internal.
pub trait OnConstraint<T> {
    fn on_unique_violation(self, make: impl FnOnce() -> ApiError) -> ApiResult<T>;
}

impl<T> OnConstraint<T> for Result<T, DbErr> {
    fn on_unique_violation(self, make: impl FnOnce() -> ApiError) -> ApiResult<T> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => make(),
            _ => err.into(),
        })
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::RateLimited { retry_after } => ext.set("retryAfterSeconds", retry_after.as_secs()),
                _ => {}
            }
        })
    }
}

/// What resolvers return. It exists so that `?` on an [`ApiError`] keeps the error's code:
/// async-graphql turns anything `Display` into a plain message, and this type is not `Display`.
#[derive(Debug)]
pub struct FieldError(async_graphql::Error);

/// Result of resolvers.
pub type FieldResult<T> = Result<T, FieldError>;

impl From<ApiError> for FieldError {
    fn from(err: ApiError) -> Self {
        Self(err.extend())
    }
}

impl From<DbErr> for FieldError {
    fn from(err: DbErr) -> Self {
        ApiError::from(err).into()
    }
}

impl From<async_graphql::Error> for FieldError {
    fn from(err: async_graphql::Error) -> Self {
        Self(err)
    }
}

impl From<FieldError> for async_graphql::Error {
    fn from(err: FieldError) -> Self {
        err.0
    }
}

impl From<std::sync::Arc<DbErr>> for ApiError {
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

impl From<std::sync::Arc<DbErr>> for FieldError {
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        ApiError::from(err).into()
    }
}
