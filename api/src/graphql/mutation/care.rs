use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::care::{self, CareLink, NewDossierEntry, NewTool};
use crate::domain::emergency;
use crate::domain::values::{DisplayName, Email};
use crate::error::{ApiResult, FieldResult};
use crate::graphql::enums::DossierEntryKind;
use crate::graphql::types::accounts::User;
use crate::graphql::types::client::{Client, DossierEntry, Tool, ToolFeedback};
use crate::graphql::types::emergency::EmergencyAccess;
use crate::graphql::{ContextExt, parse_id};
use crate::ratelimit::Limited;

#[derive(InputObject)]
pub struct DossierEntryInput {
    pub kind: DossierEntryKind,
    pub title: String,
    pub body: String,
    pub trajectory_id: Option<ID>,
    pub workflow_id: Option<ID>,
}

impl DossierEntryInput {
    fn parse(self) -> ApiResult<NewDossierEntry> {
        Ok(NewDossierEntry {
            kind: self.kind.into(),
            title: DisplayName::parse(&self.title).map_err(|e| e.at("input.title"))?,
            body: care::parse_body(&self.body).map_err(|e| e.at("input.body"))?,
            trajectory_id: self.trajectory_id.as_ref().map(|id| parse_id(id, "input.trajectoryId")).transpose()?,
            workflow_id: self.workflow_id.as_ref().map(|id| parse_id(id, "input.workflowId")).transpose()?,
        })
    }
}

#[derive(InputObject)]
pub struct AssignToolInput {
    pub client_id: ID,
    pub name: String,
    pub content: String,
    pub counselor_id: Option<ID>,
}

pub(crate) fn parse_tool(name: &str, content: &str, prefix: &str) -> ApiResult<NewTool> {
    Ok(NewTool {
        name: DisplayName::parse(name).map_err(|e| e.at(&format!("{prefix}name")))?,
        content: care::parse_body(content).map_err(|e| e.at(&format!("{prefix}content")))?,
    })
}

#[derive(Default)]
pub struct CareMutation;

#[Object]
impl CareMutation {
    /// A secretary, or a counselor already linked to the client, links a counselor.
    async fn link_counselor(&self, ctx: &Context<'_>, client_id: ID, counselor_id: ID) -> FieldResult<Client> {
        link(ctx, client_id, counselor_id, CareLink::Counselor, true).await
    }

    async fn unlink_counselor(&self, ctx: &Context<'_>, client_id: ID, counselor_id: ID) -> FieldResult<Client> {
        link(ctx, client_id, counselor_id, CareLink::Counselor, false).await
    }

    async fn link_supervisor(&self, ctx: &Context<'_>, client_id: ID, supervisor_id: ID) -> FieldResult<Client> {
        link(ctx, client_id, supervisor_id, CareLink::Supervisor, true).await
    }

    async fn link_guardian(&self, ctx: &Context<'_>, client_id: ID, guardian_id: ID) -> FieldResult<Client> {
        link(ctx, client_id, guardian_id, CareLink::Guardian, true).await
    }

    /// By a client: creates a RELATIVE account linked to them.
    async fn add_relative(&self, ctx: &Context<'_>, email: String, display_name: String) -> FieldResult<User> {
        let op = ctx.operation()?;
        let email = Email::parse(&email).map_err(|e| e.at("email"))?;
        let display_name = DisplayName::parse(&display_name).map_err(|e| e.at("displayName"))?;
        Ok(User(care::add_relative(&ctx.app().db, &op, email, display_name).await?))
    }

    async fn add_dossier_entry(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: DossierEntryInput,
    ) -> FieldResult<DossierEntry> {
        let op = ctx.operation()?;
        let client_id = parse_id(&client_id, "clientId")?;
        let new = input.parse()?;
        Ok(DossierEntry::from(care::add_dossier_entry(&ctx.app().db, &op, client_id, new).await?))
    }

    async fn assign_tool(&self, ctx: &Context<'_>, input: AssignToolInput) -> FieldResult<Tool> {
        let op = ctx.operation()?;
        let client_id = parse_id(&input.client_id, "input.clientId")?;
        let counselor_id = input.counselor_id.as_ref().map(|id| parse_id(id, "input.counselorId")).transpose()?;
        let new = parse_tool(&input.name, &input.content, "input.")?;
        let (model, client) = care::assign_tool(&ctx.app().db, &op, client_id, counselor_id, new).await?;
        Ok(Tool { model, owner_access: client.access })
    }

    /// By the tool's counselor, or a counselor who reads its content (the owner in their
    /// caseload); the owner is told (TOOL_FEEDBACK). A relative's own tools get no feedback.
    async fn give_tool_feedback(&self, ctx: &Context<'_>, tool_id: ID, body: String) -> FieldResult<ToolFeedback> {
        let op = ctx.operation()?;
        let tool_id = parse_id(&tool_id, "toolId")?;
        let body = care::parse_feedback(&body).map_err(|e| e.at("body"))?;
        Ok(ToolFeedback(care::give_tool_feedback(&ctx.app().db, &op, tool_id, body).await?))
    }

    /// By a client or relative: a self-help tool of their own.
    async fn create_self_help_tool(&self, ctx: &Context<'_>, name: String, content: String) -> FieldResult<Tool> {
        let op = ctx.operation()?;
        let new = parse_tool(&name, &content, "")?;
        let model = care::create_self_help_tool(&ctx.app().db, &op, new).await?;
        Ok(Tool { model, owner_access: crate::access::Access::own() })
    }

    /// Emergency access: reason required, time-boxed, logged, client and counselors notified.
    async fn break_glass(&self, ctx: &Context<'_>, client_id: ID, reason: String) -> FieldResult<EmergencyAccess> {
        let op = ctx.operation()?;
        let client_id = parse_id(&client_id, "clientId")?;
        let reason = emergency::parse_reason(&reason).map_err(|e| e.at("reason"))?;
        let duration = ctx.app().emergency_duration;
        ctx.rate_limit(Limited::BreakGlass).await?;
        let (model, client) = emergency::break_glass(&ctx.app().db, &op, client_id, reason, duration).await?;
        Ok(EmergencyAccess { model, client })
    }
}

async fn link(ctx: &Context<'_>, client_id: ID, person_id: ID, kind: CareLink, linked: bool) -> FieldResult<Client> {
    let op = ctx.operation()?;
    let client_id = parse_id(&client_id, "clientId")?;
    let field = match kind {
        CareLink::Counselor => "counselorId",
        CareLink::Supervisor => "supervisorId",
        CareLink::Guardian => "guardianId",
    };
    let person_id = parse_id(&person_id, field)?;
    Ok(care::set_link(&ctx.app().db, &op, client_id, person_id, kind, linked).await?.into())
}
