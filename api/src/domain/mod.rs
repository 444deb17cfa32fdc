//! Business operations, one module per area. Each mutation is one transaction that writes its
//! rows, its audit rows and its notification rows together or not at all.

pub mod accounts;
pub mod care;
pub mod conversations;
pub mod delegations;
pub mod emergency;
pub mod export;
pub mod groups;
pub mod links;
pub mod news;
pub mod notifications;
pub mod people;
pub mod registrations;
pub mod teams;
pub mod trajectories;
pub mod values;
pub mod workflows;

use chrono::{DateTime, Utc};

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::auth::Viewer;
use crate::db::Database;
use crate::error::ApiError;

/// Who performs an operation, when, and in which request (for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub viewer: &'a Viewer,
    pub now: DateTime<Utc>,
    pub request_id: &'a str,
}

impl Operation<'_> {
    /// Writes the change's access-log row inside `txn`, the change's own transaction, so that
    /// the row and the change commit together or not at all.
    pub async fn log(&self, txn: &impl ConnectionTrait, entry: AuditEntry) -> Result<(), DbErr> {
        audit::write(txn, self.viewer, self.now, self.request_id, entry).await
    }

    /// Writes several rows of the change inside `txn` (in as few statements as fit).
    pub async fn log_many(&self, txn: &impl ConnectionTrait, entries: Vec<AuditEntry>) -> Result<(), DbErr> {
        audit::write_many(txn, self.viewer, self.now, self.request_id, entries).await
    }

    /// Writes `entry` once in the access log of each of `clients` (the clients whose access the
    /// change alters), or once without a client when there is none, inside `txn`.
    pub async fn log_for(
        &self,
        txn: &impl ConnectionTrait,
        entry: AuditEntry,
        clients: impl IntoIterator<Item = Uuid>,
    ) -> Result<(), DbErr> {
        let mut entries: Vec<AuditEntry> =
            clients.into_iter().map(|client| AuditEntry { client_id: Some(client), ..entry }).collect();
        if entries.is_empty() {
            entries.push(AuditEntry { client_id: None, ..entry });
        }
        self.log_many(txn, entries).await
    }

    /// Logs a refused change (a DENIED row, written outside the change's transaction, which is
    /// dropped) and returns `error` for the client.
    pub async fn refuse_with(&self, db: &Database, entry: AuditEntry, error: ApiError) -> ApiError {
        if let Err(err) = audit::write(db.conn(), self.viewer, self.now, self.request_id, entry).await {
            tracing::error!(error = %err, "writing a DENIED audit row failed");
        }
        error
    }

    /// Logs a refused change and returns `FORBIDDEN` with the policy's `reason`.
    pub async fn refuse(&self, db: &Database, entry: AuditEntry, reason: &str) -> ApiError {
        self.refuse_with(db, entry, ApiError::forbidden(reason)).await
    }
}
