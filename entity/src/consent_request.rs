//! `consent_request`: a participant's consent to a professional's access to their results in a workflow, asked, answered, and ended.

use sea_orm::entity::prelude::*;

use crate::{ConsentKind, ConsentStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_request")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ConsentKind,
    /// As stored; a GRANTED consent past `granted_until` is EXPIRED even before the scheduler
    /// records it (see `effective_status` in the API).
    pub status: ConsentStatus,
    pub client_id: Uuid,
    /// None for APPEND_PROFESSIONALS.
    pub professional_id: Option<Uuid>,
    pub workflow_id: Uuid,
    pub participation_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub access_days: Option<i32>,
    /// For ASSIGNMENT: the end date the partner chose.
    pub ends_at: Option<DateTimeUtc>,
    pub requested_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub granted_until: Option<DateTimeUtc>,
    /// When both sides were warned that the grant ends soon.
    pub warned_at: Option<DateTimeUtc>,
    /// When the grant ended (expired or revoked) and both sides were told.
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
