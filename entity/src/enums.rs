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
