//! Trajectories with members and teams, tasks, intervention providers and their programs, and
//! dossier delegations.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A `(owner, user)` membership table with a role.
fn membership(table: &'static str, owner: &'static str, owner_table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(uuid(owner))
        .col(uuid("user_id"))
        .col(string_len("role", 200))
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
                    .table("protocol")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(string_len("kind", 32))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("protocol", "organization_id", "organization"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("organization").add_column(uuid_null("guidance_protocol_id")).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("provider")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(uuid_null("default_executor_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("provider", "organization_id", "organization"))
                    .foreign_key(&mut fk("provider", "default_executor_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_provider_organization", "provider", &["organization_id", "id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("program")
                    .col(uuid("id").primary_key())
                    .col(uuid("provider_id"))
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(string_len("executor_mode", 16))
                    .col(uuid_null("executor_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("program", "provider_id", "provider"))
                    .foreign_key(&mut fk("program", "executor_id", "app_user"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_program_provider", "program", &["provider_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("trajectory")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(uuid("client_id"))
                    .col(string_len("title", 200))
                    .col(string_len("kind", 32))
                    .col(string_len("status", 16))
                    .col(uuid_null("protocol_id"))
                    .col(uuid_null("primary_coach_id"))
                    .col(uuid_null("program_id"))
                    .col(uuid_null("parent_id"))
                    .col(timestamp_with_time_zone("opened_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .foreign_key(&mut fk("trajectory", "client_id", "app_user"))
                    .foreign_key(&mut fk("trajectory", "primary_coach_id", "app_user"))
                    .foreign_key(&mut fk("trajectory", "protocol_id", "protocol"))
                    .foreign_key(&mut fk("trajectory", "program_id", "program"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_trajectory_client", "trajectory", &["client_id", "status", "id"])).await?;
        manager
            .create_index(index("ix_trajectory_coach", "trajectory", &["primary_coach_id", "status", "client_id"]))
            .await?;

        manager.create_table(membership("trajectory_member", "trajectory_id", "trajectory")).await?;
        manager
            .create_index(index("ix_trajectory_member_user", "trajectory_member", &["user_id", "trajectory_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("team")
                    .col(uuid("id").primary_key())
                    .col(uuid("organization_id"))
                    .col(string_len("name", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("team", "organization_id", "organization"))
                    .to_owned(),
            )
            .await?;
        manager.create_table(membership("team_member", "team_id", "team")).await?;
        manager.create_index(index("ix_team_member_user", "team_member", &["user_id", "team_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("trajectory_team")
                    .col(uuid("trajectory_id"))
                    .col(uuid("team_id"))
                    .col(timestamp_with_time_zone("assigned_at"))
                    .primary_key(Index::create().col("trajectory_id").col("team_id"))
                    .foreign_key(&mut fk("trajectory_team", "trajectory_id", "trajectory"))
                    .foreign_key(&mut fk("trajectory_team", "team_id", "team"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_trajectory_team_team", "trajectory_team", &["team_id", "trajectory_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("task")
                    .col(uuid("id").primary_key())
                    .col(uuid("trajectory_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .foreign_key(&mut fk("task", "trajectory_id", "trajectory"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_task_trajectory", "task", &["trajectory_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("delegation")
                    .col(uuid("id").primary_key())
                    .col(uuid("client_id"))
                    .col(uuid("delegate_id"))
                    .col(uuid_null("trajectory_id"))
                    .col(uuid_null("granted_by"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone_null("ends_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(timestamp_with_time_zone_null("warned_at"))
                    .foreign_key(&mut fk("delegation", "client_id", "app_user"))
                    .foreign_key(&mut fk("delegation", "delegate_id", "app_user"))
                    .foreign_key(&mut fk("delegation", "trajectory_id", "trajectory"))
                    .to_owned(),
            )
            .await?;
        // The DELEGATION basis; a trajectory's delegations; the scheduler.
        manager
            .create_index(index("ix_delegation_delegate", "delegation", &["delegate_id", "client_id", "status"]))
            .await?;
        manager.create_index(index("ix_delegation_trajectory", "delegation", &["trajectory_id"])).await?;
        manager.create_index(index("ix_delegation_open", "delegation", &["status", "ended_at", "ends_at"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "delegation",
            "task",
            "trajectory_team",
            "team_member",
            "team",
            "trajectory_member",
            "trajectory",
            "program",
            "provider",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table("organization").drop_column("guidance_protocol_id").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("protocol").to_owned()).await
    }
}
