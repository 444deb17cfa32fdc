//! `program`: a program of an intervention provider, with its own executor or the provider's.

use sea_orm::entity::prelude::*;

use crate::ExecutorMode;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "program")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider_id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub executor_mode: ExecutorMode,
    /// OWN mode: the program's executor (none when null).
    pub executor_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
