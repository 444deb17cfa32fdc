//! Enums stored as short upper-case strings, shared by the tables and the API.

use enumset::EnumSetType;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a user may do in their organisation. A user holds one or more roles.
///
/// `EnumSetType` lets a user's roles travel as a `Copy` bit set (`EnumSet<Role>`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    EnumSetType,
    Serialize,
    Deserialize,
)]
#[enumset(no_super_impls)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "ADMINISTRATOR")]
    Administrator,
    #[sea_orm(string_value = "DATA_ANALYST")]
    DataAnalyst,
    #[sea_orm(string_value = "DATA_OFFICER")]
    DataOfficer,
    #[sea_orm(string_value = "COUNSELOR")]
    Counselor,
    #[sea_orm(string_value = "COUNSELOR_PLUS")]
    CounselorPlus,
    #[sea_orm(string_value = "SUPERVISOR")]
    Supervisor,
    #[sea_orm(string_value = "SECRETARY")]
    Secretary,
    #[sea_orm(string_value = "CLIENT")]
    Client,
    #[sea_orm(string_value = "GUARDIAN")]
    Guardian,
    #[sea_orm(string_value = "RELATIVE")]
    Relative,
    #[sea_orm(string_value = "EXTERNAL")]
    External,
}

/// What kind of organisation an organisation is; it decides which scenarios it takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganizationKind {
    #[sea_orm(string_value = "CARE_PROVIDER")]
    CareProvider,
    #[sea_orm(string_value = "PARTNER")]
    Partner,
    #[sea_orm(string_value = "INTERVENTION_PROVIDER")]
    InterventionProvider,
}

/// How a viewer is related to a client. Travels as an `EnumSet<Basis>`
/// in the access layer; stored in audit rows under its contract name ([`Basis::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumSetType, Serialize, Deserialize)]
#[enumset(no_super_impls)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Basis {
    /// SELF: the viewer is the client.
    #[serde(rename = "SELF")]
    Own,
    /// The viewer is the client's guardian.
    Guardian,
    /// The viewer counsels the client (directly, or as counselor of a group the client is in).
    Caseload,
    /// The viewer supervises the client (read-only).
    Supervisor,
    /// Primary coach or member of an open trajectory of the client.
    Trajectory,
    /// Member of a team assigned to an open trajectory of the client.
    Team,
    /// The client's dossier is delegated to the viewer (active delegation).
    Delegation,
    /// The client granted the viewer access in a workflow (granted, unexpired).
    Consent,
    /// The viewer broke the glass (active emergency access).
    Emergency,
    /// The viewer is a secretary of the client's organisation.
    Secretary,
    /// Both are members of a MUTUAL group.
    GroupPeer,
    /// The viewer is a relative the client added.
    Relative,
}

impl Basis {
    /// Every basis, in the order the access log reports them.
    pub const ALL: [Basis; 12] = [
        Self::Own,
        Self::Guardian,
        Self::Caseload,
        Self::Supervisor,
        Self::Trajectory,
        Self::Team,
        Self::Delegation,
        Self::Consent,
        Self::Emergency,
        Self::Secretary,
        Self::GroupPeer,
        Self::Relative,
    ];

    /// The contract's name of the basis (`SELF`, `CASELOAD`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Own => "SELF",
            Self::Guardian => "GUARDIAN",
            Self::Caseload => "CASELOAD",
            Self::Supervisor => "SUPERVISOR",
            Self::Trajectory => "TRAJECTORY",
            Self::Team => "TEAM",
            Self::Delegation => "DELEGATION",
            Self::Consent => "CONSENT",
            Self::Emergency => "EMERGENCY",
            Self::Secretary => "SECRETARY",
            Self::GroupPeer => "GROUP_PEER",
            Self::Relative => "RELATIVE",
        }
    }

    /// The basis with this contract name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|basis| basis.name() == name)
    }
}

/// What a dossier entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DossierEntryKind {
    #[sea_orm(string_value = "REPORT")]
    Report,
    #[sea_orm(string_value = "NOTE")]
    Note,
    #[sea_orm(string_value = "RESULT")]
    Result,
}

/// What an audited access did (NEN 7513).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    #[sea_orm(string_value = "READ")]
    Read,
    #[sea_orm(string_value = "CREATE")]
    Create,
    #[sea_orm(string_value = "UPDATE")]
    Update,
    #[sea_orm(string_value = "DELETE")]
    Delete,
    #[sea_orm(string_value = "EXPORT")]
    Export,
    #[sea_orm(string_value = "SEARCH")]
    Search,
    #[sea_orm(string_value = "EMERGENCY_ACCESS")]
    EmergencyAccess,
}

