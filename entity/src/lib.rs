//! SeaORM entities of Inzage: one module per table, plus the enums they share.
//!
//! Entities are storage only. The GraphQL contract has its own types in `inzage-api`; keeping
//! the two apart lets the schema evolve without touching the tables and keeps authorization
//! (which lives on the GraphQL side, through `policy/`) out of the storage layer.

pub mod audit_event;
pub mod care_group;
pub mod caseload_link;
pub mod client_contact;
pub mod consent_request;
pub mod conversation;
pub mod conversation_participant;
pub mod delegation;
pub mod dossier_entry;
pub mod email_outbox;
pub mod emergency_access;
pub mod enums;
pub mod group_counselor;
pub mod group_member;
pub mod group_report;
pub mod guardian_link;
pub mod instance_setting;
pub mod member_role;
pub mod message;
pub mod news_post;
pub mod notification;
pub mod organization;
pub mod organization_secret;
pub mod participation;
pub mod program;
pub mod project;
pub mod protocol;
pub mod provider;
pub mod registration;
pub mod relative_link;
pub mod supervision_link;
pub mod task;
pub mod team;
pub mod team_member;
pub mod tool;
pub mod tool_feedback;
pub mod trajectory;
pub mod trajectory_member;
pub mod trajectory_team;
pub mod user;
pub mod user_role;
pub mod workflow;
pub mod workflow_professional;

pub use enums::{
    AuditAction, AuditOutcome, Basis, ConsentKind, ConsentStatus, DelegationStatus, DossierEntryKind, EmailStatus,
    ExecutorMode, GroupVisibility, NotificationKind, OrganizationKind, RegistrationStatus, Role, TaskKind, TaskStatus,
    TrajectoryKind, TrajectoryStatus,
};
