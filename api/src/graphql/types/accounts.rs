//! Accounts and organisations.

use async_graphql::{Context, ID, Object};
use inzage_entity::{organization, user};
use uuid::Uuid;

use super::client::{self, Client, Tool};
use super::groups::{Conversation, Group, NewsPost, with_people};
use super::notifications::Notification;
use super::trajectories::{Delegation, Protocol, Provider, Task, Trajectory, visible_trajectories, with_clients};
use super::workflows::{ConsentRequest, Project, consent_requests};
use crate::access::{Access, Listing};
use crate::auth::Viewer as AuthViewer;
use crate::domain::accounts;
use crate::domain::{conversations, delegations, groups, news, notifications, trajectories, workflows};
use crate::error::{ApiError, FieldResult};
use crate::graphql::ContextExt;
use crate::graphql::enums::{ConsentStatus, DelegationStatus, OrganizationKind, Role, TaskStatus, TrajectoryStatus};
use crate::graphql::pagination::{connection, cursor, page_size};
use crate::graphql::{guard, prefetch};
use crate::policy;
use async_graphql::connection::Connection;
use inzage_entity::AuditAction;

/// An account the viewer may see.
pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn roles(&self, ctx: &Context<'_>) -> FieldResult<Vec<Role>> {
        let roles = ctx.loaders().roles.load_one(self.0.id).await?.unwrap_or_default();
        Ok(roles.iter().map(Role::from).collect())
    }

    async fn active(&self) -> bool {
        self.0.active
    }

    async fn organization(&self, ctx: &Context<'_>) -> FieldResult<Organization> {
        let org = ctx.loaders().organizations.load_one(self.0.organization_id).await?;
        Ok(Organization(org.ok_or_else(|| ApiError::internal("account without organisation"))?))
    }

    /// Self, ADMINISTRATOR and SECRETARY of the same organisation; otherwise FORBIDDEN.
    async fn email(&self, ctx: &Context<'_>) -> FieldResult<Option<&str>> {
        let viewer = ctx.viewer()?;
        policy::accounts::read_email(viewer.roles, accounts::relation(viewer, &self.0)).check()?;
        Ok(Some(&self.0.email))
    }

    async fn accepts_delegations(&self) -> bool {
        self.0.accepts_delegations
    }
}

pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> OrganizationKind {
        self.0.kind.into()
    }

    /// The roles a trajectory or team member may be given; an organisation starts with a few
    /// common ones.
    async fn member_roles(&self, ctx: &Context<'_>) -> FieldResult<Vec<String>> {
        Ok(ctx.loaders().member_roles.load_one(self.0.id).await?.unwrap_or_default())
    }

    /// Default protocol for intervention guidance trajectories; null when none is set.
    async fn guidance_protocol(&self, ctx: &Context<'_>) -> FieldResult<Option<Protocol>> {
        let Some(id) = self.0.guidance_protocol_id else { return Ok(None) };
        Ok(ctx.loaders().protocols.load_one(id).await?.map(Protocol))
    }
}

/// The authenticated user and what hangs off them.
pub struct Viewer(pub AuthViewer);

#[Object]
impl Viewer {
    async fn user(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let account = ctx.loaders().users.load_one(self.0.user_id).await?;
        Ok(User(account.ok_or_else(|| ApiError::internal("viewer's account vanished"))?))
    }

    async fn organization(&self, ctx: &Context<'_>) -> FieldResult<Organization> {
        let org = ctx.loaders().organizations.load_one(self.0.organization_id).await?;
        Ok(Organization(org.ok_or_else(|| ApiError::internal("viewer without organisation"))?))
    }

    async fn roles(&self) -> Vec<Role> {
        self.0.roles.iter().map(Role::from).collect()
    }

    /// Clients linked to the viewer as counselor (direct or through a group).
    async fn caseload(&self, ctx: &Context<'_>) -> FieldResult<Vec<Client>> {
        let op = ctx.operation()?;
        let rows = ctx
            .loaders()
            .access
            .list(&ctx.app().db, op.viewer, op.now, Listing::Caseload, None, None, CASELOAD_LIMIT)
            .await?;
        for client in &rows {
            guard::found(ctx, client, AuditAction::Read)?;
        }
        Ok(client::list(ctx, rows, &[ctx.look_ahead()]).await?)
    }

    /// News of every group the viewer is a member of, newest first, whatever the group's
    /// visibility (`NewsPost.group` is null for an INVISIBLE group's members).
    async fn news(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, NewsPost>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let (rows, visible) = news::of_viewer(ctx.app().db.conn(), &self.0, after, limit).await?;
        let look_ahead = ctx.look_ahead();
        let groups = [look_ahead.field("nodes").field("group"), look_ahead.field("edges").field("node").field("group")];
        let shown: Vec<Uuid> =
            rows.iter().filter(|row| visible.contains_key(&row.group_id)).map(|row| row.group_id).collect();
        prefetch::group_people(ctx, &shown, &groups).await?;
        let rows = rows
            .into_iter()
            .map(|model| {
                let group = visible.get(&model.group_id).cloned();
                NewsPost { model, group }
            })
            .collect();
        Ok(connection(rows, limit, after, |post: &NewsPost| post.model.id))
    }

