//! Registrations ("aanmeldingen"): someone signs up with an organisation without an account;
//! its secretaries (and administrators) read the registrations, accept one (a CLIENT account is
//! made, linked to a counselor when one is named) or reject it.
//!
//! Submitting answers the same whatever the input's relation to existing accounts,
//! registrations or organisations, so it cannot be used to find out who is known where.

use chrono::{DateTime, NaiveDate, Utc};
use inzage_entity::{
    AuditAction, NotificationKind, RegistrationStatus, Role, organization, registration, user, user_role,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::accounts::{self, NewAccount, NewContact};
use super::links::{self, CareLink};
use super::notifications::{self, Links};
use super::values::{DisplayName, Email, Phone};
use crate::audit::AuditEntry;
use crate::db::Database;
use crate::error::{ApiError, ApiResult};
use crate::policy::accounts as rules;
use crate::policy::{COUNSELOR_ROLES, RoleSet};

/// A registration as submitted, parsed.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    pub organization_id: Uuid,
    pub display_name: DisplayName,
    pub email: Email,
    pub phone: Option<Phone>,
    pub birth_date: Option<NaiveDate>,
    pub note: Option<String>,
}

/// A registration's note: at most 2,000 characters.
pub fn parse_note(raw: &str) -> Result<Option<String>, super::values::Invalid> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    super::values::free_text(raw, 2_000).map(Some)
}

/// Stores a registration and tells the organisation's secretaries (REGISTRATION_RECEIVED);
/// stores nothing when the organisation does not exist. The caller answers the same either way.
pub async fn submit(db: &Database, new: NewRegistration, now: DateTime<Utc>) -> ApiResult<()> {
    let txn = db.begin_write().await?;
    if organization::Entity::find_by_id(new.organization_id).one(&*txn).await?.is_none() {
        return Ok(());
    }
    let model = registration::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(new.organization_id),
        display_name: Set(new.display_name.into_inner()),
        email: Set(new.email.into_inner()),
        phone: Set(new.phone.map(Phone::into_inner)),
        birth_date: Set(new.birth_date),
        note: Set(new.note),
        status: Set(RegistrationStatus::Pending),
        submitted_at: Set(now),
        processed_at: Set(None),
        processed_by: Set(None),
        client_id: Set(None),
        reason: Set(None),
    }
    .insert(&*txn)
    .await?;
    let secretaries: Vec<Uuid> = user::Entity::find()
        .filter(user::Column::OrganizationId.eq(new.organization_id))
        .filter(user::Column::Active.eq(true))
        .filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(user_role::Column::UserId)
                    .from(user_role::Entity)
                    .and_where(user_role::Column::Role.eq(Role::Secretary))
                    .to_owned(),
            ),
        )
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(&*txn)
        .await?;
    let title = format!("New registration: {}", model.display_name);
    notifications::notify(&txn, secretaries, NotificationKind::RegistrationReceived, &title, Links::default(), now);
    txn.commit().await?;
    Ok(())
}

