//! `delegation`: a client's dossier delegated to a user (of an intervention provider), for the life of a trajectory or until an end date.

use sea_orm::entity::prelude::*;

use crate::DelegationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delegation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    pub delegate_id: Uuid,
    pub trajectory_id: Option<Uuid>,
    pub granted_by: Option<Uuid>,
    /// As stored; an ACTIVE delegation past `ends_at` is EXPIRED even before the scheduler
    /// records it.
    pub status: DelegationStatus,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    /// When the delegate was warned that it ends soon.
    pub warned_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
