//! Projects, workflows, participations and consent requests.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use inzage_entity::{consent_request, participation, project, user, workflow, workflow_professional};
use uuid::Uuid;

use super::accounts::{Organization, User};
use super::client::{Client, DossierEntry};
use crate::access::ClientAccess;
use crate::domain::workflows;
use crate::error::{ApiError, FieldResult};
use crate::graphql::ContextExt;
use crate::graphql::enums::{ConsentKind, ConsentStatus};
use crate::graphql::guard::{self, ClientData};
use crate::graphql::loaders::load_all;
use crate::policy::{self, workflows as rules};

/// A project of an organisation, holding workflows.
pub struct Project(pub project::Model);

#[Object]
impl Project {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn organization(&self, ctx: &Context<'_>) -> FieldResult<Organization> {
        let organization = ctx.loaders().organizations.load_one(self.0.organization_id).await?;
        Ok(Organization(organization.ok_or_else(|| ApiError::internal("project without organisation"))?))
    }

    /// Every workflow for professionals of the project's organisation; for anyone else, those
    /// they take part in or hold a consent request in.
    async fn workflows(&self, ctx: &Context<'_>) -> FieldResult<Vec<Workflow>> {
        let viewer = ctx.viewer()?;
        let db = ctx.app().db.conn();
        let mut rows = workflows::workflows_of(db, &[self.0.id]).await?;
        let relation = rules::WorkflowRelation {
            same_organization: viewer.organization_id == self.0.organization_id,
            ..Default::default()
        };
        if !rules::see_workflow(viewer.roles, relation) {
            let ids: Vec<Uuid> = rows.iter().map(|w| w.id).collect();
            let reached = workflows::workflows_reached(db, viewer, &ids).await?;
            rows.retain(|w| reached.contains(&w.id));
        }
        Ok(rows.into_iter().map(Workflow).collect())
    }
}

/// A workflow of a project.
pub struct Workflow(pub workflow::Model);

#[Object]
impl Workflow {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn project(&self, ctx: &Context<'_>) -> FieldResult<Project> {
        let project = ctx.loaders().projects.load_one(self.0.project_id).await?;
        Ok(Project(project.ok_or_else(|| ApiError::internal("workflow without project"))?))
    }

    async fn allow_append_professionals(&self) -> bool {
        self.0.allow_append_professionals
    }

    async fn professionals(&self, ctx: &Context<'_>) -> FieldResult<Vec<WorkflowProfessional>> {
        let rows = ctx.loaders().workflow_professionals.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(WorkflowProfessional).collect())
    }

    /// Every participation (participants' names only) for the organisation's administrator and
    /// the workflow's professionals; anyone else sees their own, and a professional those of
    /// participants they hold a consent request with.
    async fn participations(&self, ctx: &Context<'_>) -> FieldResult<Vec<Participation>> {
        let op = ctx.operation()?;
        let db = &ctx.app().db;
        let relation = workflows::relation(db.conn(), op.viewer, &self.0).await?;
        let scope = rules::participations_scope(op.viewer.roles, relation);
        let rows = workflows::participations(db.conn(), op.viewer, self.0.id, scope).await?;
        participations(ctx, rows).await
    }
}

/// Participations with their participants' access loaded for all of them at once.
pub async fn participations(ctx: &Context<'_>, rows: Vec<participation::Model>) -> FieldResult<Vec<Participation>> {
    let op = ctx.operation()?;
    let ids: Vec<Uuid> = rows.iter().map(|p| p.participant_id).collect();
    let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for model in rows {
        let participant = found
            .get(&model.participant_id)
            .cloned()
            .ok_or_else(|| ApiError::internal("participation of an account that is not a client"))?;
        out.push(Participation { model, participant });
    }
    Ok(out)
}

/// A professional of a workflow, with the access period and reason fixed when added.
pub struct WorkflowProfessional(pub workflow_professional::Model);

#[Object]
impl WorkflowProfessional {
    async fn professional(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let user = ctx.loaders().users.load_one(self.0.professional_id).await?;
        Ok(User(user.ok_or_else(|| ApiError::internal("workflow professional without account"))?))
    }

