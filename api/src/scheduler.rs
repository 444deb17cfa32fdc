//! Expiry of time-bound access (emergency access, granted consents, delegations): warns once before the end (the configured window),
//! and ends it at the deadline.
//!
//! Access itself is computed from the deadline on every request, so it ends to the second
//! whatever the scheduler does; the scheduler tells people. Every instance may run it: each
//! warning and each end is claimed by one conditional `UPDATE ... WHERE warned_at IS NULL`
//! (resp. `ended_at`), so exactly one instance emits it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inzage_entity::{
    ConsentStatus, DelegationStatus, NotificationKind, consent_request, delegation, emergency_access, workflow,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::clock::SharedClock;
use crate::db::Database;
use crate::domain::notifications::{self, Links};
use crate::metrics::Metrics;

/// The longest the scheduler sleeps without looking (a safety net; deadlines wake it).
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// What the scheduler does to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Warn,
    End,
}

/// Emits expiry warnings and ends, on time.
pub struct Scheduler {
    db: Database,
    clock: SharedClock,
    warning: chrono::Duration,
    metrics: Arc<Metrics>,
}

impl Scheduler {
    pub fn new(db: Database, clock: SharedClock, warning: chrono::Duration, metrics: Arc<Metrics>) -> Self {
        Self { db, clock, warning, metrics }
    }

    /// Counts one emitted step of a grant ending at `ends_at`, with how late it came.
    fn emitted(&self, step: Step, ends_at: DateTime<Utc>, now: DateTime<Utc>) {
        let due = match step {
            Step::Warn => ends_at - self.warning,
            Step::End => ends_at,
        };
        self.metrics.scheduler_step((now - due).to_std().unwrap_or_default());
    }

