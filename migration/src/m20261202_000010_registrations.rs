//! Registrations: people who sign up with an organisation, for its secretaries to process.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("registration")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("display_name", 200))
                    .col(string_len("email", 254))
                    .col(string_len_null("phone", 50))
                    .col(date_null("birth_date"))
                    .col(text_null("note"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("submitted_at"))
                    .col(timestamp_with_time_zone_null("processed_at"))
                    .col(uuid_null("processed_by"))
                    .col(uuid_null("client_id"))
                    .col(text_null("reason"))
                    .foreign_key(&mut fk("registration", "organization_id", "organization"))
                    .foreign_key(&mut fk("registration", "processed_by", "app_user"))
                    .foreign_key(&mut fk("registration", "client_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_registration_organization", "registration", &["organization_id", "status", "id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("registration").to_owned()).await
    }
}
