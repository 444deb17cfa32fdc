//! Rate limits shared by every instance on a database: per limit and subject (a person, an
//! organisation or an address), the instant its next use would be due (microseconds since the
//! epoch; see `ratelimit.rs` in the API).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rate_limit")
                    .col(ColumnDef::new("name").string_len(40).not_null())
                    .col(ColumnDef::new("subject").string_len(64).not_null())
                    .col(ColumnDef::new("tat_us").big_integer().not_null())
                    .primary_key(Index::create().col("name").col("subject"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("rate_limit").to_owned()).await
    }
}
