//! Per-person limits on mutations a person could abuse (breaking the glass, messaging,
//! answering consent requests), so that one account cannot flood the others.
//!
//! Every limit is a GCRA (generic cell rate algorithm): `COUNT/PERIOD` allows `COUNT` uses at
//! once, after which one comes back every `PERIOD / COUNT`. All a limit keeps per person is one
//! instant, the "theoretical arrival time" (TAT): a use is allowed when, pushed one interval
//! later, the TAT is no more than `PERIOD` ahead of now.
//!
//! On PostgreSQL the instants live in the `rate_limit` table, so a person's limit holds across
//! every instance on the database: each use is one conditional upsert that counts it only when
//! it is allowed. On SQLite, which serves one instance, they are kept in memory (`governor`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::config::{RateLimit, Settings};
use crate::db::Database;
use crate::error::{ApiError, ApiResult};

/// The mutations that are rate limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    BreakGlass,
    SendMessage,
    RespondToConsentRequest,
    /// A registration, counted for the organisation it is for.
    RegistrationForOrganization,
}

impl Limited {
    /// The name a limit is stored under.
    fn key(self) -> &'static str {
        match self {
            Self::BreakGlass => "break_glass",
            Self::SendMessage => "send_message",
            Self::RespondToConsentRequest => "consent_response",
            Self::RegistrationForOrganization => "registration_organization",
        }
    }
}

/// The stored name of the per-address registration limit.
const REGISTRATION_ADDRESS: &str = "registration_address";

/// The limits of one instance: the configured quotas, and where the uses are counted.
pub struct RateLimits {
    quotas: Quotas,
    store: Store,
}

/// Each limit's `(count, period)`, `None` when off.
#[derive(Clone, Copy)]
struct Quotas {
    break_glass: Option<(u32, Duration)>,
    send_message: Option<(u32, Duration)>,
    consent_response: Option<(u32, Duration)>,
    registration_organization: Option<(u32, Duration)>,
    registration_address: Option<(u32, Duration)>,
}

impl Quotas {
    fn of(&self, action: Limited) -> Option<(u32, Duration)> {
        match action {
            Limited::BreakGlass => self.break_glass,
            Limited::SendMessage => self.send_message,
            Limited::RespondToConsentRequest => self.consent_response,
            Limited::RegistrationForOrganization => self.registration_organization,
        }
    }
}

enum Store {
    /// This instance only (SQLite).
    Memory(Box<MemoryLimits>),
    /// Every instance on the database (PostgreSQL).
    Shared { db: Database, clock: SharedClock },
}

struct MemoryLimits {
    break_glass: Option<DefaultKeyedRateLimiter<Uuid>>,
    send_message: Option<DefaultKeyedRateLimiter<Uuid>>,
    consent_response: Option<DefaultKeyedRateLimiter<Uuid>>,
    registration_organization: Option<DefaultKeyedRateLimiter<Uuid>>,
    /// Registrations per client address (no account: the address is all there is).
    registration_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn quota(limit: RateLimit) -> Option<(u32, Duration)> {
    limit.0.filter(|(count, period)| *count > 0 && !period.is_zero())
}

fn limiter<K: std::hash::Hash + Eq + Clone>(limit: Option<(u32, Duration)>) -> Option<DefaultKeyedRateLimiter<K>> {
    let (count, period) = limit?;
    let count = NonZeroU32::new(count)?;
    // `count` uses at once, after which one comes back every `period / count`.
    let quota = Quota::with_period(period / count.get())?.allow_burst(count);
    Some(RateLimiter::keyed(quota))
}

impl RateLimits {
    /// The limits of `settings`, counted in `db` when it is PostgreSQL, in memory otherwise.
    pub fn new(settings: &Settings, db: &Database, clock: SharedClock) -> Self {
        let quotas = Quotas {
            break_glass: quota(settings.rate_break_glass),
            send_message: quota(settings.rate_send_message),
            consent_response: quota(settings.rate_consent_response),
            registration_organization: quota(settings.rate_registration_organization),
            registration_address: quota(settings.rate_registration_address),
        };
        let store = if db.backend() == DbBackend::Postgres {
            Store::Shared { db: db.clone(), clock }
        } else {
            Store::Memory(Box::new(MemoryLimits {
                break_glass: limiter(quotas.break_glass),
                send_message: limiter(quotas.send_message),
                consent_response: limiter(quotas.consent_response),
                registration_organization: limiter(quotas.registration_organization),
                registration_address: limiter(quotas.registration_address),
            }))
        };
        Self { quotas, store }
    }

    /// Counts one use of `action` by `user`; `RATE_LIMITED` (with the wait) when it is one too
    /// many. Checked before the mutation's transaction begins, so a refused call writes nothing.
    pub async fn check(&self, action: Limited, user: Uuid) -> ApiResult<()> {
        match &self.store {
            Store::Memory(limits) => {
                let limiter = match action {
                    Limited::BreakGlass => &limits.break_glass,
                    Limited::SendMessage => &limits.send_message,
                    Limited::RespondToConsentRequest => &limits.consent_response,
                    Limited::RegistrationForOrganization => &limits.registration_organization,
                };
                check_memory(limiter.as_ref(), &user)
            }
            Store::Shared { db, clock } => {
                let Some(quota) = self.quotas.of(action) else { return Ok(()) };
                check_shared(db, clock, action.key(), &user.to_string(), quota).await
            }
        }
    }

