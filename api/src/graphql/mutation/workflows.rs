use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::domain::values::DisplayName;
use crate::domain::workflows::{self, NewAssignment, NewWorkflowProfessionals};
use crate::error::FieldResult;
use crate::graphql::types::workflows::{
    ConsentRequest, Participation, Project, Workflow, consent_requests, participations,
};
use crate::graphql::{ContextExt, parse_id, parse_ids};
use crate::ratelimit::Limited;

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct CreateWorkflowInput {
    pub project_id: ID,
    pub name: String,
    #[graphql(default_with = "Some(false)")]
    pub allow_append_professionals: Option<bool>,
}

#[derive(InputObject)]
pub struct AddWorkflowProfessionalsInput {
    pub workflow_id: ID,
    pub professional_ids: Vec<ID>,
    pub access_days: i32,
    pub reason: String,
}

#[derive(InputObject)]
pub struct AssignProfessionalInput {
    pub workflow_id: ID,
    pub participant_ids: Vec<ID>,
    pub professional_id: ID,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// By an ADMINISTRATOR: a project of their organisation.
    async fn create_project(&self, ctx: &Context<'_>, input: CreateProjectInput) -> FieldResult<Project> {
        let op = ctx.operation()?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        Ok(Project(workflows::create_project(&ctx.app().db, &op, name).await?))
    }

    /// By the project's organisation ADMINISTRATOR.
    async fn create_workflow(&self, ctx: &Context<'_>, input: CreateWorkflowInput) -> FieldResult<Workflow> {
        let op = ctx.operation()?;
        let project_id = parse_id(&input.project_id, "input.projectId")?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        let db = &ctx.app().db;
        Ok(Workflow(
            workflows::create_workflow(db, &op, project_id, name, input.allow_append_professionals.unwrap_or(false))
                .await?,
        ))
    }

    /// Turning it on asks every participant who was never asked.
    async fn set_allow_append_professionals(
        &self,
        ctx: &Context<'_>,
        workflow_id: ID,
        allow: bool,
    ) -> FieldResult<Workflow> {
        let op = ctx.operation()?;
        let workflow_id = parse_id(&workflow_id, "workflowId")?;
        Ok(Workflow(workflows::set_allow_append(&ctx.app().db, &op, workflow_id, allow).await?))
    }

    /// Each professional once per workflow; access days and reason are fixed once set.
    async fn add_workflow_professionals(
        &self,
        ctx: &Context<'_>,
        input: AddWorkflowProfessionalsInput,
    ) -> FieldResult<Workflow> {
        let op = ctx.operation()?;
        let new = NewWorkflowProfessionals {
            workflow_id: parse_id(&input.workflow_id, "input.workflowId")?,
            professional_ids: parse_ids(&input.professional_ids, "input.professionalIds")?,
            access_days: workflows::parse_access_days(input.access_days).map_err(|e| e.at("input.accessDays"))?,
            reason: workflows::parse_reason(&input.reason).map_err(|e| e.at("input.reason"))?,
        };
        Ok(Workflow(workflows::add_professionals(&ctx.app().db, &op, new).await?))
    }

    /// By the participant (a CLIENT): opening the workflow creates its consent requests.
    async fn start_workflow(&self, ctx: &Context<'_>, workflow_id: ID) -> FieldResult<Participation> {
        let op = ctx.operation()?;
        let workflow_id = parse_id(&workflow_id, "workflowId")?;
        let participation = workflows::start(&ctx.app().db, &op, workflow_id).await?;
        let mut found = participations(ctx, vec![participation]).await?;
        Ok(found.remove(0))
    }

    /// By the client the request is addressed to.
    async fn respond_to_consent_request(
        &self,
        ctx: &Context<'_>,
        request_id: ID,
        accept: bool,
    ) -> FieldResult<ConsentRequest> {
        let op = ctx.operation()?;
        let request_id = parse_id(&request_id, "requestId")?;
        ctx.rate_limit(Limited::RespondToConsentRequest).await?;
        let request = workflows::respond(&ctx.app().db, &op, request_id, accept).await?;
        Ok(consent_requests(ctx, vec![request]).await?.remove(0))
    }

    /// By the workflow's organisation ADMINISTRATOR: granted at once where the participant
    /// agreed to assignments in advance, asked for otherwise.
    async fn assign_professional(
        &self,
        ctx: &Context<'_>,
        input: AssignProfessionalInput,
    ) -> FieldResult<Vec<ConsentRequest>> {
        let op = ctx.operation()?;
        let new = NewAssignment {
            workflow_id: parse_id(&input.workflow_id, "input.workflowId")?,
            participant_ids: parse_ids(&input.participant_ids, "input.participantIds")?,
            professional_id: parse_id(&input.professional_id, "input.professionalId")?,
            ends_at: input.ends_at,
            reason: workflows::parse_reason(&input.reason).map_err(|e| e.at("input.reason"))?,
        };
        let rows = workflows::assign(&ctx.app().db, &op, new).await?;
        consent_requests(ctx, rows).await
    }

    /// By the client: a granted consent ends at once.
    async fn revoke_consent(&self, ctx: &Context<'_>, request_id: ID) -> FieldResult<ConsentRequest> {
        let op = ctx.operation()?;
        let request_id = parse_id(&request_id, "requestId")?;
        let request = workflows::revoke(&ctx.app().db, &op, request_id).await?;
        Ok(consent_requests(ctx, vec![request]).await?.remove(0))
    }
}
