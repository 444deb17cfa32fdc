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
pub enum TrajectoryKind {
    General,
    InterventionDeployment,
    InterventionGuidance,
}
