//! One access-log row per client, request, action, outcome and basis: the kinds of object read
//! under it are listed in `object_type`, separated by commas, which may be longer than one name.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite does not hold a text column to its declared length.
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table("audit_event")
                        .modify_column(ColumnDef::new("object_type").text().not_null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Rows listing several kinds may not fit the old length: the column stays as it is.
        Ok(())
    }
}
