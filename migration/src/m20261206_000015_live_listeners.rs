//! Which instance has live subscribers for whom, so that an instance announces a commit only
//! when another one has someone to tell (see `events/interest.rs` in the API). Each instance
//! keeps a heartbeat row; the listener rows of an instance whose heartbeat stopped are swept.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("live_instance")
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("seen_at").timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("live_listener")
                    .col(ColumnDef::new("recipient_id").uuid().not_null())
                    .col(ColumnDef::new("instance_id").uuid().not_null())
                    .primary_key(Index::create().col("recipient_id").col("instance_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("live_listener").to_owned()).await?;
        manager.drop_table(Table::drop().table("live_instance").to_owned()).await
    }
}
