//! What professionals and the client's circle have to do with a client: care links, the
//! dossier, tools, emergency access, the access log, notifications, pseudonym keys.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A link table `(who, client)` with its reverse index, both pointing at accounts.
fn link_table(table: &'static str, who: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(uuid(who))
        .col(uuid("client_id"))
        .col(timestamp_with_time_zone("created_at"))
        .primary_key(Index::create().col(who).col("client_id"))
        .foreign_key(ForeignKey::create().from(table, who).to("app_user", "id").on_delete(ForeignKeyAction::Cascade))
        .foreign_key(
            ForeignKey::create().from(table, "client_id").to("app_user", "id").on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, who) in [
            ("caseload_link", "counselor_id"),
            ("supervision_link", "supervisor_id"),
            ("guardian_link", "guardian_id"),
            ("relative_link", "relative_id"),
        ] {
            manager.create_table(link_table(table, who)).await?;
            // "Who is linked to these clients" (counselors of a client, secretary views).
            manager.create_index(index(&format!("ix_{table}_client"), table, &["client_id", who])).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("dossier_entry")
                    .col(uuid("id").primary_key())
                    .col(uuid("client_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("title", 200))
                    .col(text("body"))
                    .col(uuid_null("author_id"))
                    .col(uuid_null("trajectory_id"))
                    .col(uuid_null("workflow_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("dossier_entry", "client_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_dossier_entry_client", "dossier_entry", &["client_id", "id"])).await?;
        manager.create_index(index("ix_dossier_entry_trajectory", "dossier_entry", &["trajectory_id"])).await?;
        manager
            .create_index(index("ix_dossier_entry_workflow", "dossier_entry", &["workflow_id", "client_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("tool")
                    .col(uuid("id").primary_key())
                    .col(uuid("owner_id"))
                    .col(uuid_null("counselor_id"))
                    .col(string_len("name", 200))
                    .col(text("content"))
                    .col(timestamp_with_time_zone("assigned_at"))
                    .foreign_key(ForeignKey::create().from("tool", "owner_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_tool_owner", "tool", &["owner_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("emergency_access")
                    .col(uuid("id").primary_key())
                    .col(uuid("client_id"))
                    .col(uuid("user_id"))
                    .col(text("reason"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .foreign_key(ForeignKey::create().from("emergency_access", "client_id").to("app_user", "id"))
                    .foreign_key(ForeignKey::create().from("emergency_access", "user_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_emergency_access_user", "emergency_access", &["user_id", "client_id", "ends_at"]))
            .await?;
        manager.create_index(index("ix_emergency_access_ends", "emergency_access", &["ends_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_event")
                    .col(uuid("id").primary_key())
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(uuid_null("actor_id"))
                    .col(string_len_null("actor_role", 32))
                    .col(uuid_null("client_id"))
                    .col(string_len("action", 32))
                    .col(string_len("object_type", 64))
                    .col(uuid_null("object_id"))
                    .col(string_len_null("basis", 32))
                    .col(uuid_null("grant_id"))
                    .col(string_len("outcome", 16))
                    .col(string_len_null("request_id", 64))
                    .col(boolean("emergency"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_audit_event_client", "audit_event", &["client_id", "id"])).await?;
        manager.create_index(index("ix_audit_event_actor", "audit_event", &["actor_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("notification")
                    .col(uuid("id").primary_key())
                    .col(uuid("recipient_id"))
                    .col(string_len("kind", 40))
                    .col(string_len("title", 300))
                    .col(uuid_null("client_id"))
                    .col(uuid_null("consent_request_id"))
                    .col(uuid_null("delegation_id"))
                    .col(uuid_null("task_id"))
                    .col(uuid_null("message_id"))
                    .col(uuid_null("emergency_access_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("notification", "recipient_id")
                            .to("app_user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_notification_recipient", "notification", &["recipient_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("organization_secret")
                    .col(uuid("organization_id").primary_key())
                    .col(text("pseudonym_key"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("organization_secret", "organization_id")
                            .to("organization", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "organization_secret",
            "notification",
            "audit_event",
            "emergency_access",
            "tool",
            "dossier_entry",
            "relative_link",
            "guardian_link",
            "supervision_link",
            "caseload_link",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
