pub mod accounts;
pub mod clients;
pub mod workflows;
