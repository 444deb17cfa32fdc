//! Trajectory types.

use async_graphql::{ID, SimpleObject};

use crate::graphql::enums::TrajectoryKind;

/// A care protocol: the template a trajectory follows.
#[derive(SimpleObject, Debug, Clone)]
pub struct Protocol {
    pub id: ID,
    pub name: String,
    pub kind: TrajectoryKind,
}
