//! `workflow`: a workflow of a project that clients take part in and professionals work in with the participant's consent.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    /// The project's organisation, kept here for the lookups that need only it.
    pub organization_id: Uuid,
    pub name: String,
    /// Participants are also asked to agree that professionals are assigned later.
    pub allow_append_professionals: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
