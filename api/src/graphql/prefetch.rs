//! Lists load what their items' fields will ask for before the items resolve: one query per kind
//! of row for the whole list, into the request's cached loaders (`loaders::Cached`). Each item's
//! field then loads its rows the one way it always does, through its loader, and finds them
//! there; resolved alone, it loads them itself. (Batch loaders alone batch only what arrives
//! within their window; a list resolved in one go is loaded here deterministically instead.)
//! Where loaders keep nothing (mutations, subscriptions: see `loaders::Keep`), nothing is
//! loaded ahead, and the items' loads are batched as they come.

use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Lookahead};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::access::ClientAccess;
use crate::domain::trajectories;
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::loaders::{Cached, warm};
use crate::policy::client as rules;

/// Whether any of `selections` (a list's item selections) selects `field`.
fn selects(selections: &[Lookahead<'_>], field: &str) -> bool {
    selections.iter().any(|selection| selection.field(field).exists())
}

/// The sub-selections of `field` in each of `selections`.
fn under<'a>(selections: &[Lookahead<'a>], field: &str) -> Vec<Lookahead<'a>> {
    selections.iter().map(|selection| selection.field(field)).collect()
}

/// For a list of clients: what `selections` ask of them (contact details, counselors, tools,
/// relatives, trajectories with their members, groups with their people).
pub async fn clients(ctx: &Context<'_>, clients: &[ClientAccess], selections: &[Lookahead<'_>]) -> ApiResult<()> {
    let ids: Vec<Uuid> = clients.iter().map(|c| c.client.id).collect();
    let loaders = ctx.loaders();
    if ids.is_empty() || !loaders.keeps() {
        return Ok(());
    }
    let ids = &ids;
    // Each kind of row is loaded by a statement of its own, side by side: on PostgreSQL each
    // runs on a connection of its own, so a page waits for the slowest, not for their sum.
    let contacts = async {
        if selects(selections, "contact") {
            warm(&loaders.contacts, ids.iter().copied()).await?;
        }
        ApiResult::Ok(())
    };
    let counselors = async {
        if selects(selections, "counselors") {
            warm(&loaders.counselors, ids.iter().copied()).await?;
        }
        Ok(())
    };
    let tools = async {
        if selects(selections, "tools") {
            warm(&loaders.tools, ids.iter().copied()).await?;
        }
        Ok(())
    };
    let relatives = async {
        if selects(selections, "relatives") {
            warm(&loaders.relatives, ids.iter().copied()).await?;
            let sharing_only = |c: &ClientAccess| {
                rules::relatives_scope(c.access.bases) == rules::RelativesScope::SharingAConversation
            };
            if clients.iter().any(sharing_only) {
                loaders.sharing_with(ctx.viewer()?.user_id).await?;
            }
        }
        Ok(())
    };
    let trajectories = async {
        if selects(selections, "trajectories") {
            let found = warm(&loaders.client_trajectories, ids.iter().copied()).await?;
            let seen = clients.iter().flat_map(|client| {
                let rows = found.get(&client.client.id).map(Vec::as_slice).unwrap_or_default();
                rows.iter().filter(|row| trajectories::sees(client, row)).map(|row| row.id)
            });
            let seen: Vec<Uuid> = seen.collect();
            trajectory_members(ctx, &seen, &under(selections, "trajectories")).await?;
        }
        Ok(())
    };
    let groups = async {
        if selects(selections, "groups") {
            let found = warm(&loaders.client_groups, ids.iter().copied()).await?;
            let group_ids: Vec<Uuid> = found.values().flatten().map(|g| g.model.id).collect();
            group_people(ctx, &group_ids, &under(selections, "groups")).await?;
        }
        Ok(())
    };
    futures_util::try_join!(contacts, counselors, tools, relatives, trajectories, groups)?;
    Ok(())
}

/// For a list of trajectories: their members, and the members' accounts, when asked for.
pub async fn trajectory_members(ctx: &Context<'_>, ids: &[Uuid], selections: &[Lookahead<'_>]) -> ApiResult<()> {
    members_with_accounts(ctx, &ctx.loaders().trajectory_members, ids, selections, |m| m.user_id).await
}

/// For a list of groups: their counselors and members, when asked for.
pub async fn group_people(ctx: &Context<'_>, ids: &[Uuid], selections: &[Lookahead<'_>]) -> ApiResult<()> {
    let loaders = ctx.loaders();
    if ids.is_empty() || !loaders.keeps() {
        return Ok(());
    }
    if selects(selections, "counselors") {
        warm(&loaders.group_counselors, ids.iter().copied()).await?;
    }
    if selects(selections, "members") {
        warm(&loaders.group_members, ids.iter().copied()).await?;
    }
    Ok(())
}

/// For a list of teams: their members, and the members' accounts, when asked for.
pub async fn teams(ctx: &Context<'_>, ids: &[Uuid], selections: &[Lookahead<'_>]) -> ApiResult<()> {
    members_with_accounts(ctx, &ctx.loaders().team_members, ids, selections, |m| m.user_id).await
}

/// The `members` of each of `ids` through `loader`, and their accounts (`account` of a member)
/// when `members { user }` is selected.
async fn members_with_accounts<L, M>(
    ctx: &Context<'_>,
    loader: &Cached<L>,
    ids: &[Uuid],
    selections: &[Lookahead<'_>],
    account: fn(&M) -> Uuid,
) -> ApiResult<()>
where
    L: Loader<Uuid, Value = Vec<M>, Error = Arc<DbErr>>,
    M: Clone + Send + Sync + 'static,
{
    let loaders = ctx.loaders();
    if ids.is_empty() || !loaders.keeps() || !selects(selections, "members") {
        return Ok(());
    }
    let members = warm(loader, ids.iter().copied()).await?;
    if under(selections, "members").iter().any(|members| members.field("user").exists()) {
        warm(&loaders.users, members.values().flatten().map(account)).await?;
    }
    Ok(())
}
