//! SeaORM entities of Inzage: one module per table, plus the enums they share.
//!
//! Entities are storage only. The GraphQL contract has its own types in `inzage-api`; keeping
//! the two apart lets the schema evolve without touching the tables and keeps authorization
//! (which lives on the GraphQL side, through `policy/`) out of the storage layer.

pub mod client_contact;
pub mod enums;
pub mod instance_setting;
pub mod organization;
pub mod user;
pub mod user_role;

pub use enums::{OrganizationKind, Role};
