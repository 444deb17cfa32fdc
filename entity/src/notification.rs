//! `notification`: something a person must know or act on; written in the transaction of the operation that caused it.

use sea_orm::entity::prelude::*;

use crate::NotificationKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub kind: NotificationKind,
    pub title: String,
    pub client_id: Option<Uuid>,
    pub consent_request_id: Option<Uuid>,
    pub delegation_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub emergency_access_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