    /// Runs until the process ends, waking at the next deadline (or when one is added).
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let hub = self.db.hub().clone();
            loop {
                // What is announced from here on may not be in what is read below.
                hub.take_announced_deadline();
                if let Err(err) = self.run_due().await {
                    tracing::warn!(error = %err, "the expiry scheduler failed; retrying");
                }
                let sleep = match self.next_deadline().await {
                    Ok(Some(deadline)) => (deadline - self.clock.now()).to_std().unwrap_or_default().min(MAX_SLEEP),
                    Ok(None) => MAX_SLEEP,
                    Err(_) => Duration::from_secs(1),
                };
                // A new grant matters only when its warning is due before this wake-up: most
                // grants run for days, and every instance hears of each one.
                let wake_at = self.clock.now() + chrono::Duration::from_std(sleep).unwrap_or(chrono::Duration::MAX);
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = hub.deadline_set(|ends_at| self.due_at(None, ends_at) < wake_at) => {}
                }
            }
        })
    }

    /// The earliest moment something is due: a warning or an end not yet emitted.
    pub async fn next_deadline(&self) -> Result<Option<DateTime<Utc>>, DbErr> {
        let emergency = emergency_access::Entity::find()
            .filter(emergency_access::Column::EndedAt.is_null())
            .order_by_asc(emergency_access::Column::EndsAt)
            .limit(1)
            .one(self.db.conn())
            .await?
            .map(|grant| self.due_at(grant.warned_at, grant.ends_at));
        let consent = consent_request::Entity::find()
            .filter(open_consents())
            .order_by_asc(consent_request::Column::GrantedUntil)
            .limit(1)
            .one(self.db.conn())
            .await?
            .and_then(|grant| grant.granted_until.map(|until| self.due_at(grant.warned_at, until)));
        let delegation = delegation::Entity::find()
            .filter(open_delegations())
            .order_by_asc(delegation::Column::EndsAt)
            .limit(1)
            .one(self.db.conn())
            .await?
            .and_then(|grant| grant.ends_at.map(|ends| self.due_at(grant.warned_at, ends)));
        Ok(emergency.into_iter().chain(consent).chain(delegation).min())
    }

    fn due_at(&self, warned_at: Option<DateTime<Utc>>, ends_at: DateTime<Utc>) -> DateTime<Utc> {
        match warned_at {
            None => ends_at - self.warning,
            Some(_) => ends_at,
        }
    }

    /// Emits everything due now; returns how many events this instance emitted.
    pub async fn run_due(&self) -> Result<usize, DbErr> {
        let now = self.clock.now();
        let mut emitted = 0;
        let due = emergency_access::Entity::find()
            .filter(emergency_access::Column::EndedAt.is_null())
            .filter(emergency_access::Column::EndsAt.lte(now + self.warning))
            .order_by_asc(emergency_access::Column::EndsAt)
            .all(self.db.conn())
            .await?;
        for grant in due {
            let step = if grant.ends_at <= now { Step::End } else { Step::Warn };
            if (step == Step::End || grant.warned_at.is_none()) && self.claim_emergency(&grant, step, now).await? {
                self.emitted(step, grant.ends_at, now);
                emitted += 1;
            }
        }
        let due = consent_request::Entity::find()
            .filter(open_consents())
            .filter(consent_request::Column::GrantedUntil.lte(now + self.warning))
            .order_by_asc(consent_request::Column::GrantedUntil)
            .all(self.db.conn())
            .await?;
        for grant in due {
            let Some(until) = grant.granted_until else { continue };
            let step = if until <= now { Step::End } else { Step::Warn };
            if (step == Step::End || grant.warned_at.is_none()) && self.claim_consent(&grant, step, now).await? {
                self.emitted(step, until, now);
                emitted += 1;
            }
        }
        let due = delegation::Entity::find()
            .filter(open_delegations())
            .filter(delegation::Column::EndsAt.lte(now + self.warning))
            .order_by_asc(delegation::Column::EndsAt)
            .all(self.db.conn())
            .await?;
        for grant in due {
            let Some(ends) = grant.ends_at else { continue };
            let step = if ends <= now { Step::End } else { Step::Warn };
            if (step == Step::End || grant.warned_at.is_none()) && self.claim_delegation(&grant, step, now).await? {
                self.emitted(step, ends, now);
                emitted += 1;
            }
        }
        Ok(emitted)
    }

    /// Claims one step of one emergency access and notifies its holder, in one transaction;
    /// false when another instance claimed it first.
    async fn claim_emergency(
        &self,
        grant: &emergency_access::Model,
        step: Step,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let ending = step == Step::End;
        let column = if ending { emergency_access::Column::EndedAt } else { emergency_access::Column::WarnedAt };
        let txn = self.db.begin_write().await?;
        let mut update = emergency_access::Entity::update_many()
            .col_expr(column, Expr::value(now))
            .filter(emergency_access::Column::Id.eq(grant.id))
            .filter(column.is_null());
        if ending {
            // A grant that ends without having been warned needs no warning any more.
            update = update.col_expr(
                emergency_access::Column::WarnedAt,
                Expr::col(emergency_access::Column::WarnedAt).if_null(Expr::value(now)),
            );
        }
        if update.exec(&*txn).await?.rows_affected != 1 {
            return Ok(false);
        }
        let (kind, title) = if ending {
            (NotificationKind::EmergencyAccessEnded, "Your emergency access has ended")
        } else {
            (NotificationKind::EmergencyAccessExpiring, "Your emergency access ends soon")
        };
        let links = Links { client_id: Some(grant.client_id), emergency_access_id: Some(grant.id), ..Links::default() };
        notifications::notify(&txn, [grant.user_id], kind, title, links, now);
        txn.commit().await?;
        Ok(true)
    }

    /// Claims one step of one delegation (marking it EXPIRED at the end) and tells the delegate,
    /// in one transaction; false when another instance claimed it first, or it ended otherwise.
    async fn claim_delegation(&self, grant: &delegation::Model, step: Step, now: DateTime<Utc>) -> Result<bool, DbErr> {
        let ending = step == Step::End;
        let txn = self.db.begin_write().await?;
        let mut update = delegation::Entity::update_many()
            .filter(delegation::Column::Id.eq(grant.id))
            .filter(delegation::Column::Status.eq(DelegationStatus::Active));
        update = if ending {
            update
                .col_expr(delegation::Column::Status, Expr::value(DelegationStatus::Expired))
                .col_expr(delegation::Column::EndedAt, Expr::value(now))
                .col_expr(
                    delegation::Column::WarnedAt,
                    Expr::col(delegation::Column::WarnedAt).if_null(Expr::value(now)),
                )
        } else {
            update
                .col_expr(delegation::Column::WarnedAt, Expr::value(now))
                .filter(delegation::Column::WarnedAt.is_null())
        };
        if update.exec(&*txn).await?.rows_affected != 1 {
            return Ok(false);
        }
        if ending {
            crate::domain::delegations::release_coach(&*txn, grant).await?;
        }
        let (kind, title) = if ending {
            (NotificationKind::DelegationEnded, "A delegation to you has expired")
        } else {
            (NotificationKind::DelegationExpiring, "A delegation to you ends soon")
        };
        let links = Links { client_id: Some(grant.client_id), delegation_id: Some(grant.id), ..Links::default() };
        notifications::notify(&txn, [grant.delegate_id], kind, title, links, now);
        txn.commit().await?;
        Ok(true)
    }

    /// Claims one step of one granted consent (marking it EXPIRED at the end) and notifies both
    /// the participant and the professional, in one transaction; false when another instance
    /// claimed it first, or the participant revoked it meanwhile.
    async fn claim_consent(
        &self,
        grant: &consent_request::Model,
        step: Step,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let ending = step == Step::End;
        let column = if ending { consent_request::Column::EndedAt } else { consent_request::Column::WarnedAt };
        let txn = self.db.begin_write().await?;
        let mut update = consent_request::Entity::update_many()
            .col_expr(column, Expr::value(now))
            .filter(consent_request::Column::Id.eq(grant.id))
            .filter(consent_request::Column::Status.eq(ConsentStatus::Granted))
            .filter(column.is_null());
        if ending {
            update = update.col_expr(consent_request::Column::Status, Expr::value(ConsentStatus::Expired)).col_expr(
                consent_request::Column::WarnedAt,
                Expr::col(consent_request::Column::WarnedAt).if_null(Expr::value(now)),
            );
        }
        if update.exec(&*txn).await?.rows_affected != 1 {
            return Ok(false);
        }
        let workflow =
            workflow::Entity::find_by_id(grant.workflow_id).one(&*txn).await?.map(|w| w.name).unwrap_or_default();
        let (kind, title) = if ending {
            (NotificationKind::ConsentExpired, format!("A consent in {workflow} has ended"))
        } else {
            (NotificationKind::ConsentExpiring, format!("A consent in {workflow} ends soon"))
        };
        let links = Links { client_id: Some(grant.client_id), consent_request_id: Some(grant.id), ..Links::default() };
        let recipients = std::iter::once(grant.client_id).chain(grant.professional_id);
        notifications::notify(&txn, recipients, kind, &title, links, now);
        txn.commit().await?;
        Ok(true)
    }
}

/// ACTIVE delegations with an end date.
fn open_delegations() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(delegation::Column::Status.eq(DelegationStatus::Active))
        .add(delegation::Column::EndsAt.is_not_null())
}

/// Granted consents with an end that the scheduler has not ended yet.
fn open_consents() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(consent_request::Column::Status.eq(ConsentStatus::Granted))
        .add(consent_request::Column::EndedAt.is_null())
        .add(consent_request::Column::GrantedUntil.is_not_null())
}
