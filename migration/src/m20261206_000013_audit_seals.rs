//! Sealing the access log: where each row was written (on PostgreSQL the id of its
//! transaction; SQLite uses the rowid), and the chain of seals over those positions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            // Filled in by PostgreSQL, so writing a row costs the application nothing more. A
            // BRIN index: transaction ids grow with the table, and it is almost free to keep.
            let db = manager.get_connection();
            db.execute_unprepared(
                "ALTER TABLE audit_event ADD COLUMN written_xid bigint NOT NULL \
                 DEFAULT (pg_current_xact_id()::text)::bigint",
            )
            .await?;
            db.execute_unprepared("CREATE INDEX ix_audit_event_written ON audit_event USING brin (written_xid)")
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("audit_seal")
                    .col(ColumnDef::new("seq").big_integer().not_null().primary_key())
                    .col(ColumnDef::new("sealed_at").timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new("from_position").big_integer().not_null())
                    .col(ColumnDef::new("until_position").big_integer().not_null())
                    .col(ColumnDef::new("row_count").big_integer().not_null())
                    .col(ColumnDef::new("root").binary().not_null())
                    .col(ColumnDef::new("previous_hash").binary().not_null())
                    .col(ColumnDef::new("hash").binary().not_null())
                    .col(ColumnDef::new("row_index").binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_audit_seal_until")
                    .table("audit_seal")
                    .col("until_position")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("audit_seal").to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE audit_event DROP COLUMN written_xid").await?;
        }
        Ok(())
    }
}
