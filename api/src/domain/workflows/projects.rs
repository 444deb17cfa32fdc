//! Projects and workflows: creating them, asking participants for later assignments, and adding
//! professionals (the workflow's organisation ADMINISTRATOR).

use super::consent::{Ask, create_request, participations_of};
use super::*;
use crate::db::AmongIds;

/// Creates a project of the viewer's organisation (its ADMINISTRATOR).
pub async fn create_project(db: &Database, op: &Operation<'_>, name: DisplayName) -> ApiResult<project::Model> {
    let relation = WorkflowRelation { same_organization: true, ..Default::default() };
    rules::manage_workflows(op.viewer.roles, relation).check()?;
    let txn = db.begin_write().await?;
    let project = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(op.viewer.organization_id),
        name: Set(name.into_inner()),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(project)
}

/// Creates a workflow in a project (the project's organisation ADMINISTRATOR).
pub async fn create_workflow(
    db: &Database,
    op: &Operation<'_>,
    project_id: Uuid,
    name: DisplayName,
    allow_append_professionals: bool,
) -> ApiResult<workflow::Model> {
    let txn = db.begin_write().await?;
    let project = find_project(&*txn, op.viewer, project_id).await?;
    let relation = WorkflowRelation {
        same_organization: project.organization_id == op.viewer.organization_id,
        ..Default::default()
    };
    rules::manage_workflows(op.viewer.roles, relation).check()?;
    let workflow = workflow::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project.id),
        organization_id: Set(project.organization_id),
        name: Set(name.into_inner()),
        allow_append_professionals: Set(allow_append_professionals),
        created_at: Set(op.now),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(workflow)
}

/// Turns asking participants for prior agreement to assignments on or off. Turning it on asks
/// every participant who was never asked.
pub async fn set_allow_append(
    db: &Database,
    op: &Operation<'_>,
    workflow_id: Uuid,
    allow: bool,
) -> ApiResult<workflow::Model> {
    let txn = db.begin_write().await?;
    let (workflow, relation) = lock_workflow(&txn, op.viewer, workflow_id).await?;
    rules::manage_workflows(op.viewer.roles, relation).check()?;
    if workflow.allow_append_professionals == allow {
        return Ok(workflow);
    }
    let mut active: workflow::ActiveModel = workflow.clone().into();
    active.allow_append_professionals = Set(allow);
    let workflow = active.update(&*txn).await?;
    if allow {
        let asked: HashSet<Uuid> = consent_request::Entity::find()
            .filter(consent_request::Column::WorkflowId.eq(workflow.id))
            .filter(consent_request::Column::Kind.eq(ConsentKind::AppendProfessionals))
            .select_only()
            .column(consent_request::Column::ParticipationId)
            .into_tuple::<Uuid>()
            .all(&*txn)
            .await?
            .into_iter()
            .collect();
        let participations = participations_of(&*txn, workflow.id).await?;
        for participation in participations.iter().filter(|p| !asked.contains(&p.id)) {
            let ask = Ask::append(&workflow, participation);
            create_request(&txn, op, &workflow, ask).await?;
        }
    }
    txn.commit().await?;
    Ok(workflow)
}

/// Adds professionals to a workflow, each once, with an access period and reason fixed from
/// then on. Every existing participant is asked for consent to each new professional.
pub async fn add_professionals(
    db: &Database,
    op: &Operation<'_>,
    new: NewWorkflowProfessionals,
) -> ApiResult<workflow::Model> {
    if new.professional_ids.is_empty() {
        return Err(ApiError::bad_input("input.professionalIds", "must name at least one professional"));
    }
    let mut distinct = HashSet::new();
    for (index, id) in new.professional_ids.iter().enumerate() {
        if !distinct.insert(*id) {
            return Err(ApiError::bad_input(format!("input.professionalIds[{index}]"), "is listed twice"));
        }
    }
    let txn = db.begin_write().await?;
    let (workflow, relation) = lock_workflow(&txn, op.viewer, new.workflow_id).await?;
    rules::manage_workflows(op.viewer.roles, relation).check()?;
    let field = |index: usize| format!("input.professionalIds[{index}]");
    let people = professionals(&*txn, op.viewer, workflow.organization_id, &new.professional_ids, field).await?;
    let existing = workflow_professional::Entity::find()
        .filter(workflow_professional::Column::WorkflowId.eq(workflow.id))
        .filter(workflow_professional::Column::ProfessionalId.among(&*txn, new.professional_ids.iter().copied()))
        .all(&*txn)
        .await?;
    if let Some(already) = existing.first() {
        let name = people.get(&already.professional_id).map_or("", |p| p.display_name.as_str());
        return Err(ApiError::conflict(format!(
            "{name} is already a professional of this workflow; their access period and reason cannot change"
        )));
    }
    let rows: Vec<workflow_professional::ActiveModel> = new
        .professional_ids
        .iter()
        .map(|&professional_id| workflow_professional::ActiveModel {
            workflow_id: Set(workflow.id),
            professional_id: Set(professional_id),
            access_days: Set(new.access_days),
            reason: Set(new.reason.clone()),
            added_at: Set(op.now),
        })
        .collect();
    workflow_professional::Entity::insert_many(rows)
        .exec_without_returning(&*txn)
        .await
        .on_unique_violation(|| ApiError::conflict("a professional is already in this workflow"))?;
    for participation in participations_of(&*txn, workflow.id).await? {
        for professional_id in &new.professional_ids {
            let ask = Ask::professional(&participation, &people[professional_id], new.access_days, &new.reason);
            create_request(&txn, op, &workflow, ask).await?;
        }
    }
    txn.commit().await?;
    Ok(workflow)
}
