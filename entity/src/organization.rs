//! `organization`: a tenant. Every user belongs to exactly one.

use sea_orm::entity::prelude::*;

use crate::OrganizationKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub kind: OrganizationKind,
    pub created_at: DateTimeUtc,
    /// The protocol of new INTERVENTION_GUIDANCE trajectories, if any.
    pub guidance_protocol_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
