//! Output types of the contract, one module per area.

pub mod accounts;
pub mod trajectories;
