//! `audit_event`: one row of the NEN 7513 access log: who did what to which client's data, on which basis, with what outcome.

use sea_orm::entity::prelude::*;

use crate::{AuditAction, AuditOutcome, Role};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurred_at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<Role>,
    pub client_id: Option<Uuid>,
    pub action: AuditAction,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    /// The contract name of the basis the access rested on ([`crate::Basis::name`]).
    pub basis: Option<String>,
    /// The grant the basis rests on (emergency access, delegation, consent), when there is one.
    pub grant_id: Option<Uuid>,
    pub outcome: AuditOutcome,
    pub request_id: Option<String>,
    pub emergency: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
