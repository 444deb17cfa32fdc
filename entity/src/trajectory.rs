//! `trajectory`: a care episode of one client with a primary coach, members and teams.

use sea_orm::entity::prelude::*;

use crate::{TrajectoryKind, TrajectoryStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trajectory")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub title: String,
    pub kind: TrajectoryKind,
    pub status: TrajectoryStatus,
    pub protocol_id: Option<Uuid>,
    pub primary_coach_id: Option<Uuid>,
    /// For INTERVENTION_GUIDANCE: the program it carries out.
    pub program_id: Option<Uuid>,
    /// For INTERVENTION_GUIDANCE: the deployment trajectory it came from.
    pub parent_id: Option<Uuid>,
    pub opened_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
