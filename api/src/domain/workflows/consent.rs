//! Taking part and consent: a participant's requests, one per professional (and one for later
//! assignments), answering and revoking them, and assigning a professional later.

use super::*;
use crate::db::AmongIds;

/// What a new consent request asks, and of whom.
pub(super) struct Ask<'a> {
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
    pub(super) fn professional(
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

    pub(super) fn append(workflow: &workflow::Model, participation: &'a participation::Model) -> Self {
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
pub(super) async fn create_request(
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
    op.log(&**txn, entry).await?;
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
        );
        let title = format!("{professional_name} was assigned to you in {}, as you agreed", workflow.name);
        notifications::notify(txn, [client_id], NotificationKind::ConsentGranted, &title, links, op.now);
        if let Some(ends_at) = request.granted_until {
            txn.announce(Event::DeadlineSet { ends_at });
        }
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
        notifications::notify(txn, [client_id], NotificationKind::ConsentRequested, &title, links, op.now);
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
pub(super) async fn participations_of(
    db: &impl ConnectionTrait,
    workflow_id: Uuid,
) -> Result<Vec<participation::Model>, DbErr> {
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
    let workflow = txn
        .find_locked(workflow::Entity::find_by_id(workflow_id))
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))?;
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
    op.log(&*txn, entry).await?;
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
        .filter(user::Column::Id.among(&*txn, ids))
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
    let Some(request) = txn.find_locked(consent_request::Entity::find_by_id(request_id)).await? else {
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
        return Err(op.refuse_with(db, entry, ApiError::not_found("consent request")).await);
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
    op.log(&*txn, entry).await?;
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
        notifications::notify(&txn, [professional], kind, &title, links, op.now);
    }
    if let Some(ends_at) = granted_until {
        txn.announce(Event::DeadlineSet { ends_at });
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
    op.log(&*txn, entry).await?;
    if let Some(professional) = request.professional_id {
        let workflow = workflow_name(&*txn, request.workflow_id).await?;
        let title = format!("{} withdrew your access to their results in {workflow}", op.viewer.display_name);
        let links =
            Links { client_id: Some(request.client_id), consent_request_id: Some(request.id), ..Links::default() };
        notifications::notify(&txn, [professional], NotificationKind::ConsentRevoked, &title, links, op.now);
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
        .filter(consent_request::Column::ClientId.among(&*txn, new.participant_ids.iter().copied()))
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
