//! Database migrations of Inzage. The same migrations run on SQLite and PostgreSQL, at start-up
//! and through `inzage migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261123_000002_client_access;
mod m20261123_000003_expiry;
mod m20261123_000004_email_outbox;
mod m20261123_000005_workflows;
mod m20261123_000006_trajectories;
mod m20261123_000007_groups;
mod m20261202_000008_member_roles;
mod m20261202_000009_feedback_and_news;
mod m20261202_000010_registrations;
mod m20261206_000011_access_log_kinds;
mod m20261206_000012_rate_limits;
mod m20261206_000013_audit_seals;
mod m20261206_000014_audit_partitions;
mod m20261206_000015_live_listeners;
pub mod partitions;
mod util;

/// Every migration, in the order it is applied.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261123_000002_client_access::Migration),
            Box::new(m20261123_000003_expiry::Migration),
            Box::new(m20261123_000004_email_outbox::Migration),
            Box::new(m20261123_000005_workflows::Migration),
            Box::new(m20261123_000006_trajectories::Migration),
            Box::new(m20261123_000007_groups::Migration),
            Box::new(m20261202_000008_member_roles::Migration),
            Box::new(m20261202_000009_feedback_and_news::Migration),
            Box::new(m20261202_000010_registrations::Migration),
            Box::new(m20261206_000011_access_log_kinds::Migration),
            Box::new(m20261206_000012_rate_limits::Migration),
            Box::new(m20261206_000013_audit_seals::Migration),
            Box::new(m20261206_000014_audit_partitions::Migration),
            Box::new(m20261206_000015_live_listeners::Migration),
        ]
    }
}
