pub mod accounts;
pub mod care;
pub mod groups;
pub mod notifications;
pub mod registrations;
pub mod teams;
pub mod trajectories;
pub mod workflows;
