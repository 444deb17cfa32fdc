//! The roles an organisation lets its trajectory and team members be given.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("member_role")
                    .col(uuid("organization_id"))
                    .col(integer("position"))
                    .col(string_len("name", 200))
                    .primary_key(Index::create().col("organization_id").col("position"))
                    .foreign_key(&mut fk("member_role", "organization_id", "organization"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("member_role").to_owned()).await
    }
}
