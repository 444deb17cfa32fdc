//! Expiry bookkeeping: when the scheduler warned about, and ended, a time-bound access.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in ["warned_at", "ended_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("emergency_access")
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_emergency_access_open")
                    .table("emergency_access")
                    .col("ended_at")
                    .col("ends_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_emergency_access_open").table("emergency_access").to_owned()).await?;
        for column in ["ended_at", "warned_at"] {
            manager.alter_table(Table::alter().table("emergency_access").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
