pub mod accounts;
pub mod care;
