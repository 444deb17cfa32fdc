//! Accounts: creating them, their roles, (de)activation, and which accounts a viewer sees.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use inzage_entity::{OrganizationKind, Role, client_contact, organization, user, user_role};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::Operation;
use super::values::{Address, DisplayName, Email, Phone};
use crate::audit::AuditEntry;
use crate::auth::Viewer;
use crate::db::AmongIds;
use crate::db::{Database, WriteTransaction};
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::events::Event;
use crate::policy::{self, COUNSELOR_ROLES, RoleSet, accounts::UserRelation};
use inzage_entity::{AuditAction, Basis};

/// A new account, parsed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub display_name: DisplayName,
    pub roles: RoleSet,
    pub accepts_delegations: bool,
    pub contact: NewContact,
}

/// Contact details given with a new (client) account.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub phone: Option<Phone>,
    pub address: Option<Address>,
    pub birth_date: Option<NaiveDate>,
}

impl NewContact {
    fn is_empty(&self) -> bool {
        self.phone.is_none() && self.address.is_none() && self.birth_date.is_none()
    }
}

/// How `viewer` stands to the account `target`.
pub fn relation(viewer: &Viewer, target: &user::Model) -> UserRelation {
    UserRelation {
        is_self: viewer.user_id == target.id,
        same_organization: viewer.organization_id == target.organization_id,
        linked: false,
    }
}

/// Whether the account exists for the viewer.
pub fn is_visible(viewer: &Viewer, target: &user::Model) -> bool {
    policy::accounts::see_user(viewer.roles, relation(viewer, target))
}

