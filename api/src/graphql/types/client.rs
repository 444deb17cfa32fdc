//! A client as a viewer sees it: every field asks the policy, and every read of client data is
//! noted in the request's access log.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

use inzage_entity::{audit_event, dossier_entry, tool, tool_feedback, trajectory, user};
use uuid::Uuid;

use super::accounts::User;
use super::emergency::EmergencyAccess;
use super::groups::{Group, with_people};
use super::trajectories::{Delegation, Trajectory};
use super::workflows::{ConsentRequest, Workflow};
use crate::access::{Access, ClientAccess};
use crate::domain::{care, trajectories};
use crate::error::{ApiError, ApiResult, FieldResult};
use crate::graphql::enums::{AccessBasis, AuditOutcome, DossierEntryKind, Role, TrajectoryStatus};
use crate::graphql::guard::{self, ClientData};
use crate::graphql::loaders::load_all;
use crate::graphql::pagination::{connection, cursor, page_size};
use crate::graphql::prefetch;
use crate::graphql::{ContextExt, enums};
use crate::policy::Decision;
use crate::policy::client::{self as rules, EntryTarget};

/// A client the viewer has a basis for, or a name-only reference (no bases) reached through a
/// record the viewer may see.
pub struct Client {
    pub model: user::Model,
    pub access: Access,
}

impl From<ClientAccess> for Client {
    fn from(found: ClientAccess) -> Self {
        Self { model: found.client, access: found.access }
    }
}

