//! Professionals in workflows, with the participant's consent: projects, workflows and their
//! professionals, participations, and the consent requests that open a participant's results
//! to a professional for a while.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use inzage_entity::{
    AuditAction, ConsentKind, ConsentStatus, DossierEntryKind, NotificationKind, consent_request, dossier_entry,
    participation, project, user, workflow, workflow_professional,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts;
use super::notifications::{self, Links};
use super::values::{DisplayName, Invalid};
use crate::access::holds;
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::{Database, WriteTransaction};
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::events::Event;
use crate::mailer;
use crate::policy::Link;
use crate::policy::client::Basis;
use crate::policy::workflows::{self as rules, ConsentRelation, WorkflowRelation};

/// The longest access period a workflow professional can be given, in days (ten years).
pub const MAX_ACCESS_DAYS: i32 = 3650;

/// An access period in days: 1 to [`MAX_ACCESS_DAYS`].
pub fn parse_access_days(days: i32) -> Result<i32, Invalid> {
    if (1..=MAX_ACCESS_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(Invalid(format!("must be between 1 and {MAX_ACCESS_DAYS} days")))
    }
}

/// Why a professional gets access: trimmed, 1 to 2000 characters.
pub fn parse_reason(raw: &str) -> Result<String, Invalid> {
    super::values::trimmed_text(raw, 1, 2000)
}

/// A request's status at `now`: a grant past its end, or an assignment request whose end date
/// passed unanswered, is EXPIRED whether or not the scheduler has recorded it yet.
pub fn effective_status(request: &consent_request::Model, now: DateTime<Utc>) -> ConsentStatus {
    match request.status {
        ConsentStatus::Granted if request.granted_until.is_some_and(|until| until <= now) => ConsentStatus::Expired,
        ConsentStatus::Pending if request.ends_at.is_some_and(|ends| ends <= now) => ConsentStatus::Expired,
        status => status,
    }
}

/// Professionals to add to a workflow, all with the same access period and reason.
#[derive(Debug, Clone)]
pub struct NewWorkflowProfessionals {
    pub workflow_id: Uuid,
    pub professional_ids: Vec<Uuid>,
    pub access_days: i32,
    pub reason: String,
}

/// A professional the partner assigns to chosen participants, until `ends_at`.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub workflow_id: Uuid,
    pub participant_ids: Vec<Uuid>,
    pub professional_id: Uuid,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

// ---------------------------------------------------------------------------------------------
// Lookups

/// How `viewer` stands to `workflow`.
pub async fn relation(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    workflow: &workflow::Model,
) -> Result<WorkflowRelation, DbErr> {
    let workflow_professional =
        workflow_professional::Entity::find_by_id((workflow.id, viewer.user_id)).one(db).await?.is_some();
    let participant = participation::Entity::find()
        .filter(participation::Column::WorkflowId.eq(workflow.id))
        .filter(participation::Column::ParticipantId.eq(viewer.user_id))
        .one(db)
        .await?
        .is_some();
    Ok(WorkflowRelation::of(
        viewer.roles,
        workflow.organization_id == viewer.organization_id,
        workflow_professional,
        participant,
    ))
}

/// The workflow `id` and how the viewer stands to it, if it exists for them; NOT_FOUND
/// otherwise, whether or not it exists.
pub async fn find_workflow(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<(workflow::Model, WorkflowRelation)> {
    let not_found = || ApiError::not_found("workflow");
    let workflow = workflow::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    let relation = relation(db, viewer, &workflow).await?;
    if rules::see_workflow(viewer.roles, relation) { Ok((workflow, relation)) } else { Err(not_found()) }
}

/// The project `id` if it exists for the viewer (professionals of its organisation); NOT_FOUND
/// otherwise.
pub async fn find_project(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<project::Model> {
    let not_found = || ApiError::not_found("project");
    let project = project::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    let relation =
        WorkflowRelation { same_organization: project.organization_id == viewer.organization_id, ..Default::default() };
    if rules::see_workflow(viewer.roles, relation) { Ok(project) } else { Err(not_found()) }
}

/// Locks the workflow's row for the rest of the transaction (PostgreSQL; SQLite writes one at a
/// time anyway), so that starting it and adding professionals to it never miss each other.
async fn lock_workflow(
    txn: &WriteTransaction,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<(workflow::Model, WorkflowRelation)> {
    let workflow =
        txn.find_locked(workflow::Entity::find_by_id(id)).await?.ok_or_else(|| ApiError::not_found("workflow"))?;
    let relation = relation(&**txn, viewer, &workflow).await?;
    if !rules::see_workflow(viewer.roles, relation) {
        return Err(ApiError::not_found("workflow"));
    }
    Ok((workflow, relation))
}

/// Accounts that can work in a workflow of `organization_id`: active, in that organisation, with
/// a role that works in workflows. Returns them by id; `field` names the input for errors.
async fn professionals(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    organization_id: Uuid,
    ids: &[Uuid],
    field: impl Fn(usize) -> String,
) -> ApiResult<HashMap<Uuid, user::Model>> {
    let roles = accounts::roles_of(db, ids).await?;
    let mut found = HashMap::new();
    for (index, id) in ids.iter().enumerate() {
        let account = accounts::find_visible(db, viewer, *id)
            .await
            .map_err(|_| ApiError::bad_input(field(index), "no such user"))?;
        let fits = account.active
            && account.organization_id == organization_id
            && rules::can_work_in_workflows(roles.get(id).copied().unwrap_or_default());
        if !fits {
            return Err(ApiError::bad_input(
                field(index),
                "is not an active counselor or supervisor of the workflow's organisation",
            ));
        }
        found.insert(*id, account);
    }
    Ok(found)
}

mod consent;
mod projects;
mod reads;

pub use consent::{assign, respond, revoke, start};
pub use projects::{add_professionals, create_project, create_workflow, set_allow_append};
pub use reads::*;