    /// The viewer's notifications, oldest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] unread_only: Option<bool>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, Notification>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let rows = notifications::page(ctx.app().db.conn(), self.0.user_id, unread_only.unwrap_or(false), after, limit)
            .await?;
        let rows: Vec<Notification> = rows.into_iter().map(Notification).collect();
        Ok(connection(rows, limit, after, |n: &Notification| n.0.id))
    }

    /// As a client: requests addressed to me. As a professional: requests about my access.
    /// Newest first.
    async fn consent_requests(
        &self,
        ctx: &Context<'_>,
        status: Option<ConsentStatus>,
    ) -> FieldResult<Vec<ConsentRequest>> {
        let op = ctx.operation()?;
        let rows = workflows::requests_for(ctx.app().db.conn(), op.viewer, status.map(Into::into), op.now).await?;
        consent_requests(ctx, rows).await
    }

    /// The trajectories the viewer is the client of or works in (as primary coach, member or
    /// through a team), newest first.
    async fn trajectories(&self, ctx: &Context<'_>, status: Option<TrajectoryStatus>) -> FieldResult<Vec<Trajectory>> {
        let rows = trajectories::of_viewer(ctx.app().db.conn(), &self.0, status.map(Into::into)).await?;
        let visible = visible_trajectories(ctx, rows).await?;
        for trajectory in &visible {
            guard::trajectory(ctx, &trajectory.client)?;
        }
        Ok(visible)
    }

    /// Dossiers delegated to the viewer, newest first.
    async fn delegations(&self, ctx: &Context<'_>, status: Option<DelegationStatus>) -> FieldResult<Vec<Delegation>> {
        let op = ctx.operation()?;
        let rows = delegations::of_delegate(ctx.app().db.conn(), &self.0, status.map(Into::into), op.now).await?;
        let pairs = with_clients(ctx, rows, |d| d.client_id).await?;
        Ok(pairs.into_iter().map(|(model, client)| Delegation { model, client }).collect())
    }

    /// Tasks of the trajectories the viewer works in, oldest first.
    async fn tasks(&self, ctx: &Context<'_>, status: Option<TaskStatus>) -> FieldResult<Vec<Task>> {
        let rows = trajectories::tasks_of_viewer(ctx.app().db.conn(), &self.0, status.map(Into::into)).await?;
        // The viewer's access to every task's client is loaded at once, not per task; tasks of
        // trajectories the viewer no longer sees are left out.
        let op = ctx.operation()?;
        let ids: Vec<Uuid> = rows.iter().map(|(_, trajectory)| trajectory.client_id).collect();
        let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &ids).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(model, trajectory)| {
                let client =
                    found.get(&trajectory.client_id).filter(|c| trajectories::sees(c, &trajectory)).cloned()?;
                Some(Task { model, trajectory: Some(trajectory), client: Some(client) })
            })
            .collect())
    }

    /// The intervention providers the viewer's organisation works with (for its professionals;
    /// empty for anyone else).
    async fn providers(&self, ctx: &Context<'_>) -> FieldResult<Vec<Provider>> {
        let rows = delegations::providers_of(ctx.app().db.conn(), &self.0).await?;
        Ok(rows.into_iter().map(Provider).collect())
    }

    /// The care groups that exist for the viewer.
    async fn groups(&self, ctx: &Context<'_>) -> FieldResult<Vec<Group>> {
        with_people(ctx, groups::of_viewer(ctx.app().db.conn(), &self.0).await?).await
    }

    /// The conversations the viewer takes part in, newest first.
    async fn conversations(&self, ctx: &Context<'_>) -> FieldResult<Vec<Conversation>> {
        Ok(conversations::of_viewer(ctx.app().db.conn(), &self.0).await?.into_iter().map(Conversation).collect())
    }

    /// The projects of the viewer's organisation (for its professionals; empty for anyone else).
    async fn projects(&self, ctx: &Context<'_>) -> FieldResult<Vec<Project>> {
        let rows = workflows::projects_of(ctx.app().db.conn(), &self.0).await?;
        Ok(rows.into_iter().map(Project).collect())
    }

    /// The tools the viewer owns (a client's assigned and self-help tools, a relative's own).
    async fn tools(&self, ctx: &Context<'_>) -> FieldResult<Vec<Tool>> {
        let tools = ctx.loaders().tools.load_one(self.0.user_id).await?.unwrap_or_default();
        Ok(tools.into_iter().map(|model| Tool { model, owner_access: Access::own() }).collect())
    }
}

/// The most clients `viewer.caseload` returns; `clients` pages through any number.
const CASELOAD_LIMIT: u64 = 10_000;
