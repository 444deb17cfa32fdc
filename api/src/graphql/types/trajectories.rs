//! Trajectory types.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::graphql::enums::{TrajectoryKind, TrajectoryStatus};

/// A care protocol: the template a trajectory follows.
#[derive(SimpleObject, Debug, Clone)]
pub struct Protocol {
    pub id: ID,
    pub name: String,
    pub kind: TrajectoryKind,
}

/// A care episode of one client with a primary coach.
#[derive(SimpleObject, Debug, Clone)]
pub struct Trajectory {
    pub id: ID,
    pub title: String,
    pub kind: TrajectoryKind,
    pub status: TrajectoryStatus,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}
