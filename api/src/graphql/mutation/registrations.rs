use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::registrations::{self, NewRegistration};
use crate::domain::values::{DisplayName, Email, Phone, parse_birth_date};
use crate::error::FieldResult;
use crate::graphql::types::registrations::{Registration, RegistrationReceipt};
use crate::graphql::{ContextExt, RequestData, parse_id};
use crate::ratelimit::Limited;

#[derive(InputObject)]
pub struct RegistrationInput {
    pub organization_id: ID,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub birth_date: Option<String>,
    pub note: Option<String>,
}

/// Registrations: submitted without a token, processed by a SECRETARY or ADMINISTRATOR.
#[derive(Default)]
pub struct RegistrationMutation;

#[Object]
impl RegistrationMutation {
    /// Signs someone up with an organisation; needs no token. Answers `received: true`
    /// whatever the input's relation to existing accounts, registrations or organisations, and
    /// tells the organisation's secretaries (REGISTRATION_RECEIVED). Rate limited per client
    /// address and per organisation.
    async fn submit_registration(
        &self,
        ctx: &Context<'_>,
        input: RegistrationInput,
    ) -> FieldResult<RegistrationReceipt> {
        let app = ctx.app();
        let today = app.clock.now().date_naive();
        let new = NewRegistration {
            organization_id: parse_id(&input.organization_id, "input.organizationId")?,
            display_name: DisplayName::parse(&input.display_name).map_err(|e| e.at("input.displayName"))?,
            email: Email::parse(&input.email).map_err(|e| e.at("input.email"))?,
            phone: input.phone.as_deref().map(Phone::parse).transpose().map_err(|e| e.at("input.phone"))?,
            birth_date: input
                .birth_date
                .as_deref()
                .map(|raw| parse_birth_date(raw, today))
                .transpose()
                .map_err(|e| e.at("input.birthDate"))?,
            note: match input.note.as_deref() {
                Some(raw) => registrations::parse_note(raw).map_err(|e| e.at("input.note"))?,
                None => None,
            },
        };
        // Counted before anything is stored: per address first, then for the organisation.
        if let Some(address) = ctx.data_opt::<RequestData>().and_then(|request| request.client_address) {
            app.rate_limits.check_address(address).await?;
        }
        app.rate_limits.check(Limited::RegistrationForOrganization, new.organization_id).await?;
        registrations::submit(&app.db, new, app.clock.now()).await?;
        Ok(RegistrationReceipt { received: true })
    }

    /// Makes the CLIENT account (linking `counselorId`, a counselor of the organisation, when
    /// given); CONFLICT when the address is taken or the registration was processed.
    async fn accept_registration(
        &self,
        ctx: &Context<'_>,
        registration_id: ID,
        counselor_id: Option<ID>,
    ) -> FieldResult<Registration> {
        let op = ctx.operation()?;
        let id = parse_id(&registration_id, "registrationId")?;
        let counselor_id = counselor_id.as_ref().map(|id| parse_id(id, "counselorId")).transpose()?;
        Ok(Registration(registrations::accept(&ctx.app().db, &op, id, counselor_id).await?))
    }

    /// Rejects a registration with a reason.
    async fn reject_registration(
        &self,
        ctx: &Context<'_>,
        registration_id: ID,
        reason: String,
    ) -> FieldResult<Registration> {
        let op = ctx.operation()?;
        let id = parse_id(&registration_id, "registrationId")?;
        let reason = registrations::parse_reason(&reason).map_err(|e| e.at("reason"))?;
        Ok(Registration(registrations::reject(&ctx.app().db, &op, id, reason).await?))
    }
}