/// A list of clients, with what `selections` (the list's item selections) ask of them loaded
/// for the whole list at once (see [`prefetch::clients`]).
pub async fn list(
    ctx: &Context<'_>,
    clients: Vec<ClientAccess>,
    selections: &[async_graphql::Lookahead<'_>],
) -> ApiResult<Vec<Client>> {
    prefetch::clients(ctx, &clients, selections).await?;
    Ok(clients.into_iter().map(Client::from).collect())
}

impl Client {
    /// Notes the read of `data` on `decision` (see [`guard::read`]); `FORBIDDEN` when refused.
    fn guard(&self, ctx: &Context<'_>, data: ClientData, decision: Decision) -> ApiResult<()> {
        guard::read(ctx, self.model.id, &self.access, data, decision)
    }
}

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn display_name(&self) -> &str {
        &self.model.display_name
    }

    async fn contact(&self, ctx: &Context<'_>) -> FieldResult<Option<ContactDetails>> {
        self.guard(ctx, ClientData::Contact, rules::read_contact(self.access.bases))?;
        let row = ctx.loaders().contacts.load_one(self.model.id).await?.flatten();
        Ok(Some(ContactDetails {
            email: Some(self.model.email.clone()),
            phone: row.as_ref().and_then(|r| r.phone.clone()),
            address: row.as_ref().and_then(|r| r.address.clone()),
            birth_date: row.as_ref().and_then(|r| r.birth_date).map(|d| d.format("%Y-%m-%d").to_string()),
        }))
    }

    async fn counselors(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<User>>> {
        self.guard(ctx, ClientData::Counselors, rules::read_counselors(self.access.bases))?;
        let counselors = ctx.loaders().counselors.load_one(self.model.id).await?.unwrap_or_default();
        Ok(Some(counselors.into_iter().map(User).collect()))
    }

    async fn relatives(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<User>>> {
        self.guard(ctx, ClientData::Relatives, rules::read_relatives(self.access.bases))?;
        let scope = rules::relatives_scope(self.access.bases);
        if scope == rules::RelativesScope::None {
            return Ok(Some(Vec::new()));
        }
        let relatives = ctx.loaders().relatives.load_one(self.model.id).await?.unwrap_or_default();
        let shown = match scope {
            // Counselors see only relatives who share a conversation with them; conversations
            // are the only way a relative becomes known to a counselor.
            rules::RelativesScope::SharingAConversation => {
                let sharing = ctx.loaders().sharing_with(ctx.viewer()?.user_id).await?;
                relatives.into_iter().filter(|r| sharing.contains(&r.id)).collect()
            }
            rules::RelativesScope::All | rules::RelativesScope::None => relatives,
        };
        Ok(Some(shown.into_iter().map(User).collect()))
    }

    async fn dossier(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Option<Connection<String, DossierEntry>>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let scope = rules::dossier_scope(self.access.bases);
        // The basis logged is the one behind the widest part read.
        self.guard(ctx, ClientData::Dossier, rules::read_dossier(self.access.bases))?;
        let consented = self.access.consented_workflows();
        let db = ctx.app().db.conn();
        let rows =
            care::dossier_page(db, self.model.id, scope, &consented, &self.access.trajectories, after, limit).await?;
        let selection = ctx.look_ahead();
        let selects_author = selection.field("nodes").field("author").exists()
            || selection.field("edges").field("node").field("author").exists();
        let authors = if selects_author {
            Some(Arc::new(load_all(&ctx.loaders().users, rows.iter().filter_map(|row| row.author_id)).await?))
        } else {
            None
        };
        let rows = rows.into_iter().map(|model| DossierEntry { model, authors: authors.clone() }).collect();
        Ok(Some(connection(rows, limit, after, |entry: &DossierEntry| entry.model.id)))
    }

    async fn tools(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<Tool>>> {
        self.guard(ctx, ClientData::Tools, rules::read_tools(self.access.bases))?;
        let tools = ctx.loaders().tools.load_one(self.model.id).await?.unwrap_or_default();
        Ok(Some(tools.into_iter().map(|model| Tool { model, owner_access: self.access.clone() }).collect()))
    }

    async fn trajectories(
        &self,
        ctx: &Context<'_>,
        status: Option<TrajectoryStatus>,
    ) -> FieldResult<Option<Vec<Trajectory>>> {
        self.guard(ctx, ClientData::Trajectories, rules::read_trajectories(self.access.bases))?;
        let rows = ctx.loaders().client_trajectories.load_one(self.model.id).await?.unwrap_or_default();
        let status: Option<inzage_entity::TrajectoryStatus> = status.map(Into::into);
        let found = ClientAccess { client: self.model.clone(), access: self.access.clone() };
        let visible: Vec<trajectory::Model> = rows
            .into_iter()
            .filter(|model| status.is_none_or(|status| model.status == status))
            .filter(|model| trajectories::sees(&found, model))
            .collect();
        let ids: Vec<Uuid> = visible.iter().map(|model| model.id).collect();
        prefetch::trajectory_members(ctx, &ids, &[ctx.look_ahead()]).await?;
        Ok(Some(visible.into_iter().map(|model| Trajectory::new(model, found.clone())).collect()))
    }

    /// The groups this client is in that the viewer may see.
    async fn groups(&self, ctx: &Context<'_>) -> FieldResult<Vec<Group>> {
        ctx.viewer()?;
        let found = ctx.loaders().client_groups.load_one(self.model.id).await?.unwrap_or_default();
        with_people(ctx, found).await
    }

    async fn access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Option<Connection<String, AuditEvent>>> {
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        self.guard(ctx, ClientData::AccessLog, rules::read_access_log(self.access.bases))?;
        let rows = care::access_log_page(ctx.app().db.conn(), self.model.id, after, limit).await?;
        let rows = rows.into_iter().map(AuditEvent).collect();
        Ok(Some(connection(rows, limit, after, |event: &AuditEvent| event.0.id)))
    }

    async fn viewer_access(&self) -> ViewerAccess {
        ViewerAccess::of(&self.access)
    }

    /// Everyone who can see something of this client now, and why, by display name: SELF and
    /// GUARDIAN only (FORBIDDEN otherwise). The same policy decides each holder's flags as
    /// decides their `viewerAccess`.
    async fn access_holders(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<AccessHolder>>> {
        self.guard(ctx, ClientData::AccessHolders, rules::read_access_holders(self.access.bases))?;
        let op = ctx.operation()?;
        let db = ctx.app().db.conn();
        let holders = crate::access::holders::of_client(db, &self.model, op.now).await?;
        let grants = care::grants_of(db, holders.values()).await?;
        let users = load_all(&ctx.loaders().users, holders.keys().copied()).await?;
        let client = ClientAccess { client: self.model.clone(), access: self.access.clone() };
        let mut out: Vec<AccessHolder> = holders
            .into_iter()
            .filter_map(|(id, access)| {
                let user = users.get(&id)?.clone();
                Some(AccessHolder::new(user, access, &grants, &client))
            })
            .collect();
        out.sort_by_key(|holder| (holder.user.0.display_name.to_lowercase(), holder.user.0.id));
        Ok(Some(out))
    }
}

impl ViewerAccess {
    /// What `access` lets its holder read, as the policy decides it.
    pub fn of(access: &Access) -> Self {
        let bases = access.bases;
        Self {
            bases: bases.iter().map(AccessBasis::from).collect(),
            can_read_contact: rules::read_contact(bases).is_allowed(),
            can_read_dossier: rules::read_dossier(bases).is_allowed(),
            can_write_dossier: rules::write_dossier(bases, EntryTarget::default()).is_allowed()
                || rules::write_dossier(bases, EntryTarget { in_own_trajectory: true, ..EntryTarget::default() })
                    .is_allowed(),
            expires_at: access.expires_at(),
        }
    }
}

/// Someone who can see something of a client now, and on which bases.
pub struct AccessHolder {
    user: User,
    flags: ViewerAccess,
    consent_request: Option<ConsentRequest>,
    delegation: Option<Delegation>,
    emergency_access: Option<EmergencyAccess>,
}

impl AccessHolder {
    fn new(user: user::Model, access: Access, grants: &care::Grants, client: &ClientAccess) -> Self {
        // The grant that lasts longest, for each time-bound basis.
        let consent = access.consents.iter().max_by_key(|grant| grant.until).and_then(|g| grants.consents.get(&g.id));
        let delegation = access.delegation.and_then(|(id, _)| grants.delegations.get(&id));
        let emergency = access.emergency.and_then(|(id, _)| grants.emergencies.get(&id));
        Self {
            user: User(user),
            flags: ViewerAccess::of(&access),
            consent_request: consent.map(|model| ConsentRequest {
                model: model.clone(),
                client: client.clone(),
                related: None,
            }),
            delegation: delegation.map(|model| Delegation { model: model.clone(), client: client.clone() }),
            emergency_access: emergency.map(|model| EmergencyAccess { model: model.clone(), client: client.clone() }),
        }
    }
}

#[Object]
impl AccessHolder {
    async fn user(&self) -> &User {
        &self.user
    }

    async fn bases(&self) -> &[AccessBasis] {
        &self.flags.bases
    }

    /// What the bases let this user read: the same flags as `Client.viewerAccess`.
    async fn can_read_contact(&self) -> bool {
        self.flags.can_read_contact
    }

    async fn can_read_dossier(&self) -> bool {
        self.flags.can_read_dossier
    }

    async fn can_write_dossier(&self) -> bool {
        self.flags.can_write_dossier
    }

    /// The grant behind a time-bound basis, where there is one.
    async fn consent_request(&self) -> Option<&ConsentRequest> {
        self.consent_request.as_ref()
    }

    async fn delegation(&self) -> Option<&Delegation> {
        self.delegation.as_ref()
    }

    async fn emergency_access(&self) -> Option<&EmergencyAccess> {
        self.emergency_access.as_ref()
    }

    /// When the earliest time-bound basis of this user ends; null when none does.
    async fn until(&self) -> Option<DateTime<Utc>> {
        self.flags.expires_at
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ContactDetails {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub birth_date: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ViewerAccess {
    pub bases: Vec<AccessBasis>,
    pub can_read_contact: bool,
    pub can_read_dossier: bool,
    pub can_write_dossier: bool,
    /// Earliest end of a time-bound basis (delegation, consent, emergency), if any.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An entry of a client's dossier the viewer may read.
pub struct DossierEntry {
    pub model: dossier_entry::Model,
    /// The authors of the page the entry was read with, loaded for the whole page at once.
    authors: Option<Arc<HashMap<Uuid, user::Model>>>,
}

impl From<dossier_entry::Model> for DossierEntry {
    fn from(model: dossier_entry::Model) -> Self {
        Self { model, authors: None }
    }
}

#[Object]
impl DossierEntry {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn kind(&self) -> DossierEntryKind {
        self.model.kind.into()
    }

    async fn title(&self) -> &str {
        &self.model.title
    }

    async fn body(&self) -> &str {
        &self.model.body
    }

    async fn author(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(author) = self.model.author_id else { return Ok(None) };
        if let Some(authors) = &self.authors {
            return Ok(authors.get(&author).cloned().map(User));
        }
        Ok(ctx.loaders().users.load_one(author).await?.map(User))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn trajectory(&self, ctx: &Context<'_>) -> FieldResult<Option<Trajectory>> {
        let Some(id) = self.model.trajectory_id else { return Ok(None) };
        let Some(model) = ctx.loaders().trajectories.load_one(id).await? else { return Ok(None) };
        let op = ctx.operation()?;
        let mut found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &[model.client_id]).await?;
        let Some(client) = found.remove(&model.client_id) else { return Ok(None) };
        Ok(trajectories::sees(&client, &model).then_some(Trajectory::new(model, client)))
    }

    async fn workflow(&self, ctx: &Context<'_>) -> FieldResult<Option<Workflow>> {
        let Some(id) = self.model.workflow_id else { return Ok(None) };
        Ok(ctx.loaders().workflows.load_one(id).await?.map(Workflow))
    }
}

/// A tool of a client (or a relative's own self-help tool).
pub struct Tool {
    pub model: tool::Model,
    /// The viewer's access to the tool's owner.
    pub owner_access: Access,
}

#[Object]
impl Tool {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.model.name
    }

    async fn owner(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let owner = ctx.loaders().users.load_one(self.model.owner_id).await?;
        Ok(User(owner.ok_or_else(|| ApiError::internal("tool without owner"))?))
    }

    async fn counselor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(counselor) = self.model.counselor_id else { return Ok(None) };
        Ok(ctx.loaders().users.load_one(counselor).await?.map(User))
    }

    async fn assigned_at(&self) -> DateTime<Utc> {
        self.model.assigned_at
    }

    /// FORBIDDEN for SECRETARY.
    async fn content(&self, ctx: &Context<'_>) -> FieldResult<Option<&str>> {
        let decision = rules::read_tool_content(self.owner_access.bases);
        guard::read(ctx, self.model.owner_id, &self.owner_access, ClientData::ToolContent, decision)?;
        Ok(Some(&self.model.content))
    }

    /// The counselors' feedback on this tool, oldest first; the same readers as content
    /// (FORBIDDEN for SECRETARY).
    async fn feedback(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<ToolFeedback>>> {
        let decision = rules::read_tool_content(self.owner_access.bases);
        guard::read(ctx, self.model.owner_id, &self.owner_access, ClientData::ToolFeedback, decision)?;
        let rows = ctx.loaders().tool_feedback.load_one(self.model.id).await?.unwrap_or_default();
        Ok(Some(rows.into_iter().map(ToolFeedback).collect()))
    }
}

/// A counselor's feedback on a tool.
pub struct ToolFeedback(pub tool_feedback::Model);

#[Object]
impl ToolFeedback {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn author(&self, ctx: &Context<'_>) -> FieldResult<User> {
        let author = ctx.loaders().users.load_one(self.0.author_id).await?;
        Ok(User(author.ok_or_else(|| ApiError::internal("feedback without author"))?))
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One row of a client's access log.
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// Who acted; shown to the client whose log it is, whichever organisation they are in.
    async fn actor(&self, ctx: &Context<'_>) -> FieldResult<Option<User>> {
        let Some(actor) = self.0.actor_id else { return Ok(None) };
        Ok(ctx.loaders().users.load_one(actor).await?.map(User))
    }

    async fn actor_role(&self) -> Option<Role> {
        self.0.actor_role.map(Role::from)
    }

    async fn action(&self) -> enums::AuditAction {
        self.0.action.into()
    }

    /// The kind of object acted on. A read row covers every kind of object read of the client in
    /// one request on the same basis, listed here separated by commas (see `objectTypes`).
    async fn object_type(&self) -> &str {
        &self.0.object_type
    }

    /// The kinds of object this row covers: one for a change, one or more for a read.
    async fn object_types(&self) -> Vec<&str> {
        self.0.object_type.split(crate::audit::KINDS_SEPARATOR).collect()
    }

    async fn object_id(&self) -> Option<ID> {
        self.0.object_id.map(|id| ID(id.to_string()))
    }

    async fn basis(&self) -> Option<AccessBasis> {
        self.0.basis.as_deref().and_then(inzage_entity::Basis::from_name).map(AccessBasis::from)
    }

    async fn outcome(&self) -> AuditOutcome {
        self.0.outcome.into()
    }

    async fn emergency(&self) -> bool {
        self.0.emergency
    }

    /// The seal that covers this row, once it is sealed (within seconds of being written): its
    /// hash chains it to every seal before it, so a change to this row after the fact shows.
    async fn seal(&self, ctx: &Context<'_>) -> FieldResult<Option<AuditSeal>> {
        Ok(ctx.loaders().seals.load_one(self.0.id).await?.map(AuditSeal))
    }
}

/// A seal over a batch of access-log rows: a SHA-256 Merkle root over the rows, chained to the
/// seal before it by its hash.
pub struct AuditSeal(pub crate::sealing::Seal);

#[Object]
impl AuditSeal {
    /// The seal's place in the chain (1, 2, …).
    async fn sequence(&self) -> i64 {
        self.0.sequence
    }

    async fn sealed_at(&self) -> DateTime<Utc> {
        self.0.sealed_at
    }

    /// How many rows it covers.
    async fn rows(&self) -> i64 {
        self.0.rows
    }

    /// The Merkle root over its rows, hexadecimal.
    async fn root(&self) -> String {
        hex::encode(&self.0.root)
    }

    /// The hash of the seal before it, hexadecimal (zeros for the first).
    async fn previous_hash(&self) -> String {
        hex::encode(&self.0.previous_hash)
    }

    /// Its own hash, over all of the above, hexadecimal.
    async fn hash(&self) -> String {
        hex::encode(&self.0.hash)
    }
}
