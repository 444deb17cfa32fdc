//! Care group types.

use async_graphql::{ID, SimpleObject};

use crate::graphql::enums::GroupVisibility;

/// A care group: counselors linked to many members at once.
#[derive(SimpleObject, Debug, Clone)]
pub struct Group {
    pub id: ID,
    pub name: String,
    pub visibility: GroupVisibility,
}