/// The account `id` if the viewer may see it; `NOT_FOUND` otherwise, whether or not it exists.
pub async fn find_visible(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> ApiResult<user::Model> {
    match user::Entity::find_by_id(id).one(db).await? {
        Some(account) if is_visible(viewer, &account) => Ok(account),
        _ => Err(ApiError::not_found("user")),
    }
}

/// An active account of `organization_id` that may work in trajectories; BAD_USER_INPUT at
/// `field` otherwise.
pub async fn care_professional(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    organization_id: Uuid,
    id: Uuid,
    field: &str,
) -> ApiResult<user::Model> {
    let account = find_visible(db, viewer, id).await.map_err(|_| ApiError::bad_input(field, "no such user"))?;
    let roles = roles_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    if !account.active
        || account.organization_id != organization_id
        || !crate::policy::trajectories::can_join_trajectories(roles)
    {
        return Err(ApiError::bad_input(field, "is not an active professional of the organisation"));
    }
    Ok(account)
}

/// The roles of each of `ids` (accounts without roles are absent).
pub async fn roles_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, RoleSet>, sea_orm::DbErr> {
    let rows =
        user_role::Entity::find().filter(user_role::Column::UserId.among(db, ids.iter().copied())).all(db).await?;
    let mut roles: HashMap<Uuid, RoleSet> = HashMap::new();
    for row in rows {
        roles.entry(row.user_id).or_default().insert(row.role);
    }
    Ok(roles)
}

/// The accounts `ids` (repeats allowed) with their roles, in one statement (a row per role).
pub async fn with_roles(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (user::Model, RoleSet)>, sea_orm::DbErr> {
    use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Query};
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = Query::select()
        .column((user::Entity, Asterisk))
        .expr_as(Expr::col((user_role::Entity, user_role::Column::Role)), Alias::new("held_role"))
        .from(user::Entity)
        .join(
            JoinType::LeftJoin,
            user_role::Entity,
            Expr::col((user_role::Entity, user_role::Column::UserId)).equals((user::Entity, user::Column::Id)),
        )
        .and_where(user::Column::Id.among(db, ids))
        .to_owned();
    let mut found: HashMap<Uuid, (user::Model, RoleSet)> = HashMap::new();
    for row in db.query_all(&query).await? {
        let role: Option<Role> = row.try_get("", "held_role")?;
        let account = <user::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
        let entry = found.entry(account.id).or_insert_with(|| (account, RoleSet::new()));
        if let Some(role) = role {
            entry.1.insert(role);
        }
    }
    Ok(found)
}

/// Those of `ids` who hold a role for which `link` counts (see [`Link`]).
pub async fn holding(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    link: crate::policy::Link,
) -> Result<std::collections::HashSet<Uuid>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let found: Vec<Uuid> = user_role::Entity::find()
        .filter(user_role::Column::UserId.among(db, ids.iter().copied()))
        .filter(user_role::Column::Role.is_in(link.roles().iter()))
        .select_only()
        .column(user_role::Column::UserId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

async fn roles_of_one(db: &impl ConnectionTrait, id: Uuid) -> Result<RoleSet, sea_orm::DbErr> {
    Ok(roles_of(db, &[id]).await?.remove(&id).unwrap_or_default())
}

/// Creates an account in the actor's organisation. A counselor's new client joins their
/// caseload; creating a client is logged in the client's access log.
pub async fn create(db: &Database, op: &Operation<'_>, new: NewAccount) -> ApiResult<user::Model> {
    let actor = op.viewer;
    policy::accounts::create_account(actor.roles, new.roles).check()?;
    if new.accepts_delegations && !policy::accounts::can_accept_delegations(new.roles) {
        return Err(ApiError::bad_input("input.acceptsDelegations", "only professional accounts accept delegations"));
    }
    let is_client = new.roles.contains(Role::Client);
    let txn = db.begin_write().await?;
    let account = insert_account(&*txn, actor.organization_id, new, op.now).await?;
    if is_client {
        let mut basis = None;
        if !actor.roles.is_disjoint(policy::COUNSELOR_ROLES) {
            super::links::insert(&*txn, super::links::CareLink::Counselor, actor.user_id, account.id, op.now).await?;
            basis = Some(Basis::Caseload);
        } else if actor.roles.contains(Role::Secretary) {
            basis = Some(Basis::Secretary);
        }
        let entry = AuditEntry::success(account.id, AuditAction::Create, "Client").on(account.id).basis(basis, None);
        op.log(&*txn, entry).await?;
    }
    txn.commit().await?;
    Ok(account)
}

/// Writes an account, its roles and contact details (inside the caller's transaction; no
/// authorization: callers check the policy, or are operator commands and demo data).
pub async fn insert_account(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    new: NewAccount,
    now: DateTime<Utc>,
) -> ApiResult<user::Model> {
    let id = Uuid::now_v7();
    let account = user::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        email: Set(new.email.into_inner()),
        display_name: Set(new.display_name.into_inner()),
        active: Set(true),
        accepts_delegations: Set(new.accepts_delegations),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .on_unique_violation(|| ApiError::conflict("an account with this e-mail address already exists"))?;
    insert_roles(txn, id, new.roles).await?;
    if !new.contact.is_empty() {
        client_contact::ActiveModel {
            user_id: Set(id),
            phone: Set(new.contact.phone.map(Phone::into_inner)),
            address: Set(new.contact.address.map(Address::into_inner)),
            birth_date: Set(new.contact.birth_date),
        }
        .insert(txn)
        .await?;
    }
    Ok(account)
}

async fn insert_roles(txn: &impl ConnectionTrait, user_id: Uuid, roles: RoleSet) -> ApiResult<()> {
    let rows = roles.iter().map(|role| user_role::ActiveModel { user_id: Set(user_id), role: Set(role) });
    user_role::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Serialises changes that must keep an administrator in the organisation (PostgreSQL row lock;
/// SQLite already has one writer at a time).
async fn lock_organization(txn: &WriteTransaction, organization_id: Uuid) -> ApiResult<()> {
    txn.find_locked(organization::Entity::find_by_id(organization_id)).await?;
    Ok(())
}

/// Active administrators of the organisation other than `except`.
async fn other_active_administrators(db: &impl ConnectionTrait, organization_id: Uuid, except: Uuid) -> ApiResult<u64> {
    let administrators = Query::select()
        .column(user_role::Column::UserId)
        .from(user_role::Entity)
        .and_where(user_role::Column::Role.eq(Role::Administrator))
        .to_owned();
    Ok(user::Entity::find()
        .filter(user::Column::OrganizationId.eq(organization_id))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Id.ne(except))
        .filter(user::Column::Id.in_subquery(administrators))
        .count(db)
        .await?)
}

/// Replaces an account's roles (ADMINISTRATOR only). The organisation keeps at least one
/// active administrator.
pub async fn set_roles(db: &Database, actor: &Viewer, user_id: Uuid, roles: RoleSet) -> ApiResult<user::Model> {
    let txn = db.begin_write().await?;
    lock_organization(&txn, actor.organization_id).await?;
    let target = find_visible(&*txn, actor, user_id).await?;
    policy::accounts::set_roles(actor.roles).check()?;
    let current = roles_of_one(&*txn, user_id).await?;
    let others = other_active_administrators(&*txn, target.organization_id, user_id).await?;
    let is_admin_now = target.active && current.contains(Role::Administrator);
    if policy::accounts::removes_last_administrator(is_admin_now, roles.contains(Role::Administrator), others) {
        return Err(ApiError::conflict("the organisation's last administrator cannot lose that role"));
    }
    user_role::Entity::delete_many().filter(user_role::Column::UserId.eq(user_id)).exec(&*txn).await?;
    insert_roles(&*txn, user_id, roles).await?;
    // Only professionals accept delegations: an account that stops being one stops accepting.
    let target = if target.accepts_delegations && !policy::accounts::can_accept_delegations(roles) {
        let mut model: user::ActiveModel = target.into();
        model.accepts_delegations = Set(false);
        model.update(&*txn).await?
    } else {
        target
    };
    if current != roles {
        txn.announce(Event::RolesChanged { user: user_id });
    }
    txn.commit().await?;
    Ok(target)
}

/// (De)activates an account (see [`policy::accounts::set_active`]). A deactivated account is
/// refused from its next request on, and its open sockets close. Deactivating or reactivating a
/// client is in the client's access log.
pub async fn set_active(db: &Database, op: &Operation<'_>, user_id: Uuid, active: bool) -> ApiResult<user::Model> {
    let actor = op.viewer;
    let txn = db.begin_write().await?;
    lock_organization(&txn, actor.organization_id).await?;
    let target = find_visible(&*txn, actor, user_id).await?;
    let target_roles = roles_of_one(&*txn, user_id).await?;
    // Only a counselor's right rests on the client's caseload; others need not look it up.
    let in_caseload = !active
        && !actor.roles.is_disjoint(COUNSELOR_ROLES)
        && crate::access::load(&*txn, actor, op.now, &[user_id])
            .await?
            .get(&user_id)
            .is_some_and(|found| found.access.bases.contains(Basis::Caseload));
    let change = policy::accounts::Activation { activate: active, target: target_roles, in_caseload };
    let decision = policy::accounts::set_active(actor.roles, change);
    let client = target_roles.contains(Role::Client).then_some(user_id);
    let entry = AuditEntry { client_id: client, ..AuditEntry::success(user_id, AuditAction::Update, "Account") }
        .on(user_id)
        .basis(decision.basis(), None);
    if let crate::policy::Decision::Deny(reason) = decision {
        // The refusal is written outside the change's transaction, which ends first.
        drop(txn);
        return Err(match client {
            Some(_) => {
                op.refuse(db, AuditEntry { outcome: inzage_entity::AuditOutcome::Denied, ..entry }, reason).await
            }
            None => ApiError::forbidden(reason),
        });
    }
    if !active {
        let others = other_active_administrators(&*txn, target.organization_id, user_id).await?;
        let is_admin_now = target.active && target_roles.contains(Role::Administrator);
        if policy::accounts::removes_last_administrator(is_admin_now, false, others) {
            return Err(ApiError::conflict("the organisation's last administrator cannot be deactivated"));
        }
    }
    let mut model: user::ActiveModel = target.into();
    model.active = Set(active);
    let updated = model.update(&*txn).await?;
    op.log(&*txn, entry).await?;
    if !active {
        txn.announce(Event::AccountDeactivated { user: user_id });
    }
    txn.commit().await?;
    Ok(updated)
}

/// Sets whether a professional accepts dossier delegations.
pub async fn set_accepts_delegations(
    db: &Database,
    actor: &Viewer,
    user_id: Uuid,
    accepts: bool,
) -> ApiResult<user::Model> {
    let txn = db.begin_write().await?;
    // Serialised with `set_roles`, which may make the account one that cannot accept.
    lock_organization(&txn, actor.organization_id).await?;
    let target = find_visible(&*txn, actor, user_id).await?;
    policy::accounts::set_accepts_delegations(actor.roles, relation(actor, &target)).check()?;
    let target_roles = roles_of_one(&*txn, user_id).await?;
    if accepts && !policy::accounts::can_accept_delegations(target_roles) {
        return Err(ApiError::bad_input("accepts", "only professional accounts accept delegations"));
    }
    let mut model: user::ActiveModel = target.into();
    model.accepts_delegations = Set(accepts);
    let updated = model.update(&*txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// What `bootstrap` created.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub organization: organization::Model,
    pub administrator: user::Model,
}

/// Creates an organisation and its first administrator (operator command, no viewer).
pub async fn bootstrap(
    db: &Database,
    now: DateTime<Utc>,
    name: DisplayName,
    kind: OrganizationKind,
    admin_email: Email,
    admin_name: DisplayName,
) -> ApiResult<Bootstrapped> {
    let txn = db.begin_write().await?;
    let organization = create_organization(&*txn, now, name, kind).await?;
    let administrator = insert_account(
        &*txn,
        organization.id,
        NewAccount {
            email: admin_email,
            display_name: admin_name,
            roles: Role::Administrator.into(),
            accepts_delegations: false,
            contact: NewContact::default(),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Bootstrapped { organization, administrator })
}

/// Writes an organisation (inside the caller's transaction).
pub async fn create_organization(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    name: DisplayName,
    kind: OrganizationKind,
) -> ApiResult<organization::Model> {
    Ok(organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.into_inner()),
        kind: Set(kind),
        created_at: Set(now),
        guidance_protocol_id: Set(None),
    }
    .insert(txn)
    .await?)
}

/// The account with this e-mail, if any.
pub async fn find_by_email(db: &impl ConnectionTrait, email: &Email) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await?)
}
