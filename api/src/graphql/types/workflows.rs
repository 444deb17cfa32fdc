//! Workflow types.

use async_graphql::{ID, SimpleObject};

/// A partner's workflow that professionals take part in with the participant's consent.
#[derive(SimpleObject, Debug, Clone)]
pub struct Workflow {
    pub id: ID,
    pub name: String,
}
