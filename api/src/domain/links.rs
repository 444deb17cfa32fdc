//! Writing the links between people and clients that the bases rest on: a counselor's caseload,
//! a supervisor's and a guardian's links. Creating a client (`accounts`) and linking people to
//! one (`care`) both write them here.

use chrono::{DateTime, Utc};
use inzage_entity::{Role, caseload_link, guardian_link, supervision_link};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::policy::{COUNSELOR_ROLES, RoleSet};

/// Which link a care-relation mutation makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareLink {
    Counselor,
    Supervisor,
    Guardian,
}

impl CareLink {
    pub fn object_type(self) -> &'static str {
        match self {
            Self::Counselor => "CaseloadLink",
            Self::Supervisor => "SupervisionLink",
            Self::Guardian => "GuardianLink",
        }
    }

    /// Roles the linked person must hold.
    pub fn required_roles(self) -> RoleSet {
        match self {
            Self::Counselor => COUNSELOR_ROLES,
            Self::Supervisor => Role::Supervisor.into(),
            Self::Guardian => Role::Guardian.into(),
        }
    }

    pub fn field(self) -> &'static str {
        match self {
            Self::Counselor => "counselorId",
            Self::Supervisor => "supervisorId",
            Self::Guardian => "guardianId",
        }
    }
}

/// Links `person` to `client` (nothing changes when they already are).
pub async fn insert(
    db: &impl ConnectionTrait,
    link: CareLink,
    person: Uuid,
    client: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match link {
        CareLink::Counselor => {
            caseload_link::Entity::insert(caseload_link::ActiveModel {
                counselor_id: Set(person),
                client_id: Set(client),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([caseload_link::Column::CounselorId, caseload_link::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
        CareLink::Supervisor => {
            supervision_link::Entity::insert(supervision_link::ActiveModel {
                supervisor_id: Set(person),
                client_id: Set(client),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([supervision_link::Column::SupervisorId, supervision_link::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
        CareLink::Guardian => {
            guardian_link::Entity::insert(guardian_link::ActiveModel {
                guardian_id: Set(person),
                client_id: Set(client),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([guardian_link::Column::GuardianId, guardian_link::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
    }
    Ok(())
}

/// Takes `counselor` off `client`'s caseload.
pub async fn remove_caseload(db: &impl ConnectionTrait, counselor: Uuid, client: Uuid) -> Result<(), DbErr> {
    caseload_link::Entity::delete_many()
        .filter(caseload_link::Column::CounselorId.eq(counselor))
        .filter(caseload_link::Column::ClientId.eq(client))
        .exec(db)
        .await?;
    Ok(())
}
