use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::accounts::{self, NewAccount, NewContact};
use crate::domain::values::{Address, DisplayName, Email, Phone, parse_birth_date, parse_roles};
use crate::error::{ApiResult, FieldResult};
use crate::graphql::enums::Role;
use crate::graphql::types::accounts::User;
use crate::graphql::{ContextExt, parse_id};

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    #[graphql(default_with = "Some(false)")]
    pub accepts_delegations: Option<bool>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub birth_date: Option<String>,
}

impl CreateUserInput {
    fn parse(self, today: chrono::NaiveDate) -> ApiResult<NewAccount> {
        Ok(NewAccount {
            email: Email::parse(&self.email).map_err(|e| e.at("input.email"))?,
            display_name: DisplayName::parse(&self.display_name).map_err(|e| e.at("input.displayName"))?,
            roles: parse_roles(self.roles.into_iter().map(Into::into)).map_err(|e| e.at("input.roles"))?,
            accepts_delegations: self.accepts_delegations.unwrap_or(false),
            contact: NewContact {
                phone: self.phone.as_deref().map(Phone::parse).transpose().map_err(|e| e.at("input.phone"))?,
                address: self.address.as_deref().map(Address::parse).transpose().map_err(|e| e.at("input.address"))?,
                birth_date: self
                    .birth_date
                    .as_deref()
                    .map(|raw| parse_birth_date(raw, today))
                    .transpose()
                    .map_err(|e| e.at("input.birthDate"))?,
            },
        })
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// ADMINISTRATOR creates any account; SECRETARY, COUNSELOR and COUNSELOR_PLUS create CLIENT
    /// accounts (a counselor's new client joins their caseload).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> FieldResult<User> {
        let op = ctx.operation()?;
        let new = input.parse(op.now.date_naive())?;
        Ok(User(accounts::create(&ctx.app().db, &op, new).await?))
    }

    /// ADMINISTRATOR only; the organisation keeps at least one administrator (CONFLICT).
    async fn set_roles(&self, ctx: &Context<'_>, user_id: ID, roles: Vec<Role>) -> FieldResult<User> {
        let viewer = ctx.viewer()?;
        let user_id = parse_id(&user_id, "userId")?;
        let roles = parse_roles(roles.into_iter().map(Into::into)).map_err(|e| e.at("roles"))?;
        Ok(User(accounts::set_roles(&ctx.app().db, viewer, user_id, roles).await?))
    }

    /// ADMINISTRATOR and SECRETARY; a COUNSELOR or COUNSELOR_PLUS deactivates a CLIENT in their
    /// caseload. A deactivated account is refused on its next request.
    async fn set_user_active(&self, ctx: &Context<'_>, user_id: ID, active: bool) -> FieldResult<User> {
        let op = ctx.operation()?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(User(accounts::set_active(&ctx.app().db, &op, user_id, active).await?))
    }

    /// ADMINISTRATOR, or a professional for their own account.
    async fn set_accepts_delegations(&self, ctx: &Context<'_>, user_id: ID, accepts: bool) -> FieldResult<User> {
        let viewer = ctx.viewer()?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(User(accounts::set_accepts_delegations(&ctx.app().db, viewer, user_id, accepts).await?))
    }
}
