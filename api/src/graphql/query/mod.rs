pub mod accounts;
pub mod clients;
pub mod groups;
pub mod trajectories;
pub mod workflows;