/// One page of the viewer's organisation's registrations (of one status, when given), oldest
/// first, after the registration `after`; at most `limit + 1`. FORBIDDEN for all but the
/// organisation's SECRETARY and ADMINISTRATOR.
pub async fn page(
    db: &impl ConnectionTrait,
    op: &Operation<'_>,
    status: Option<RegistrationStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<registration::Model>, DbErr> {
    let mut query = registration::Entity::find()
        .filter(registration::Column::OrganizationId.eq(op.viewer.organization_id))
        .order_by_asc(registration::Column::Id)
        .limit(limit + 1);
    if let Some(status) = status {
        query = query.filter(registration::Column::Status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(registration::Column::Id.gt(after));
    }
    query.all(db).await
}

/// The registration `id` of the viewer's organisation, PENDING, for processing: NOT_FOUND when
/// it is another organisation's (or none), FORBIDDEN for all but its SECRETARY and
/// ADMINISTRATOR, CONFLICT when it was processed already.
async fn pending(db: &impl ConnectionTrait, op: &Operation<'_>, id: Uuid) -> ApiResult<registration::Model> {
    let found = registration::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|r| r.organization_id == op.viewer.organization_id)
        .ok_or_else(|| ApiError::not_found("registration"))?;
    rules::process_registrations(op.viewer.roles).check()?;
    if found.status != RegistrationStatus::Pending {
        return Err(ApiError::conflict("this registration was processed already"));
    }
    Ok(found)
}

/// Accepts a registration: makes the CLIENT account (with the phone and birth date given),
/// links `counselor_id` (a counselor of the organisation) as its counselor when given, and
/// marks the registration ACCEPTED, in one transaction. CONFLICT when the address is taken.
pub async fn accept(
    db: &Database,
    op: &Operation<'_>,
    id: Uuid,
    counselor_id: Option<Uuid>,
) -> ApiResult<registration::Model> {
    let txn = db.begin_write().await?;
    let found = pending(&*txn, op, id).await?;
    if let Some(counselor) = counselor_id {
        let account = user::Entity::find_by_id(counselor).one(&*txn).await?;
        let roles: RoleSet = accounts::roles_of(&*txn, &[counselor]).await?.remove(&counselor).unwrap_or_default();
        let ok = account.is_some_and(|a| a.active && a.organization_id == found.organization_id)
            && !roles.is_disjoint(COUNSELOR_ROLES);
        if !ok {
            return Err(ApiError::bad_input("counselorId", "is not an active counselor of the organisation"));
        }
    }
    let email =
        Email::parse(&found.email).map_err(|e| ApiError::internal(format!("stored address refused: {}", e.0)))?;
    let display_name = DisplayName::parse(&found.display_name)
        .map_err(|e| ApiError::internal(format!("stored name refused: {}", e.0)))?;
    let phone = found.phone.as_deref().map(Phone::parse).transpose().map_err(|e| ApiError::internal(e.0))?;
    let new = NewAccount {
        email,
        display_name,
        roles: RoleSet::only(Role::Client),
        accepts_delegations: false,
        contact: NewContact { phone, address: None, birth_date: found.birth_date },
    };
    let client = accounts::insert_account(&*txn, found.organization_id, new, op.now).await?;
    if let Some(counselor) = counselor_id {
        links::insert(&*txn, CareLink::Counselor, counselor, client.id, op.now).await?;
    }
    let mut active = found.into_active_model();
    active.status = Set(RegistrationStatus::Accepted);
    active.processed_at = Set(Some(op.now));
    active.processed_by = Set(Some(op.viewer.user_id));
    active.client_id = Set(Some(client.id));
    let updated = active.update(&*txn).await?;
    op.log_many(
        &*txn,
        vec![
            AuditEntry::success(client.id, AuditAction::Create, "Account").on(client.id),
            AuditEntry::success(client.id, AuditAction::Update, "Registration").on(updated.id),
        ],
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Why a registration is rejected: not blank, at most 2,000 characters.
pub fn parse_reason(raw: &str) -> Result<String, super::values::Invalid> {
    super::values::trimmed_text(raw, 1, 2_000)
}

/// Rejects a registration with a reason.
pub async fn reject(db: &Database, op: &Operation<'_>, id: Uuid, reason: String) -> ApiResult<registration::Model> {
    let txn = db.begin_write().await?;
    let found = pending(&*txn, op, id).await?;
    let mut active = found.into_active_model();
    active.status = Set(RegistrationStatus::Rejected);
    active.processed_at = Set(Some(op.now));
    active.processed_by = Set(Some(op.viewer.user_id));
    active.reason = Set(Some(reason));
    let updated = active.update(&*txn).await?;
    let entry = AuditEntry { client_id: None, ..AuditEntry::success(Uuid::nil(), AuditAction::Update, "Registration") };
    op.log(&*txn, entry.on(updated.id)).await?;
    txn.commit().await?;
    Ok(updated)
}
