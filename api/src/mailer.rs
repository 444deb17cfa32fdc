//! The e-mail channel: messages are written to the `email_outbox` table in the transaction of
//! the operation that caused them, and sent afterwards, so a slow or failing mail server never
//! blocks or rolls back that operation. A failed send is retried with exponential backoff.
//! Without `INZAGE_SMTP_URL`, messages are written to the log and kept as `LOGGED`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inzage_entity::{EmailStatus, email_outbox};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::{Database, WriteTransaction};
use crate::events::Event;

/// Attempts before a message is given up (`FAILED`).
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed message is reserved for the instance sending it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// The longest the mailer sleeps without looking.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Queues an e-mail inside the caller's transaction; it is sent after the commit.
pub async fn queue(
    txn: &WriteTransaction,
    recipient_id: Option<Uuid>,
    to_address: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    email_outbox::Entity::insert(email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        recipient_id: Set(recipient_id),
        to_address: Set(to_address.to_owned()),
        subject: Set(crate::domain::values::shorten(subject, 300)),
        body: Set(body.to_owned()),
        status: Set(EmailStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    })
    .exec_without_returning(&**txn)
    .await?;
    txn.announce(Event::EmailQueued);
    Ok(())
}

/// The wait before attempt `attempts + 1`: 5 s, 10 s, 20 s, ... at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let seconds = 5_i64.saturating_mul(1_i64 << attempts.clamp(0, 20));
    chrono::Duration::seconds(seconds.min(3600))
}

/// Sends what the outbox holds.
pub struct Mailer {
    db: Database,
    clock: SharedClock,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `smtp_url` (`smtp://host:port`, `smtps://...`; see lettre's URL format), or
    /// one that writes to the log when there is none.
    pub fn new(db: Database, clock: SharedClock, smtp_url: Option<&str>, from: &str) -> anyhow::Result<Self> {
        let transport = smtp_url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|builder| builder.timeout(Some(Duration::from_secs(10))).build())
                    .map_err(|err| anyhow::anyhow!("INZAGE_SMTP_URL is not a valid SMTP URL: {err}"))
            })
            .transpose()?;
        let from = from.parse().map_err(|err| anyhow::anyhow!("INZAGE_MAIL_FROM is not a valid address: {err}"))?;
        Ok(Self { db, clock, transport, from })
    }

    /// Runs until the process ends.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(err) = self.run_due().await {
                    tracing::warn!(error = %err, "the mailer failed; retrying");
                }
                let sleep = match self.next_due().await {
                    Ok(Some(due)) => (due - self.clock.now()).to_std().unwrap_or_default().min(MAX_SLEEP),
                    Ok(None) => MAX_SLEEP,
                    Err(_) => Duration::from_secs(1),
                };
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = self.db.hub().mail_queued() => {}
                }
            }
        })
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, DbErr> {
        email_outbox::Entity::find()
            .filter(email_outbox::Column::Status.eq(EmailStatus::Pending))
            .select_only()
            .column(email_outbox::Column::NextAttemptAt)
            .order_by_asc(email_outbox::Column::NextAttemptAt)
            .into_tuple::<DateTime<Utc>>()
            .one(self.db.conn())
            .await
    }

    /// Sends every message due now; returns how many this instance handled.
    pub async fn run_due(&self) -> Result<usize, DbErr> {
        let now = self.clock.now();
        let due = email_outbox::Entity::find()
            .filter(email_outbox::Column::Status.eq(EmailStatus::Pending))
            .filter(email_outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(email_outbox::Column::NextAttemptAt)
            .limit(100)
            .all(self.db.conn())
            .await?;
        let mut handled = 0;
        for message in due {
            if self.claim(&message, now).await? {
                self.deliver(message, now).await?;
                handled += 1;
            }
        }
        Ok(handled)
    }

    /// Reserves a message for this instance; false when another got it first.
    async fn claim(&self, message: &email_outbox::Model, now: DateTime<Utc>) -> Result<bool, DbErr> {
        let result = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(now + LEASE))
            .filter(email_outbox::Column::Id.eq(message.id))
            .filter(email_outbox::Column::Status.eq(EmailStatus::Pending))
            .filter(email_outbox::Column::NextAttemptAt.eq(message.next_attempt_at))
            .exec(self.db.conn())
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn deliver(&self, message: email_outbox::Model, now: DateTime<Utc>) -> Result<(), DbErr> {
        let outcome = match &self.transport {
            None => {
                tracing::info!(to = %message.to_address, subject = %message.subject, "e-mail (no SMTP server configured)");
                tracing::debug!(body = %message.body, "e-mail body");
                Ok(EmailStatus::Logged)
            }
            Some(transport) => match self.build(&message) {
                Ok(email) => transport.send(email).await.map(|_| EmailStatus::Sent).map_err(|err| err.to_string()),
                Err(err) => Err(err),
            },
        };
        let mut update = email_outbox::ActiveModel { id: Set(message.id), ..Default::default() };
        match outcome {
            Ok(status) => {
                update.status = Set(status);
                update.sent_at = Set(Some(now));
                update.attempts = Set(message.attempts + 1);
                update.last_error = Set(None);
            }
            Err(error) => {
                let attempts = message.attempts + 1;
                tracing::warn!(to = %message.to_address, attempts, %error, "sending an e-mail failed");
                update.attempts = Set(attempts);
                update.last_error = Set(Some(error));
                if attempts >= MAX_ATTEMPTS {
                    update.status = Set(EmailStatus::Failed);
                } else {
                    update.next_attempt_at = Set(now + backoff(attempts));
                }
            }
        }
        email_outbox::Entity::update(update).exec(self.db.conn()).await?;
        Ok(())
    }

    fn build(&self, message: &email_outbox::Model) -> Result<Message, String> {
        let to: Mailbox = message.to_address.parse().map_err(|err| format!("bad recipient: {err}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .body(message.body.clone())
            .map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), chrono::Duration::seconds(5));
        assert_eq!(backoff(1), chrono::Duration::seconds(10));
        assert_eq!(backoff(3), chrono::Duration::seconds(40));
        assert_eq!(backoff(30), chrono::Duration::hours(1));
    }
}
