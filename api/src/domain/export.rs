//! The dossier export for research and reporting: DATA_OFFICER sees who, DATA_ANALYST sees a
//! stable pseudonym per client (a keyed HMAC with a per-organisation secret, never the id or
//! the name, so it cannot be reversed or recomputed outside the service).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use inzage_entity::{AuditAction, DossierEntryKind, dossier_entry, organization_secret, user};
use rand::RngCore;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::Sha256;
use uuid::Uuid;

use super::Operation;
use crate::audit::{self, AuditEntry};
use crate::db::AmongIds;
use crate::db::Database;
use crate::error::ApiResult;
use crate::policy::client::{self as rules, ExportView};

/// One exported dossier entry.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub entry_id: Uuid,
    pub client_ref: String,
    pub client_name: Option<String>,
    pub entry_kind: DossierEntryKind,
    pub created_at: DateTime<Utc>,
}

/// One page of the organisation's dossier entries, oldest first. Every client in the page gets
/// an EXPORT row in their access log, in the same transaction.
pub async fn export_page(
    db: &Database,
    op: &Operation<'_>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<ExportRow>> {
    let view = rules::export(op.viewer.roles).map_err(|decision| match decision.check() {
        Err(err) => err,
        Ok(_) => crate::error::ApiError::internal("export refused without a reason"),
    })?;
    let txn = db.begin_write().await?;
    let key = pseudonym_key(&*txn, op.viewer.organization_id).await?;
    let organisation_clients = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(user::Column::OrganizationId.eq(op.viewer.organization_id))
        .to_owned();
    let mut query = dossier_entry::Entity::find()
        .filter(dossier_entry::Column::ClientId.in_subquery(organisation_clients))
        .order_by_asc(dossier_entry::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(dossier_entry::Column::Id.gt(after));
    }
    let entries = query.all(&*txn).await?;
    let client_ids: BTreeSet<Uuid> = entries.iter().map(|e| e.client_id).collect();
    let names: HashMap<Uuid, String> = match view {
        ExportView::Identified => user::Entity::find()
            .filter(user::Column::Id.among(&*txn, client_ids.iter().copied()))
            .all(&*txn)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect(),
        ExportView::Pseudonymised => HashMap::new(),
    };
    // Log the clients of the page itself (not of the one extra row that tells a next page exists).
    let exported: BTreeSet<Uuid> = entries.iter().take(limit as usize).map(|e| e.client_id).collect();
    let rows = exported.into_iter().map(|id| AuditEntry::success(id, AuditAction::Export, "DossierExport")).collect();
    audit::write_many(&*txn, op.viewer, op.now, op.request_id, rows).await?;
    txn.commit().await?;
    Ok(entries
        .into_iter()
        .map(|entry| ExportRow {
            entry_id: entry.id,
            client_ref: match view {
                ExportView::Identified => entry.client_id.to_string(),
                ExportView::Pseudonymised => pseudonym(&key, entry.client_id),
            },
            client_name: names.get(&entry.client_id).cloned(),
            entry_kind: entry.kind,
            created_at: entry.created_at,
        })
        .collect())
}

/// The organisation's pseudonym key, created the first time it is needed.
async fn pseudonym_key(txn: &impl ConnectionTrait, organization_id: Uuid) -> Result<Vec<u8>, DbErr> {
    if let Some(row) = organization_secret::Entity::find_by_id(organization_id).one(txn).await? {
        return Ok(hex::decode(row.pseudonym_key).unwrap_or_default());
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    organization_secret::Entity::insert(organization_secret::ActiveModel {
        organization_id: Set(organization_id),
        pseudonym_key: Set(hex::encode(key)),
    })
    .on_conflict(OnConflict::column(organization_secret::Column::OrganizationId).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    let stored = organization_secret::Entity::find_by_id(organization_id).one(txn).await?;
    Ok(stored.map(|row| hex::decode(row.pseudonym_key).unwrap_or_default()).unwrap_or_else(|| key.to_vec()))
}

/// `HMAC-SHA256(key, client id)`, hex, shortened to 128 bits.
fn pseudonym(key: &[u8], client_id: Uuid) -> String {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(client_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("p-{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_reveal_nothing() {
        let client = Uuid::now_v7();
        let key = [7u8; 32];
        assert_eq!(pseudonym(&key, client), pseudonym(&key, client));
        assert_ne!(pseudonym(&key, client), pseudonym(&[8u8; 32], client), "another organisation, another pseudonym");
        assert_ne!(pseudonym(&key, client), pseudonym(&key, Uuid::now_v7()));
        let simple = client.simple().to_string();
        assert!(!pseudonym(&key, client).contains(&simple[..8]));
    }
}