    /// Counts one registration from `address`; `RATE_LIMITED` when it is one too many.
    pub async fn check_address(&self, address: IpAddr) -> ApiResult<()> {
        match &self.store {
            Store::Memory(limits) => check_memory(limits.registration_address.as_ref(), &address),
            Store::Shared { db, clock } => {
                let Some(quota) = self.quotas.registration_address else { return Ok(()) };
                check_shared(db, clock, REGISTRATION_ADDRESS, &address.to_string(), quota).await
            }
        }
    }

    /// Forgets people whose limits have fully recovered, so that what is kept does not grow
    /// with every person who ever called.
    pub async fn forget_idle(&self) {
        match &self.store {
            Store::Memory(limits) => {
                let by_person = [
                    &limits.break_glass,
                    &limits.send_message,
                    &limits.consent_response,
                    &limits.registration_organization,
                ];
                for limiter in by_person.into_iter().flatten() {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
                if let Some(limiter) = &limits.registration_address {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
            Store::Shared { db, clock } => {
                let forget = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "DELETE FROM rate_limit WHERE tat_us <= $1",
                    [micros(clock.now()).into()],
                );
                if let Err(err) = db.conn().execute_raw(forget).await {
                    tracing::warn!(error = %err, "forgetting recovered rate limits failed");
                }
            }
        }
    }
}

/// Microseconds since the epoch.
fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

/// Counts one use of the limit `name` by `subject` in the database, if allowed; the wait when
/// not. One statement: the row's TAT moves on only when the use is allowed, so concurrent uses
/// on any instance are counted one after the other by the row lock.
async fn check_shared(
    db: &Database,
    clock: &SharedClock,
    name: &str,
    subject: &str,
    (count, period): (u32, Duration),
) -> ApiResult<()> {
    let now = micros(clock.now());
    let interval = i64::try_from(period.as_micros() / u128::from(count.max(1))).unwrap_or(i64::MAX).max(1);
    let window = interval.saturating_mul(i64::from(count));
    let counted = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO rate_limit (name, subject, tat_us) VALUES ($1, $2, $3 + $4) \
         ON CONFLICT (name, subject) DO UPDATE SET tat_us = GREATEST(rate_limit.tat_us, $3) + $4 \
         WHERE GREATEST(rate_limit.tat_us, $3) + $4 - $3 <= $5 \
         RETURNING tat_us",
        [name.into(), subject.into(), now.into(), interval.into(), window.into()],
    );
    let refused = |err: DbErr| ApiError::from(err);
    if db.conn().query_one_raw(counted).await.map_err(refused)?.is_some() {
        return Ok(());
    }
    // Refused: the use comes back when the TAT, pushed one interval on, fits the window again.
    let tat = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT tat_us FROM rate_limit WHERE name = $1 AND subject = $2",
        [name.into(), subject.into()],
    );
    let tat: i64 = match db.conn().query_one_raw(tat).await.map_err(refused)? {
        Some(row) => row.try_get("", "tat_us").map_err(refused)?,
        None => now,
    };
    let wait = Duration::from_micros(u64::try_from(tat + interval - window - now).unwrap_or(0));
    Err(ApiError::RateLimited { retry_after: wait.max(Duration::from_secs(1)) })
}

/// Counts one use by `key`; `RATE_LIMITED` (with the wait) when it is one too many.
fn check_memory<K: std::hash::Hash + Eq + Clone>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> ApiResult<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited { retry_after: wait.max(Duration::from_secs(1)) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_person_gets_the_configured_burst_then_is_refused_others_are_not_affected() {
        let mut settings = Settings::with_database("sqlite::memory:");
        settings.rate_send_message = "3/1h".parse().unwrap();
        settings.rate_break_glass = "off".parse().unwrap();
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let limits = RateLimits::new(&settings, &db, std::sync::Arc::new(crate::clock::SystemClock));
        let (anna, bert) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            limits.check(Limited::SendMessage, anna).await.unwrap();
        }
        match limits.check(Limited::SendMessage, anna).await {
            Err(ApiError::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(60 * 19), "waits for one use to come back: {retry_after:?}")
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        limits.check(Limited::SendMessage, bert).await.unwrap();
        for _ in 0..100 {
            limits.check(Limited::BreakGlass, anna).await.unwrap();
        }
    }

    #[test]
    fn limits_parse_from_count_and_period() {
        assert_eq!("5/1h".parse::<RateLimit>().unwrap(), RateLimit(Some((5, Duration::from_secs(3600)))));
        assert_eq!("OFF".parse::<RateLimit>().unwrap(), RateLimit(None));
        assert!("0/1h".parse::<RateLimit>().is_err());
        assert!("5".parse::<RateLimit>().is_err());
        assert!("5/soon".parse::<RateLimit>().is_err());
    }
}
