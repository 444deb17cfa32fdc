//! `emergency_access`: a broken glass: a professional's time-boxed access to a client outside their caseload.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "emergency_access")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// When the holder was warned that it ends soon.
    pub warned_at: Option<DateTimeUtc>,
    /// When the scheduler ended it (it stops granting access at `ends_at` regardless).
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
