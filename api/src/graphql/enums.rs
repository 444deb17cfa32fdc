//! GraphQL enums of the contract, mirrored from the stored enums.

use async_graphql::Enum;

/// A role a user holds in their organisation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::Role")]
pub enum Role {
    Administrator,
    DataAnalyst,
    DataOfficer,
    Counselor,
    CounselorPlus,
    Supervisor,
    Secretary,
    Client,
    Guardian,
    Relative,
    External,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::OrganizationKind")]
pub enum OrganizationKind {
    CareProvider,
    Partner,
    InterventionProvider,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::TrajectoryKind")]
pub enum TrajectoryKind {
    General,
    InterventionDeployment,
    InterventionGuidance,
}

/// How the viewer is related to a client; each basis grants what `policy::client` decides.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::Basis")]
pub enum AccessBasis {
    #[graphql(name = "SELF")]
    Own,
    Guardian,
    Caseload,
    Supervisor,
    Trajectory,
    Team,
    Delegation,
    Consent,
    Emergency,
    Secretary,
    GroupPeer,
    Relative,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::DossierEntryKind")]
pub enum DossierEntryKind {
    Report,
    Note,
    Result,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::AuditAction")]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Delete,
    Export,
    Search,
    EmergencyAccess,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::AuditOutcome")]
pub enum AuditOutcome {
    Success,
    Denied,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::TrajectoryStatus")]
pub enum TrajectoryStatus {
    Open,
    Closed,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::GroupVisibility")]
pub enum GroupVisibility {
    Invisible,
    ClientVisible,
    Mutual,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::NotificationKind")]
pub enum NotificationKind {
    ConsentRequested,
    ConsentGranted,
    ConsentDeclined,
    ConsentRevoked,
    ConsentExpiring,
    ConsentExpired,
    DelegationGranted,
    DelegationExpiring,
    DelegationEnded,
    EmergencyAccess,
    /// The viewer's emergency access ends soon.
    EmergencyAccessExpiring,
    /// The viewer's emergency access has ended.
    EmergencyAccessEnded,
    TaskCreated,
    MessageReceived,
    TrajectoryMemberAdded,
    /// A counselor set a tool ready for the viewer (alone, or with every client of a group).
    ToolAssigned,
    /// A counselor gave feedback on one of the viewer's tools.
    ToolFeedback,
    /// News was posted in a group the viewer is a member of.
    NewsPosted,
    /// Someone signed up with the viewer's organisation (for its secretaries).
    RegistrationReceived,
}

/// What a consent request asks.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::ConsentKind")]
pub enum ConsentKind {
    WorkflowProfessional,
    AppendProfessionals,
    Assignment,
}

/// Where a consent request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::ConsentStatus")]
pub enum ConsentStatus {
    Pending,
    Granted,
    Declined,
    Revoked,
    Expired,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::TaskKind")]
pub enum TaskKind {
    ConfirmIntervention,
    DelegateDossier,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::TaskStatus")]
pub enum TaskStatus {
    Open,
    Done,
}

/// Where a program's executor comes from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::ExecutorMode")]
pub enum ExecutorMode {
    Inherit,
    Own,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::DelegationStatus")]
pub enum DelegationStatus {
    Active,
    Ended,
    Revoked,
    Expired,
}

/// What happened to a delegation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelegationEventKind {
    Granted,
    Expiring,
    Expired,
    Revoked,
    Ended,
}

/// Where a registration stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "inzage_entity::RegistrationStatus")]
pub enum RegistrationStatus {
    Pending,
    Accepted,
    Rejected,
}
