use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::teams;
use crate::domain::values::DisplayName;
use crate::error::{ApiError, FieldResult};
use crate::graphql::types::accounts::Organization;
use crate::graphql::types::trajectories::Team;
use crate::graphql::{ContextExt, parse_id};

#[derive(InputObject)]
pub struct CreateTeamInput {
    pub name: String,
}

/// The organisation's trajectory teams and member roles: all by its ADMINISTRATOR.
#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// By an ADMINISTRATOR.
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> FieldResult<Team> {
        let op = ctx.operation()?;
        let name = DisplayName::parse(&input.name).map_err(|e| e.at("input.name"))?;
        Ok(Team(teams::create(&ctx.app().db, &op, name).await?))
    }

    /// By an ADMINISTRATOR; `role` is one of the organisation's member roles.
    async fn add_team_member(&self, ctx: &Context<'_>, team_id: ID, user_id: ID, role: String) -> FieldResult<Team> {
        let op = ctx.operation()?;
        let team_id = parse_id(&team_id, "teamId")?;
        let user_id = parse_id(&user_id, "userId")?;
        let role = crate::domain::trajectories::parse_role(&role).map_err(|e| e.at("role"))?;
        Ok(Team(teams::add_member(&ctx.app().db, &op, team_id, user_id, role).await?))
    }

    async fn rename_team(&self, ctx: &Context<'_>, team_id: ID, name: String) -> FieldResult<Team> {
        let op = ctx.operation()?;
        let team_id = parse_id(&team_id, "teamId")?;
        let name = DisplayName::parse(&name).map_err(|e| e.at("name"))?;
        Ok(Team(teams::rename(&ctx.app().db, &op, team_id, name).await?))
    }

    /// The member's TEAM access through the team's trajectories ends at once.
    async fn remove_team_member(&self, ctx: &Context<'_>, team_id: ID, user_id: ID) -> FieldResult<Team> {
        let op = ctx.operation()?;
        let team_id = parse_id(&team_id, "teamId")?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(Team(teams::remove_member(&ctx.app().db, &op, team_id, user_id).await?))
    }

    /// Takes the team off every trajectory first: its members' TEAM access ends at once.
    /// Returns the team's id.
    async fn delete_team(&self, ctx: &Context<'_>, team_id: ID) -> FieldResult<ID> {
        let op = ctx.operation()?;
        let team_id = parse_id(&team_id, "teamId")?;
        Ok(ID(teams::delete(&ctx.app().db, &op, team_id).await?.to_string()))
    }

    /// Replaces the roles trajectory and team members may be given from now on (members keep
    /// the roles they hold). At least one, none twice (ignoring case).
    async fn set_member_roles(&self, ctx: &Context<'_>, roles: Vec<String>) -> FieldResult<Organization> {
        let op = ctx.operation()?;
        let roles = teams::parse_member_roles(&roles).map_err(|(index, invalid)| match index {
            Some(index) => invalid.at(&format!("roles[{index}]")),
            None => invalid.at("roles"),
        })?;
        teams::set_member_roles(&ctx.app().db, &op, roles).await?;
        let organization = ctx.loaders().organizations.load_one(op.viewer.organization_id).await?;
        Ok(Organization(organization.ok_or_else(|| ApiError::internal("viewer without organisation"))?))
    }
}
