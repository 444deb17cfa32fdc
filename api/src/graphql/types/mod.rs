//! Output types of the contract, one module per area.

pub mod accounts;
pub mod client;
pub mod emergency;
pub mod export;
pub mod groups;
pub mod notifications;
pub mod registrations;
pub mod trajectories;
pub mod workflows;
