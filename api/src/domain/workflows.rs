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
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts;
use super::notifications::{self, Links};
use super::values::{DisplayName, Invalid};
use crate::access::holds;
use crate::audit::{self, AuditEntry};
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
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid("must not be empty".into()));
    }
    if trimmed.chars().count() > 2000 {
        return Err(Invalid("must be at most 2000 characters".into()));
    }
    super::values::check_free_text(trimmed)?;
    Ok(trimmed.to_owned())
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
    let mut query = workflow::Entity::find_by_id(id);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let workflow = query.one(&**txn).await?.ok_or_else(|| ApiError::not_found("workflow"))?;
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

// ---------------------------------------------------------------------------------------------
// Projects and workflows

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
        .filter(workflow_professional::Column::ProfessionalId.is_in(new.professional_ids.iter().copied()))
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

// ---------------------------------------------------------------------------------------------
// Participation and consent

/// What a new consent request asks, and of whom.
struct Ask<'a> {
    participation: &'a participation::Model,
    kind: ConsentKind,
    professional: Option<&'a user::Model>,
    reason: String,
    access_days: Option<i32>,
    ends_at: Option<DateTime<Utc>>,
    /// Already granted (an assignment the participant agreed to in advance).
    granted: bool,
}

impl<'a> Ask<'a> {
    fn professional(
        participation: &'a participation::Model,
        professional: &'a user::Model,
        access_days: i32,
        reason: &str,
    ) -> Self {
        Self {
            participation,
            kind: ConsentKind::WorkflowProfessional,
            professional: Some(professional),
            reason: reason.to_owned(),
            access_days: Some(access_days),
            ends_at: None,
            granted: false,
        }
    }

    fn append(workflow: &workflow::Model, participation: &'a participation::Model) -> Self {
        Self {
            participation,
            kind: ConsentKind::AppendProfessionals,
            professional: None,
            reason: format!("{} may assign professionals to you later", workflow.name),
            access_days: None,
            ends_at: None,
            granted: false,
        }
    }
}

/// Writes one consent request with its audit row, and notifies: the participant of a PENDING
/// request (live, and by e-mail for an assignment), the professional of an agreed assignment.
async fn create_request(
    txn: &WriteTransaction,
    op: &Operation<'_>,
    workflow: &workflow::Model,
    ask: Ask<'_>,
) -> ApiResult<consent_request::Model> {
    let client_id = ask.participation.participant_id;
    let request = consent_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(ask.kind),
        status: Set(if ask.granted { ConsentStatus::Granted } else { ConsentStatus::Pending }),
        client_id: Set(client_id),
        professional_id: Set(ask.professional.map(|p| p.id)),
        workflow_id: Set(workflow.id),
        participation_id: Set(ask.participation.id),
        reason: Set(ask.reason),
        access_days: Set(ask.access_days),
        ends_at: Set(ask.ends_at),
        requested_at: Set(op.now),
        decided_at: Set(ask.granted.then_some(op.now)),
        granted_until: Set(if ask.granted { ask.ends_at } else { None }),
        warned_at: Set(None),
        ended_at: Set(None),
    }
    .insert(&**txn)
    .await?;
    let basis = (op.viewer.user_id == client_id).then_some(Basis::Own);
    let entry = AuditEntry::success(client_id, AuditAction::Create, "ConsentRequest").on(request.id).basis(basis, None);
    audit::write(&**txn, op.viewer, op.now, op.request_id, entry).await?;
    let links = Links { client_id: Some(client_id), consent_request_id: Some(request.id), ..Links::default() };
    let professional_name = ask.professional.map_or("", |p| p.display_name.as_str());
    if ask.granted {
        let title = format!("You have access to a participant's results in {}", workflow.name);
        notifications::notify(
            txn,
            ask.professional.map(|p| p.id),
            NotificationKind::ConsentGranted,
            &title,
            links,
            op.now,
        )
        .await?;
        let title = format!("{professional_name} was assigned to you in {}, as you agreed", workflow.name);
        notifications::notify(txn, [client_id], NotificationKind::ConsentGranted, &title, links, op.now).await?;
        txn.announce(Event::DeadlinesChanged).await?;
    } else {
        let title = match ask.kind {
            ConsentKind::WorkflowProfessional => {
                format!("{professional_name} asks for access to your results in {}", workflow.name)
            }
            ConsentKind::AppendProfessionals => {
                format!("{}: may professionals be assigned to you later?", workflow.name)
            }
            ConsentKind::Assignment => {
                format!(
                    "{professional_name} was assigned to you in {} and asks for access to your results",
                    workflow.name
                )
            }
        };
        notifications::notify(txn, [client_id], NotificationKind::ConsentRequested, &title, links, op.now).await?;
        if ask.kind == ConsentKind::Assignment
            && let Some(participant) = user::Entity::find_by_id(client_id).one(&**txn).await?
        {
            let body = format!(
                "{professional_name} was assigned to you in {} and asks for access to your results until {} (UTC). \
                 Log in to accept or decline.",
                workflow.name,
                request.ends_at.unwrap_or(op.now).format("%Y-%m-%d %H:%M")
            );
            mailer::queue(
                txn,
                Some(client_id),
                &participant.email,
                "A consent request is waiting for you",
                &body,
                op.now,
            )
            .await?;
        }
    }
    Ok(request)
}

