//! Per-person limits on mutations a person could abuse (breaking the glass, messaging,
//! answering consent requests), so that one account cannot flood the others.
//!
//! Limits are kept in memory by each instance (GCRA, via `governor`): behind a load balancer
//! with N instances a person gets at most N times the configured rate.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::config::{RateLimit, Settings};
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

/// The limiters of one instance.
pub struct RateLimits {
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

fn limiter<K: std::hash::Hash + Eq + Clone>(limit: RateLimit) -> Option<DefaultKeyedRateLimiter<K>> {
    let (count, period) = limit.0?;
    let count = NonZeroU32::new(count)?;
    // `count` uses at once, after which one comes back every `period / count`.
    let quota = Quota::with_period(period / count.get())?.allow_burst(count);
    Some(RateLimiter::keyed(quota))
}

impl RateLimits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            break_glass: limiter(settings.rate_break_glass),
            send_message: limiter(settings.rate_send_message),
            consent_response: limiter(settings.rate_consent_response),
            registration_organization: limiter(settings.rate_registration_organization),
            registration_address: limiter(settings.rate_registration_address),
        }
    }

    /// Counts one use of `action` by `user`; `RATE_LIMITED` (with the wait) when it is one too
    /// many. Checked before the mutation's transaction begins, so a refused call writes nothing.
    pub fn check(&self, action: Limited, user: Uuid) -> ApiResult<()> {
        let limiter = match action {
            Limited::BreakGlass => &self.break_glass,
            Limited::SendMessage => &self.send_message,
            Limited::RespondToConsentRequest => &self.consent_response,
            Limited::RegistrationForOrganization => &self.registration_organization,
        };
        check(limiter.as_ref(), &user)
    }

    /// Counts one registration from `address`; `RATE_LIMITED` when it is one too many.
    pub fn check_address(&self, address: IpAddr) -> ApiResult<()> {
        check(self.registration_address.as_ref(), &address)
    }

    /// Forgets people whose limits have fully recovered, so memory does not grow with every
    /// person who ever called.
    pub fn forget_idle(&self) {
        let by_person =
            [&self.break_glass, &self.send_message, &self.consent_response, &self.registration_organization];
        for limiter in by_person.into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.registration_address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Counts one use by `key`; `RATE_LIMITED` (with the wait) when it is one too many.
fn check<K: std::hash::Hash + Eq + Clone>(limiter: Option<&DefaultKeyedRateLimiter<K>>, key: &K) -> ApiResult<()> {
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

    #[test]
    fn a_person_gets_the_configured_burst_then_is_refused_others_are_not_affected() {
        let mut settings = Settings::with_database("sqlite::memory:");
        settings.rate_send_message = "3/1h".parse().unwrap();
        settings.rate_break_glass = "off".parse().unwrap();
        let limits = RateLimits::new(&settings);
        let (anna, bert) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            limits.check(Limited::SendMessage, anna).unwrap();
        }
        match limits.check(Limited::SendMessage, anna) {
            Err(ApiError::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(60 * 19), "waits for one use to come back: {retry_after:?}")
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        limits.check(Limited::SendMessage, bert).unwrap();
        for _ in 0..100 {
            limits.check(Limited::BreakGlass, anna).unwrap();
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
