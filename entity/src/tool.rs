//! `tool`: a tool (questionnaire, exercise) owned by a client or a relative: assigned by a counselor or secretary, or made by the owner for self-help.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    pub counselor_id: Option<Uuid>,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub assigned_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
