//! `dossier_entry`: an entry in a client's dossier; optionally part of a trajectory or a workflow.

use sea_orm::entity::prelude::*;

use crate::DossierEntryKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dossier_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    pub kind: DossierEntryKind,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub author_id: Option<Uuid>,
    pub trajectory_id: Option<Uuid>,
    pub workflow_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
