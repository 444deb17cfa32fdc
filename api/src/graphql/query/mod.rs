pub mod accounts;
pub mod clients;
pub mod trajectories;
pub mod workflows;
