//! Care groups with their members, counselors and reports; conversations and messages.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An `(owner, user)` link table with its reverse index.
fn link(table: &'static str, owner: &'static str, owner_table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(uuid(owner))
        .col(uuid("user_id"))
        .col(timestamp_with_time_zone("added_at"))
        .primary_key(Index::create().col(owner).col("user_id"))
        .foreign_key(&mut fk(table, owner, owner_table))
        .foreign_key(&mut fk(table, "user_id", "app_user"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("care_group")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(string_len("visibility", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("care_group", "organization_id", "organization"))
                    .to_owned(),
            )
            .await?;
        for (table, owner, owner_table) in [
            ("group_member", "group_id", "care_group"),
            ("group_counselor", "group_id", "care_group"),
            ("conversation_participant", "conversation_id", "conversation"),
        ] {
            if table == "conversation_participant" {
                manager
                    .create_table(
                        Table::create()
                            .table("conversation")
                            .col(uuid("id").primary_key())
                            .col(uuid_null("group_id"))
                            .col(uuid("created_by"))
                            .col(timestamp_with_time_zone("created_at"))
                            .foreign_key(&mut fk("conversation", "group_id", "care_group"))
                            .to_owned(),
                    )
                    .await?;
            }
            manager.create_table(link(table, owner, owner_table)).await?;
            manager.create_index(index(&format!("ix_{table}_user"), table, &["user_id", owner])).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("group_report")
                    .col(uuid("id").primary_key())
                    .col(uuid("group_id"))
                    .col(uuid("author_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("group_report", "group_id", "care_group"))
                    .foreign_key(&mut fk("group_report", "author_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_group_report_group", "group_report", &["group_id", "id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("message")
                    .col(uuid("id").primary_key())
                    .col(uuid("conversation_id"))
                    .col(uuid("sender_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("sent_at"))
                    .foreign_key(&mut fk("message", "conversation_id", "conversation"))
                    .foreign_key(&mut fk("message", "sender_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_message_conversation", "message", &["conversation_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["message", "conversation_participant", "conversation", "group_report", "group_counselor", "group_member"]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table("care_group").to_owned()).await
    }
}
