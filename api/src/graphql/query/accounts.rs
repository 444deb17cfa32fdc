use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::people::{self, PeopleFilter};
use crate::domain::registrations;
use crate::domain::values;
use crate::error::FieldResult;
use crate::graphql::enums::RegistrationStatus;
use crate::graphql::enums::Role;
use crate::graphql::guard;
use crate::graphql::pagination::{connection, cursor, page_size};
use crate::graphql::types::accounts::{User, Viewer};
use crate::graphql::types::registrations::Registration;
use crate::graphql::{ContextExt, parse_id};

/// What to look for among the accounts the viewer may find.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Users holding any of these roles.
    pub roles: Option<Vec<Role>>,
    /// Case-insensitive part of the display name (or of the e-mail address, where the viewer
    /// may read it).
    pub search: Option<String>,
    pub active: Option<bool>,
    pub accepts_delegations: Option<bool>,
}

impl UserFilter {
    fn parse(self) -> FieldResult<PeopleFilter> {
        let search = match self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some(values::trimmed_text(text, 1, 200).map_err(|e| e.at("filter.search"))?),
            None => None,
        };
        Ok(PeopleFilter {
            roles: self.roles.unwrap_or_default().into_iter().map(inzage_entity::Role::from).collect(),
            search,
            active: self.active,
            accepts_delegations: self.accepts_delegations,
        })
    }
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The authenticated user.
    async fn viewer(&self, ctx: &Context<'_>) -> FieldResult<Viewer> {
        Ok(Viewer(ctx.viewer()?.clone()))
    }

    /// An account the viewer may see; null with NOT_FOUND otherwise.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<User>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Some(User(people::find_visible(ctx.app().db.conn(), viewer, id).await?)))
    }

    /// Professionals: the accounts of their own organisation. Clients, guardians, relatives and
    /// externals: the users linked to them. Never anyone else. By display name.
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, User>> {
        let viewer = ctx.viewer()?;
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let filter = filter.unwrap_or_default().parse()?;
        let rows = people::find(ctx.app().db.conn(), viewer, &filter, after, limit).await?;
        Ok(connection(rows.into_iter().map(User).collect(), limit, after, |user: &User| user.0.id))
    }

    /// SECRETARY and ADMINISTRATOR of the organisation: the registrations to process, oldest
    /// first (FORBIDDEN for others). The read is in the access log.
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        status: Option<RegistrationStatus>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, Registration>> {
        let op = ctx.operation()?;
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        guard::registrations(ctx, crate::policy::accounts::process_registrations(op.viewer.roles))?;
        let rows = registrations::page(ctx.app().db.conn(), &op, status.map(Into::into), after, limit).await?;
        // The accounts made from them, loaded for the page at once.
        let clients: Vec<uuid::Uuid> = rows.iter().filter_map(|row| row.client_id).collect();
        ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &clients).await?;
        let rows = rows.into_iter().map(Registration).collect();
        Ok(connection(rows, limit, after, |registration: &Registration| registration.0.id))
    }

    /// Users of the provider's organisation who accept delegations: whom the viewer may choose
    /// as default executor or delegate. For whoever names the provider's or a program's
    /// executor, or works on an open DELEGATE_DOSSIER task for one of its programs; FORBIDDEN
    /// for others.
    async fn delegation_candidates(&self, ctx: &Context<'_>, provider_id: ID) -> FieldResult<Vec<User>> {
        let op = ctx.operation()?;
        let provider_id = parse_id(&provider_id, "providerId")?;
        let rows = people::delegation_candidates(ctx.app().db.conn(), op.viewer, op.now, provider_id).await?;
        Ok(rows.into_iter().map(User).collect())
    }
}
