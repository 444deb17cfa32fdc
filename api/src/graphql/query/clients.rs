use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};
use inzage_entity::AuditAction;

use crate::access::Listing;
use crate::domain::export;
use crate::error::{ApiError, FieldResult};
use crate::graphql::guard;
use crate::graphql::pagination::{connection, cursor, page_size};
use crate::graphql::types::client::{self, Client};
use crate::graphql::types::export::ExportRow;
use crate::graphql::{ContextExt, parse_id};

#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// A client the viewer has a basis for; null with NOT_FOUND otherwise.
    async fn client(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Client>> {
        let op = ctx.operation()?;
        let id = parse_id(&id, "id")?;
        let found = ctx.loaders().access.load(&ctx.app().db, op.viewer, op.now, &[id]).await?.remove(&id);
        match found {
            Some(client) => {
                guard::found(ctx, &client, AuditAction::Read)?;
                if client.access.bases.is_empty() {
                    return Err(ApiError::not_found("client").into());
                }
                Ok(Some(client.into()))
            }
            None => Err(ApiError::not_found("client").into()),
        }
    }

    /// Every client the viewer has a basis for.
    async fn clients(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<String, Client>> {
        let op = ctx.operation()?;
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let rows = ctx
            .loaders()
            .access
            .list(&ctx.app().db, op.viewer, op.now, Listing::Visible, search.as_deref(), after, limit)
            .await?;
        let action = if search.is_some() { AuditAction::Search } else { AuditAction::Read };
        for client in rows.iter().take(limit as usize) {
            guard::found(ctx, client, action)?;
        }
        let look_ahead = ctx.look_ahead();
        let items = [look_ahead.field("nodes"), look_ahead.field("edges").field("node")];
        let rows = client::list(ctx, rows, &items).await?;
        Ok(connection(rows, limit, after, |client: &Client| client.model.id))
    }

    /// DATA_ANALYST (pseudonymised) and DATA_OFFICER only.
    async fn dossier_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(100)")] first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Option<Connection<String, ExportRow>>> {
        let op = ctx.operation()?;
        let limit = page_size(first)?;
        let after = cursor(after.as_deref())?;
        let rows = export::export_page(&ctx.app().db, &op, after, limit).await?;
        let rows: Vec<ExportRow> = rows.into_iter().map(ExportRow::from).collect();
        Ok(Some(connection(rows, limit, after, |row: &ExportRow| row.entry_id)))
    }
}
