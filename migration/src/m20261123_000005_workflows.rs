//! Professionals in workflows, with the participant's consent: projects, workflows, their
//! professionals, participations and consent requests.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("project")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("project", "organization_id").to("organization", "id"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_project_organization", "project", &["organization_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("workflow")
                    .col(uuid("id").primary_key())
                    .col(uuid("project_id"))
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(boolean("allow_append_professionals"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(ForeignKey::create().from("workflow", "project_id").to("project", "id"))
                    .foreign_key(ForeignKey::create().from("workflow", "organization_id").to("organization", "id"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_workflow_project", "workflow", &["project_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("workflow_professional")
                    .col(uuid("workflow_id"))
                    .col(uuid("professional_id"))
                    .col(integer("access_days"))
                    .col(text("reason"))
                    .col(timestamp_with_time_zone("added_at"))
                    .primary_key(Index::create().col("workflow_id").col("professional_id"))
                    .foreign_key(ForeignKey::create().from("workflow_professional", "workflow_id").to("workflow", "id"))
                    .foreign_key(
                        ForeignKey::create().from("workflow_professional", "professional_id").to("app_user", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_workflow_professional_professional",
                "workflow_professional",
                &["professional_id", "workflow_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("participation")
                    .col(uuid("id").primary_key())
                    .col(uuid("workflow_id"))
                    .col(uuid("participant_id"))
                    .col(timestamp_with_time_zone("started_at"))
                    .foreign_key(ForeignKey::create().from("participation", "workflow_id").to("workflow", "id"))
                    .foreign_key(ForeignKey::create().from("participation", "participant_id").to("app_user", "id"))
                    .to_owned(),
            )
            .await?;
        // Once per workflow; also "the participations of a workflow".
        manager
            .create_index(
                index("ux_participation_workflow_participant", "participation", &["workflow_id", "participant_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_participation_participant", "participation", &["participant_id", "workflow_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consent_request")
                    .col(uuid("id").primary_key())
                    .col(string_len("kind", 32))
                    .col(string_len("status", 16))
                    .col(uuid("client_id"))
                    .col(uuid_null("professional_id"))
                    .col(uuid("workflow_id"))
                    .col(uuid("participation_id"))
                    .col(text("reason"))
                    .col(integer_null("access_days"))
                    .col(timestamp_with_time_zone_null("ends_at"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(timestamp_with_time_zone_null("granted_until"))
                    .col(timestamp_with_time_zone_null("warned_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .foreign_key(ForeignKey::create().from("consent_request", "client_id").to("app_user", "id"))
                    .foreign_key(ForeignKey::create().from("consent_request", "professional_id").to("app_user", "id"))
                    .foreign_key(ForeignKey::create().from("consent_request", "workflow_id").to("workflow", "id"))
                    .foreign_key(
                        ForeignKey::create().from("consent_request", "participation_id").to("participation", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // A client's requests; a participation's requests.
        manager.create_index(index("ix_consent_request_client", "consent_request", &["client_id", "id"])).await?;
        manager
            .create_index(index("ix_consent_request_participation", "consent_request", &["participation_id", "id"]))
            .await?;
        // The CONSENT basis: a professional's grants towards clients.
        manager
            .create_index(index(
                "ix_consent_request_professional",
                "consent_request",
                &["professional_id", "client_id", "status", "granted_until"],
            ))
            .await?;
        // The scheduler: grants not yet ended, by deadline.
        manager.create_index(index("ix_consent_request_open", "consent_request", &["ended_at", "granted_until"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["consent_request", "participation", "workflow_professional", "workflow", "project"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
