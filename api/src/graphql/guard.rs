//! The one way a client's data leaves: the policy's decision is noted in the request's access
//! log, with the basis the decision names and the grant behind it, before the value is handed
//! out; a refusal is noted as DENIED and answered `FORBIDDEN`. Resolvers of client data call
//! [`read`] and nothing else of the access log.

use async_graphql::Context;
use inzage_entity::AuditAction;
use uuid::Uuid;

use crate::access::{Access, ClientAccess};
use crate::audit::AuditEntry;
use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use crate::policy::Decision;
use crate::policy::client as rules;

/// The kinds of a client's data, as the access log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientData {
    /// The client themself: finding them by id, in a list or a search.
    Client,
    Contact,
    Counselors,
    Relatives,
    Dossier,
    Tools,
    ToolContent,
    /// The counselors' feedback on a tool.
    ToolFeedback,
    Trajectories,
    AccessLog,
    /// Who can see them now, and why.
    AccessHolders,
    /// Their results in a workflow.
    Results,
}

impl ClientData {
    /// The object type of the access-log row.
    pub fn object_type(self) -> &'static str {
        match self {
            Self::Client => "Client",
            Self::Contact => "ContactDetails",
            Self::Counselors => "Counselors",
            Self::Relatives => "Relatives",
            Self::Dossier => "DossierEntry",
            Self::Tools => "Tool",
            Self::ToolContent => "ToolContent",
            Self::ToolFeedback => "ToolFeedback",
            Self::Trajectories => "Trajectory",
            Self::AccessLog => "AccessLog",
            Self::AccessHolders => "AccessHolders",
            Self::Results => "Results",
        }
    }
}

/// Notes the read of `data` of the client `client_id` on `decision`: with the basis it names
/// and that basis's grant in `access`; `FORBIDDEN` (and a DENIED row) when it refused.
pub fn read(
    ctx: &Context<'_>,
    client_id: Uuid,
    access: &Access,
    data: ClientData,
    decision: Decision,
) -> ApiResult<()> {
    let grant = decision.basis().and_then(|basis| access.grant_for(basis));
    read_on_grant(ctx, client_id, data, decision, grant)
}

/// Like [`read`], with the grant named by the caller (a consent of one workflow, say).
pub fn read_on_grant(
    ctx: &Context<'_>,
    client_id: Uuid,
    data: ClientData,
    decision: Decision,
    grant: Option<Uuid>,
) -> ApiResult<()> {
    let log = ctx.read_log()?;
    match decision {
        Decision::Allow(basis) => {
            log.record(AuditEntry::success(client_id, AuditAction::Read, data.object_type()).basis(basis, grant));
            Ok(())
        }
        Decision::Deny(reason) => {
            log.record(AuditEntry::denied(client_id, AuditAction::Read, data.object_type()));
            Err(ApiError::forbidden(reason))
        }
    }
}

/// Notes the read of the organisation's registrations (people who are no clients yet: one row
/// without a client per request), or its refusal; `FORBIDDEN` when refused.
pub fn registrations(ctx: &Context<'_>, decision: Decision) -> ApiResult<()> {
    let log = ctx.read_log()?;
    let entry = AuditEntry { client_id: None, ..AuditEntry::success(Uuid::nil(), AuditAction::Read, "Registration") };
    match decision {
        Decision::Allow(_) => {
            log.record(entry);
            Ok(())
        }
        Decision::Deny(reason) => {
            log.record(AuditEntry { outcome: inzage_entity::AuditOutcome::Denied, ..entry });
            Err(ApiError::forbidden(reason))
        }
    }
}

/// Notes that the client was found (read, listed or searched for, as `action` says).
pub fn found(ctx: &Context<'_>, client: &ClientAccess, action: AuditAction) -> ApiResult<()> {
    let decision = rules::find_client(client.access.bases);
    let grant = decision.basis().and_then(|basis| client.access.grant_for(basis));
    let log = ctx.read_log()?;
    log.record(match decision {
        Decision::Allow(basis) => AuditEntry::success(client.client.id, action, "Client").basis(basis, grant),
        Decision::Deny(_) => AuditEntry::denied(client.client.id, action, "Client"),
    });
    Ok(())
}

/// Notes the read of one of the client's trajectories, reached by itself (not through the
/// client's `trajectories`); the trajectory was found visible.
pub fn trajectory(ctx: &Context<'_>, client: &ClientAccess) -> ApiResult<()> {
    let decision = rules::read_trajectories(client.access.bases);
    read(ctx, client.client.id, &client.access, ClientData::Trajectories, decision)
}
