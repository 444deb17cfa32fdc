pub mod accounts;
pub mod clients;