    async fn access_days(&self) -> i32 {
        self.0.access_days
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

/// A client taking part in a workflow.
pub struct Participation {
    pub model: participation::Model,
    /// The viewer's access to the participant (empty: a name-only reference).
    pub participant: ClientAccess,
}

#[Object]
impl Participation {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn workflow(&self, ctx: &Context<'_>) -> FieldResult<Workflow> {
        let workflow = ctx.loaders().workflows.load_one(self.model.workflow_id).await?;
        Ok(Workflow(workflow.ok_or_else(|| ApiError::internal("participation without workflow"))?))
    }

    /// The participant, as a name-only reference unless the viewer has a basis for them.
    async fn participant(&self) -> Client {
        Client::from(self.participant.clone())
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.model.started_at
    }

    /// The participant's RESULT entries in this workflow: the participant, and professionals
    /// with granted, unexpired consent; FORBIDDEN otherwise.
    async fn results(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<DossierEntry>>> {
        let access = &self.participant.access;
        let client_id = self.model.participant_id;
        let consent = access.consent_in(self.model.workflow_id);
        let decision = rules::read_results(access.bases, consent.is_some());
        // The grant of a read on CONSENT is the consent of this workflow.
        let grant = consent.filter(|_| decision.basis() == Some(policy::client::Basis::Consent)).map(|c| c.id);
        guard::read_on_grant(ctx, client_id, ClientData::Results, decision, grant)?;
        let rows = ctx.loaders().results.load_one((self.model.workflow_id, client_id)).await?.unwrap_or_default();
        Ok(Some(rows.into_iter().map(DossierEntry::from).collect()))
    }

    /// The requests of this participation that exist for the viewer: all of them for the
    /// participant, those about their own access for a professional.
    async fn consent_requests(&self, ctx: &Context<'_>) -> FieldResult<Vec<ConsentRequest>> {
        let viewer = ctx.viewer()?;
        let rows = ctx.loaders().consent_requests.load_one(self.model.id).await?.unwrap_or_default();
        let rows = rows.into_iter().filter(|r| workflows::is_visible(viewer, r)).collect();
        consent_requests(ctx, rows).await
    }
}

/// Consent requests with their clients' access loaded for all of them at once, and the
/// professionals and workflows the selection asks for.
pub async fn consent_requests(
    ctx: &Context<'_>,
    rows: Vec<consent_request::Model>,
) -> FieldResult<Vec<ConsentRequest>> {
    let op = ctx.operation()?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.client_id).collect();
    let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &ids).await?;
    let related = Arc::new(related(ctx, &rows).await?);
    rows.into_iter()
        .map(|model| {
            let client = found
                .get(&model.client_id)
                .cloned()
                .ok_or_else(|| ApiError::internal("consent request of an account that is not a client"))?;
            Ok(ConsentRequest { model, client, related: Some(related.clone()) })
        })
        .collect()
}

/// Loads what the selection of a list of consent requests asks of `rows`, one query per kind.
/// Batch loaders alone would batch only what arrives within their window.
async fn related(ctx: &Context<'_>, rows: &[consent_request::Model]) -> FieldResult<Related> {
    let selection = ctx.look_ahead();
    let loaders = ctx.loaders();
    let mut related = Related::default();
    if rows.is_empty() {
        return Ok(related);
    }
    if selection.field("professional").exists() {
        related.professionals = Some(load_all(&loaders.users, rows.iter().filter_map(|r| r.professional_id)).await?);
    }
    if selection.field("workflow").exists() {
        related.workflows = Some(load_all(&loaders.workflows, rows.iter().map(|r| r.workflow_id)).await?);
    }
    Ok(related)
}

/// Rows related to a list of consent requests, loaded for the whole list at once.
#[derive(Default)]
pub struct Related {
    professionals: Option<HashMap<Uuid, user::Model>>,
    workflows: Option<HashMap<Uuid, workflow::Model>>,
}

/// A participant's consent to a professional's access to their results in a workflow.
pub struct ConsentRequest {
    pub model: consent_request::Model,
    /// The viewer's access to the client (empty: a name-only reference).
    pub client: ClientAccess,
    /// Related rows loaded for a whole list at once (see [`consent_requests`]).
    pub related: Option<Arc<Related>>,
}

#[Object]
impl ConsentRequest {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn kind(&self) -> ConsentKind {
        self.model.kind.into()
    }

    /// As of now: a grant past its end is EXPIRED.
    async fn status(&self, ctx: &Context<'_>) -> ConsentStatus {
        workflows::effective_status(&self.model, ctx.app().clock.now()).into()
    }

    /// The participant, as a name-only reference unless the viewer has a basis for them.
    async fn client(&self) -> Client {
        Client::from(self.client.clone())
    }

    /// Null for APPEND_PROFESSIONALS (a professional to be assigned later).
    async fn professional(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(id) = self.model.professional_id else { return Ok(None) };
        if let Some(professionals) = self.related.as_ref().and_then(|r| r.professionals.as_ref()) {
            return Ok(professionals.get(&id).cloned().map(User));
        }
        Ok(ctx.loaders().users.load_one(id).await?.map(User))
    }

    async fn workflow(&self, ctx: &Context<'_>) -> FieldResult<Workflow> {
        let workflow = match self.related.as_ref().and_then(|r| r.workflows.as_ref()) {
            Some(workflows) => workflows.get(&self.model.workflow_id).cloned(),
            None => ctx.loaders().workflows.load_one(self.model.workflow_id).await?,
        };
        Ok(Workflow(workflow.ok_or_else(|| ApiError::internal("consent request without workflow"))?))
    }

    async fn reason(&self) -> &str {
        &self.model.reason
    }

    async fn access_days(&self) -> Option<i32> {
        self.model.access_days
    }

    /// For ASSIGNMENT: the end date the partner chose.
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.model.ends_at
    }

    async fn requested_at(&self) -> DateTime<Utc> {
        self.model.requested_at
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.model.decided_at
    }

    /// When a GRANTED consent's access ends.
    async fn granted_until(&self) -> Option<DateTime<Utc>> {
        self.model.granted_until
    }
}
