//! Rows of the dossier export.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use crate::domain::export;
use crate::graphql::enums::{DossierEntryKind, TrajectoryKind};

#[derive(SimpleObject, Debug, Clone)]
pub struct ExportRow {
    /// A stable pseudonym for DATA_ANALYST, the client id for DATA_OFFICER.
    pub client_ref: String,
    /// Null for DATA_ANALYST.
    pub client_name: Option<String>,
    pub entry_kind: DossierEntryKind,
    pub created_at: DateTime<Utc>,
    pub trajectory_kind: Option<TrajectoryKind>,
    #[graphql(skip)]
    pub entry_id: uuid::Uuid,
}

impl From<export::ExportRow> for ExportRow {
    fn from(row: export::ExportRow) -> Self {
        Self {
            client_ref: row.client_ref,
            client_name: row.client_name,
            entry_kind: row.entry_kind.into(),
            created_at: row.created_at,
            trajectory_kind: None,
            entry_id: row.entry_id,
        }
    }
}
