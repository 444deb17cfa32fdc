//! Business operations, one module per area. Each mutation is one transaction that writes its
//! rows (and, as the areas grow, its audit and notification rows) together or not at all.

pub mod accounts;
pub mod values;
