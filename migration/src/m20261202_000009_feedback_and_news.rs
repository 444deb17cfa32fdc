//! Counselors' feedback on tools, and the news posted in care groups.

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
                    .table("tool_feedback")
                    .col(uuid("id").primary_key())
                    .col(uuid("tool_id"))
                    .col(uuid("author_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("tool_feedback", "tool_id", "tool"))
                    .foreign_key(&mut fk("tool_feedback", "author_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_tool_feedback_tool", "tool_feedback", &["tool_id", "id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("news_post")
                    .col(uuid("id").primary_key())
                    .col(uuid("group_id"))
                    .col(uuid("author_id"))
                    .col(string_len("title", 200))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("posted_at"))
                    .foreign_key(&mut fk("news_post", "group_id", "care_group"))
                    .foreign_key(&mut fk("news_post", "author_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_news_post_group", "news_post", &["group_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("news_post").to_owned()).await?;
        manager.drop_table(Table::drop().table("tool_feedback").to_owned()).await
    }
}
