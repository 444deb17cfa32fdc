//! Organisations, accounts and their roles, client contact details, per-database settings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization")
                    .col(uuid("id").primary_key())
                    .col(string_len("name", 200))
                    .col(string_len("kind", 32))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("app_user")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("email", 254))
                    .col(string_len("display_name", 200))
                    .col(boolean("active"))
                    .col(boolean("accepts_delegations"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_user_organization")
                            .from("app_user", "organization_id")
                            .to("organization", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ux_app_user_email").table("app_user").col("email").unique().to_owned())
            .await?;
        manager
            .create_index(
                Index::create().name("ix_app_user_organization").table("app_user").col("organization_id").to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("user_role")
                    .col(uuid("user_id"))
                    .col(string_len("role", 32))
                    .primary_key(Index::create().col("user_id").col("role"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_role_user")
                            .from("user_role", "user_id")
                            .to("app_user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Who in this organisation holds role R" (remaining administrators, secretaries).
        manager
            .create_index(
                Index::create().name("ix_user_role_role").table("user_role").col("role").col("user_id").to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("client_contact")
                    .col(uuid("user_id").primary_key())
                    .col(string_len_null("phone", 50))
                    .col(string_len_null("address", 500))
                    .col(date_null("birth_date"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_client_contact_user")
                            .from("client_contact", "user_id")
                            .to("app_user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("instance_setting")
                    .col(string_len("key", 100).primary_key())
                    .col(text("value"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["instance_setting", "client_contact", "user_role", "app_user", "organization"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
