//! The reads behind the GraphQL fields of projects, workflows, participations and consent
//! requests.

use super::*;
use crate::db::AmongIds;

/// The projects of the viewer's organisation, oldest first, if the viewer works there.
pub async fn projects_of(db: &impl ConnectionTrait, viewer: &Viewer) -> Result<Vec<project::Model>, DbErr> {
    let relation = WorkflowRelation { same_organization: true, ..Default::default() };
    if !rules::see_workflow(viewer.roles, relation) {
        return Ok(Vec::new());
    }
    project::Entity::find()
        .filter(project::Column::OrganizationId.eq(viewer.organization_id))
        .order_by_asc(project::Column::Id)
        .all(db)
        .await
}

/// The workflows of each project, oldest first.
pub async fn workflows_of(db: &impl ConnectionTrait, project_ids: &[Uuid]) -> Result<Vec<workflow::Model>, DbErr> {
    workflow::Entity::find()
        .filter(workflow::Column::ProjectId.among(db, project_ids.iter().copied()))
        .order_by_asc(workflow::Column::Id)
        .all(db)
        .await
}

/// The workflows among `ids` that a viewer outside their organisation reaches: those they take
/// part in or hold a consent request in.
pub async fn workflows_reached(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    // Each link counts only with its role: a participation while a client, a consent request
    // while working in workflows.
    let mut mine = Condition::any();
    if Link::Client.counts_for(viewer.roles) {
        mine = mine.add(
            workflow::Column::Id.in_subquery(
                Query::select()
                    .column(participation::Column::WorkflowId)
                    .from(participation::Entity)
                    .and_where(participation::Column::ParticipantId.eq(viewer.user_id))
                    .to_owned(),
            ),
        );
    }
    if Link::WorkflowProfessional.counts_for(viewer.roles) {
        mine = mine.add(
            workflow::Column::Id.in_subquery(
                Query::select()
                    .column(consent_request::Column::WorkflowId)
                    .from(consent_request::Entity)
                    .and_where(consent_request::Column::ProfessionalId.eq(viewer.user_id))
                    .to_owned(),
            ),
        );
    }
    if mine.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Uuid> = workflow::Entity::find()
        .filter(workflow::Column::Id.among(db, ids.iter().copied()))
        .filter(mine)
        .select_only()
        .column(workflow::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The professionals of each workflow who still work in workflows, in the order they were added.
pub async fn professionals_of(
    db: &impl ConnectionTrait,
    workflow_ids: &[Uuid],
) -> Result<Vec<workflow_professional::Model>, DbErr> {
    workflow_professional::Entity::find()
        .filter(workflow_professional::Column::WorkflowId.among(db, workflow_ids.iter().copied()))
        .filter(holds(workflow_professional::Column::ProfessionalId, Link::WorkflowProfessional))
        .order_by_asc(workflow_professional::Column::AddedAt)
        .order_by_asc(workflow_professional::Column::ProfessionalId)
        .all(db)
        .await
}

/// The participations of a workflow the viewer sees: all of them, or (scope Own) their own and
/// those of participants they hold a consent request with.
pub async fn participations(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    workflow_id: Uuid,
    scope: rules::ParticipationScope,
) -> Result<Vec<participation::Model>, DbErr> {
    let mut query = participation::Entity::find()
        .filter(participation::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(participation::Column::Id);
    if scope == rules::ParticipationScope::Own {
        let mut own = Condition::any();
        if Link::Client.counts_for(viewer.roles) {
            own = own.add(participation::Column::ParticipantId.eq(viewer.user_id));
        }
        if Link::WorkflowProfessional.counts_for(viewer.roles) {
            own = own.add(
                participation::Column::Id.in_subquery(
                    Query::select()
                        .column(consent_request::Column::ParticipationId)
                        .from(consent_request::Entity)
                        .and_where(consent_request::Column::ProfessionalId.eq(viewer.user_id))
                        .to_owned(),
                ),
            );
        }
        if own.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(own);
    }
    query.all(db).await
}

/// The consent requests that exist for the viewer: addressed to them, or about their access;
/// newest first, optionally with one status (as of `now`).
pub async fn requests_for(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    status: Option<ConsentStatus>,
    now: DateTime<Utc>,
) -> Result<Vec<consent_request::Model>, DbErr> {
    let rows = consent_request::Entity::find()
        .filter(
            Condition::any()
                .add(consent_request::Column::ClientId.eq(viewer.user_id))
                .add(consent_request::Column::ProfessionalId.eq(viewer.user_id)),
        )
        .order_by_desc(consent_request::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| is_visible(viewer, r) && status.is_none_or(|s| effective_status(r, now) == s))
        .collect())
}

/// Whether a consent request exists for the viewer.
pub fn is_visible(viewer: &Viewer, request: &consent_request::Model) -> bool {
    rules::see_consent_request(ConsentRelation::of(
        viewer.roles,
        request.client_id == viewer.user_id,
        request.professional_id == Some(viewer.user_id),
    ))
}

/// The consent requests of each participation, oldest first (callers keep those the viewer
/// sees).
pub async fn requests_of(
    db: &impl ConnectionTrait,
    participation_ids: &[Uuid],
) -> Result<Vec<consent_request::Model>, DbErr> {
    consent_request::Entity::find()
        .filter(consent_request::Column::ParticipationId.among(db, participation_ids.iter().copied()))
        .order_by_asc(consent_request::Column::Id)
        .all(db)
        .await
}

/// RESULT entries of each (workflow, participant) pair, oldest first.
pub async fn results_of(db: &impl ConnectionTrait, pairs: &[(Uuid, Uuid)]) -> Result<Vec<dossier_entry::Model>, DbErr> {
    let workflows: HashSet<Uuid> = pairs.iter().map(|(workflow, _)| *workflow).collect();
    let clients: HashSet<Uuid> = pairs.iter().map(|(_, client)| *client).collect();
    let wanted: HashSet<(Uuid, Uuid)> = pairs.iter().copied().collect();
    let rows = dossier_entry::Entity::find()
        .filter(dossier_entry::Column::Kind.eq(DossierEntryKind::Result))
        .filter(dossier_entry::Column::WorkflowId.among(db, workflows))
        .filter(dossier_entry::Column::ClientId.among(db, clients))
        .order_by_asc(dossier_entry::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.workflow_id.is_some_and(|workflow| wanted.contains(&(workflow, row.client_id))))
        .collect())
}

/// Whether `client_id` takes part in `workflow_id`.
pub async fn takes_part(db: &impl ConnectionTrait, client_id: Uuid, workflow_id: Uuid) -> Result<bool, DbErr> {
    Ok(participation::Entity::find()
        .filter(participation::Column::WorkflowId.eq(workflow_id))
        .filter(participation::Column::ParticipantId.eq(client_id))
        .one(db)
        .await?
        .is_some())
}

/// Requests by id (callers check visibility).
pub async fn find_requests(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<consent_request::Model>, DbErr> {
    consent_request::Entity::find().filter(consent_request::Column::Id.among(db, ids.iter().copied())).all(db).await
}
