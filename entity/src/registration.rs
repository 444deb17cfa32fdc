//! `registration`: someone who signed up with an organisation, until a secretary accepts it (a
//! CLIENT account is made) or rejects it.

use sea_orm::entity::prelude::*;

use crate::RegistrationStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registration")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub birth_date: Option<Date>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub status: RegistrationStatus,
    pub submitted_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    pub processed_by: Option<Uuid>,
    /// The CLIENT account made from an accepted registration.
    pub client_id: Option<Uuid>,
    /// Why a registration was rejected.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