/// Whether an audited access was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditOutcome {
    #[sea_orm(string_value = "SUCCESS")]
    Success,
    #[sea_orm(string_value = "DENIED")]
    Denied,
}

/// Why a person is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    #[sea_orm(string_value = "CONSENT_REQUESTED")]
    ConsentRequested,
    #[sea_orm(string_value = "CONSENT_GRANTED")]
    ConsentGranted,
    #[sea_orm(string_value = "CONSENT_DECLINED")]
    ConsentDeclined,
    #[sea_orm(string_value = "CONSENT_REVOKED")]
    ConsentRevoked,
    #[sea_orm(string_value = "CONSENT_EXPIRING")]
    ConsentExpiring,
    #[sea_orm(string_value = "CONSENT_EXPIRED")]
    ConsentExpired,
    #[sea_orm(string_value = "DELEGATION_GRANTED")]
    DelegationGranted,
    #[sea_orm(string_value = "DELEGATION_EXPIRING")]
    DelegationExpiring,
    #[sea_orm(string_value = "DELEGATION_ENDED")]
    DelegationEnded,
    #[sea_orm(string_value = "EMERGENCY_ACCESS")]
    EmergencyAccess,
    #[sea_orm(string_value = "EMERGENCY_ACCESS_EXPIRING")]
    EmergencyAccessExpiring,
    #[sea_orm(string_value = "EMERGENCY_ACCESS_ENDED")]
    EmergencyAccessEnded,
    #[sea_orm(string_value = "TASK_CREATED")]
    TaskCreated,
    #[sea_orm(string_value = "MESSAGE_RECEIVED")]
    MessageReceived,
    #[sea_orm(string_value = "TRAJECTORY_MEMBER_ADDED")]
    TrajectoryMemberAdded,
    #[sea_orm(string_value = "TOOL_ASSIGNED")]
    ToolAssigned,
    #[sea_orm(string_value = "TOOL_FEEDBACK")]
    ToolFeedback,
    #[sea_orm(string_value = "NEWS_POSTED")]
    NewsPosted,
    #[sea_orm(string_value = "REGISTRATION_RECEIVED")]
    RegistrationReceived,
}

/// Where an outgoing e-mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmailStatus {
    /// Waiting to be sent (again).
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Accepted by the SMTP server.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// No SMTP server is configured: written to the log instead.
    #[sea_orm(string_value = "LOGGED")]
    Logged,
    /// Given up after the last retry.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// What a consent request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsentKind {
    /// Access for one of the workflow's professionals, for its fixed number of days.
    #[sea_orm(string_value = "WORKFLOW_PROFESSIONAL")]
    WorkflowProfessional,
    /// Prior agreement that the partner assigns professionals later.
    #[sea_orm(string_value = "APPEND_PROFESSIONALS")]
    AppendProfessionals,
    /// Access for a professional the partner assigned, until a chosen end date.
    #[sea_orm(string_value = "ASSIGNMENT")]
    Assignment,
}

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

/// Where a consent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsentStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "GRANTED")]
    Granted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// What a trajectory is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrajectoryKind {
    #[sea_orm(string_value = "GENERAL")]
    General,
    #[sea_orm(string_value = "INTERVENTION_DEPLOYMENT")]
    InterventionDeployment,
    #[sea_orm(string_value = "INTERVENTION_GUIDANCE")]
    InterventionGuidance,
}

/// Whether a trajectory is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrajectoryStatus {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

/// What a task asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskKind {
    #[sea_orm(string_value = "CONFIRM_INTERVENTION")]
    ConfirmIntervention,
    #[sea_orm(string_value = "DELEGATE_DOSSIER")]
    DelegateDossier,
}

/// Whether a task is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "DONE")]
    Done,
}

/// Where a program's executor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutorMode {
    #[sea_orm(string_value = "INHERIT")]
    Inherit,
    #[sea_orm(string_value = "OWN")]
    Own,
}

/// Where a delegation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DelegationStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "ENDED")]
    Ended,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// Who sees a care group and its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupVisibility {
    /// Only counselors see the group; members do not know it exists.
    #[sea_orm(string_value = "INVISIBLE")]
    Invisible,
    /// Members see the group's name and counselors, not each other.
    #[sea_orm(string_value = "CLIENT_VISIBLE")]
    ClientVisible,
    /// Members also see and message each other.
    #[sea_orm(string_value = "MUTUAL")]
    Mutual,
}
