//! Business operations, one module per area. Each mutation is one transaction that writes its
//! rows, its audit rows and its notification rows together or not at all.

pub mod accounts;
pub mod care;
pub mod conversations;
pub mod delegations;
pub mod emergency;
pub mod export;
pub mod groups;
pub mod notifications;
pub mod trajectories;
pub mod values;
pub mod workflows;

use chrono::{DateTime, Utc};

use crate::auth::Viewer;

/// Who performs an operation, when, and in which request (for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub viewer: &'a Viewer,
    pub now: DateTime<Utc>,
    pub request_id: &'a str,
}