/// The participations of a workflow, oldest first.
async fn participations_of(db: &impl ConnectionTrait, workflow_id: Uuid) -> Result<Vec<participation::Model>, DbErr> {
    participation::Entity::find()
        .filter(participation::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(participation::Column::Id)
        .all(db)
        .await
}

/// A client takes part in a workflow: once (a second call returns the participation), with one
/// consent request per professional, and one for later assignments when the workflow asks it.
pub async fn start(db: &Database, op: &Operation<'_>, workflow_id: Uuid) -> ApiResult<participation::Model> {
    rules::start_workflow(op.viewer.roles).check()?;
    let txn = db.begin_write().await?;
    // Whoever has the workflow's id may take part: it is the invitation.
    let mut query = workflow::Entity::find_by_id(workflow_id);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let workflow = query.one(&*txn).await?.ok_or_else(|| ApiError::not_found("workflow"))?;
    let existing = participation::Entity::find()
        .filter(participation::Column::WorkflowId.eq(workflow.id))
        .filter(participation::Column::ParticipantId.eq(op.viewer.user_id))
        .one(&*txn)
        .await?;
    if let Some(existing) = existing {
        return Ok(existing);
    }
    let participation = participation::ActiveModel {
        id: Set(Uuid::now_v7()),
        workflow_id: Set(workflow.id),
        participant_id: Set(op.viewer.user_id),
        started_at: Set(op.now),
    }
    .insert(&*txn)
    .await
    .on_unique_violation(|| ApiError::conflict("you already take part in this workflow; try again"))?;
    let entry = AuditEntry::success(op.viewer.user_id, AuditAction::Create, "Participation")
        .on(participation.id)
        .basis(Some(Basis::Own), None);
    audit::write(&*txn, op.viewer, op.now, op.request_id, entry).await?;
    // Only professionals who still work in workflows are asked for.
    let professionals = workflow_professional::Entity::find()
        .filter(workflow_professional::Column::WorkflowId.eq(workflow.id))
        .filter(holds(workflow_professional::Column::ProfessionalId, Link::WorkflowProfessional))
        .order_by_asc(workflow_professional::Column::AddedAt)
        .order_by_asc(workflow_professional::Column::ProfessionalId)
        .all(&*txn)
        .await?;
    let ids: Vec<Uuid> = professionals.iter().map(|p| p.professional_id).collect();
    let people: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&*txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    for professional in &professionals {
        let Some(person) = people.get(&professional.professional_id).filter(|p| p.active) else { continue };
        let ask = Ask::professional(&participation, person, professional.access_days, &professional.reason);
        create_request(&txn, op, &workflow, ask).await?;
    }
    if workflow.allow_append_professionals {
        create_request(&txn, op, &workflow, Ask::append(&workflow, &participation)).await?;
    }
    txn.commit().await?;
    Ok(participation)
}

/// Loads a consent request for the participant who may answer or revoke it. Anyone else is told
/// it does not exist, and the attempt is logged as DENIED in the participant's access log.
async fn request_for_participant(
    db: &Database,
    txn: WriteTransaction,
    op: &Operation<'_>,
    request_id: Uuid,
) -> ApiResult<(WriteTransaction, consent_request::Model)> {
    let mut query = consent_request::Entity::find_by_id(request_id);
    if txn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let Some(request) = query.one(&*txn).await? else {
        return Err(ApiError::not_found("consent request"));
    };
    let relation = ConsentRelation::of(
        op.viewer.roles,
        request.client_id == op.viewer.user_id,
        request.professional_id == Some(op.viewer.user_id),
    );
    if !rules::answer_consent_request(relation) {
        // The refusal is logged outside the transaction, which ends here without writing.
        drop(txn);
        let entry = AuditEntry::denied(request.client_id, AuditAction::Update, "ConsentRequest").on(request.id);
        if let Err(err) = audit::write(db.conn(), op.viewer, op.now, op.request_id, entry).await {
            tracing::error!(error = %err, "writing a DENIED audit row failed");
        }
        return Err(ApiError::not_found("consent request"));
    }
    Ok((txn, request))
}

/// The participant answers a PENDING request. Accepting grants access from now: for the
/// professional's days, until an assignment's end date, or (prior agreement) without end.
pub async fn respond(
    db: &Database,
    op: &Operation<'_>,
    request_id: Uuid,
    accept: bool,
) -> ApiResult<consent_request::Model> {
    let txn = db.begin_write().await?;
    let (txn, request) = request_for_participant(db, txn, op, request_id).await?;
    match effective_status(&request, op.now) {
        ConsentStatus::Pending => {}
        ConsentStatus::Expired => return Err(ApiError::conflict("this request's end date has passed")),
        _ => return Err(ApiError::conflict("this request has already been answered")),
    }
    let granted_until = match (accept, request.kind) {
        (false, _) | (true, ConsentKind::AppendProfessionals) => None,
        (true, ConsentKind::WorkflowProfessional) => {
            Some(op.now + Duration::days(i64::from(request.access_days.unwrap_or(0))))
        }
        (true, ConsentKind::Assignment) => request.ends_at,
    };
    let mut active: consent_request::ActiveModel = request.into();
    active.status = Set(if accept { ConsentStatus::Granted } else { ConsentStatus::Declined });
    active.decided_at = Set(Some(op.now));
    active.granted_until = Set(granted_until);
    let request = active.update(&*txn).await?;
    let entry = AuditEntry::success(request.client_id, AuditAction::Update, "ConsentRequest")
        .on(request.id)
        .basis(Some(Basis::Own), None);
    audit::write(&*txn, op.viewer, op.now, op.request_id, entry).await?;
    if let Some(professional) = request.professional_id {
        let workflow = workflow_name(&*txn, request.workflow_id).await?;
        let (kind, title) = if accept {
            (
                NotificationKind::ConsentGranted,
                format!("{} gave you access to their results in {workflow}", op.viewer.display_name),
            )
        } else {
            (
                NotificationKind::ConsentDeclined,
                format!("{} declined access to their results in {workflow}", op.viewer.display_name),
            )
        };
        let links =
            Links { client_id: Some(request.client_id), consent_request_id: Some(request.id), ..Links::default() };
        notifications::notify(&txn, [professional], kind, &title, links, op.now).await?;
    }
    if granted_until.is_some() {
        txn.announce(Event::DeadlinesChanged).await?;
    }
    txn.commit().await?;
    Ok(request)
}

/// The participant withdraws a GRANTED consent: access ends at once.
pub async fn revoke(db: &Database, op: &Operation<'_>, request_id: Uuid) -> ApiResult<consent_request::Model> {
    let txn = db.begin_write().await?;
    let (txn, request) = request_for_participant(db, txn, op, request_id).await?;
    if effective_status(&request, op.now) != ConsentStatus::Granted {
        return Err(ApiError::conflict("only a granted, running consent can be revoked"));
    }
    let mut active: consent_request::ActiveModel = request.clone().into();
    active.status = Set(ConsentStatus::Revoked);
    active.granted_until = Set(request.granted_until.map(|_| op.now));
    active.ended_at = Set(Some(op.now));
    let request = active.update(&*txn).await?;
    let entry = AuditEntry::success(request.client_id, AuditAction::Update, "ConsentRequest")
        .on(request.id)
        .basis(Some(Basis::Own), None);
    audit::write(&*txn, op.viewer, op.now, op.request_id, entry).await?;
    if let Some(professional) = request.professional_id {
        let workflow = workflow_name(&*txn, request.workflow_id).await?;
        let title = format!("{} withdrew your access to their results in {workflow}", op.viewer.display_name);
        let links =
            Links { client_id: Some(request.client_id), consent_request_id: Some(request.id), ..Links::default() };
        notifications::notify(&txn, [professional], NotificationKind::ConsentRevoked, &title, links, op.now).await?;
    }
    txn.commit().await?;
    Ok(request)
}

async fn workflow_name(db: &impl ConnectionTrait, id: Uuid) -> Result<String, DbErr> {
    Ok(workflow::Entity::find_by_id(id).one(db).await?.map(|w| w.name).unwrap_or_default())
}

/// The partner assigns a professional to chosen participants until `ends_at`: granted at once
/// where the participant agreed to assignments in advance, asked for otherwise.
pub async fn assign(db: &Database, op: &Operation<'_>, new: NewAssignment) -> ApiResult<Vec<consent_request::Model>> {
    if new.ends_at <= op.now {
        return Err(ApiError::bad_input("input.endsAt", "must be in the future"));
    }
    if new.participant_ids.is_empty() {
        return Err(ApiError::bad_input("input.participantIds", "must name at least one participant"));
    }
    let txn = db.begin_write().await?;
    let (workflow, relation) = lock_workflow(&txn, op.viewer, new.workflow_id).await?;
    rules::manage_workflows(op.viewer.roles, relation).check()?;
    let field = |_: usize| "input.professionalId".to_owned();
    let people = professionals(&*txn, op.viewer, workflow.organization_id, &[new.professional_id], field).await?;
    let professional = &people[&new.professional_id];
    let participations: HashMap<Uuid, participation::Model> =
        participations_of(&*txn, workflow.id).await?.into_iter().map(|p| (p.participant_id, p)).collect();
    let mut seen = HashSet::new();
    for (index, id) in new.participant_ids.iter().enumerate() {
        if !participations.contains_key(id) {
            return Err(ApiError::bad_input(
                format!("input.participantIds[{index}]"),
                "is not a participant of this workflow",
            ));
        }
        if !seen.insert(*id) {
            return Err(ApiError::bad_input(format!("input.participantIds[{index}]"), "is listed twice"));
        }
    }
    let requests = consent_request::Entity::find()
        .filter(consent_request::Column::WorkflowId.eq(workflow.id))
        .filter(consent_request::Column::ClientId.is_in(new.participant_ids.iter().copied()))
        .all(&*txn)
        .await?;
    let running = |request: &consent_request::Model| {
        matches!(effective_status(request, op.now), ConsentStatus::Pending | ConsentStatus::Granted)
    };
    if requests
        .iter()
        .any(|r| r.kind == ConsentKind::Assignment && r.professional_id == Some(professional.id) && running(r))
    {
        return Err(ApiError::conflict(format!(
            "{} already has a pending or running assignment to one of these participants",
            professional.display_name
        )));
    }
    let agreed: HashSet<Uuid> = requests
        .iter()
        .filter(|r| r.kind == ConsentKind::AppendProfessionals && r.status == ConsentStatus::Granted)
        .map(|r| r.client_id)
        .collect();
    let mut created = Vec::with_capacity(new.participant_ids.len());
    for id in &new.participant_ids {
        let ask = Ask {
            participation: &participations[id],
            kind: ConsentKind::Assignment,
            professional: Some(professional),
            reason: new.reason.clone(),
            access_days: None,
            ends_at: Some(new.ends_at),
            granted: agreed.contains(id),
        };
        created.push(create_request(&txn, op, &workflow, ask).await?);
    }
    txn.commit().await?;
    Ok(created)
}

// ---------------------------------------------------------------------------------------------
// Reads behind the GraphQL fields

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
        .filter(workflow::Column::ProjectId.is_in(project_ids.iter().copied()))
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
        .filter(workflow::Column::Id.is_in(ids.iter().copied()))
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
        .filter(workflow_professional::Column::WorkflowId.is_in(workflow_ids.iter().copied()))
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
        .filter(consent_request::Column::ParticipationId.is_in(participation_ids.iter().copied()))
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
        .filter(dossier_entry::Column::WorkflowId.is_in(workflows))
        .filter(dossier_entry::Column::ClientId.is_in(clients))
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
    consent_request::Entity::find().filter(consent_request::Column::Id.is_in(ids.iter().copied())).all(db).await
}
