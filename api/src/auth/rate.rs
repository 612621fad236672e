//! Limits per caller: mutating requests per token subject and failed
//! authentications per client address (governor keeps the buckets, GCRA;
//! this module names the keys and turns a refusal into `AppError`), and
//! subscriptions open at once per token subject.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Buckets are forgotten once full again, past this many keys, so the maps stay small.
const KEYS_BEFORE_CLEANUP: usize = 10_000;

/// The server's limits; `None` where a limit is switched off (0 per minute).
pub struct RateLimits {
    mutations: Option<DefaultKeyedRateLimiter<String>>,
    auth_failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn per_minute<K: Hash + Eq + Clone>(count: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(count).map(|count| RateLimiter::keyed(Quota::per_minute(count)))
}

/// Takes one from the key's bucket; the refusal says how long to wait.
fn take<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    what: &str,
) -> Result<(), AppError> {
    if limiter.len() > KEYS_BEFORE_CLEANUP {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        // Whole seconds, rounded up, never 0: the Retry-After a client can use.
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        AppError::RateLimited {
            message: format!("too many {what}; retry in {} s", retry_after.max(1)),
            retry_after: retry_after.max(1),
        }
    })
}

impl RateLimits {
    /// `mutations` per minute per subject, `auth_failures` per minute per
    /// client address; 0 switches a limit off.
    pub fn new(mutations: u32, auth_failures: u32) -> Self {
        Self {
            mutations: per_minute(mutations),
            auth_failures: per_minute(auth_failures),
        }
    }

    /// Counts one mutating request of `subject`; refused past the limit.
    pub fn mutation(&self, subject: &str) -> Result<(), AppError> {
        match &self.mutations {
            Some(limiter) => take(
                limiter,
                &subject.to_owned(),
                "mutations from this token subject",
            ),
            None => Ok(()),
        }
    }

    /// Counts one failed authentication from `address`; past the limit the
    /// caller is told to wait instead of being told why it failed.
    pub fn auth_failure(&self, address: Option<IpAddr>) -> Result<(), AppError> {
        match (&self.auth_failures, address) {
            (Some(limiter), Some(address)) => take(
                limiter,
                &address,
                "failed authentications from this address",
            ),
            _ => Ok(()),
        }
    }
}

/// Subscriptions open at once, per token subject.
pub struct SubscriptionSlots {
    limit: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open subscription; its slot is given back when it is dropped.
pub struct SubscriptionSlot {
    subject: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

fn lock(open: &Mutex<HashMap<String, usize>>) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    match open.lock() {
        Ok(open) => open,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl SubscriptionSlots {
    /// At most `limit` subscriptions per subject; 0 means no limit.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// A slot for one more subscription of `subject`, or the refusal.
    pub fn open(&self, subject: &str) -> Result<SubscriptionSlot, AppError> {
        let mut open = lock(&self.open);
        let count = open.entry(subject.to_owned()).or_insert(0);
        if self.limit > 0 && *count >= self.limit {
            return Err(AppError::LimitExceeded(format!(
                "this token subject already has {} subscriptions open, the limit; close one first",
                self.limit
            )));
        }
        *count += 1;
        Ok(SubscriptionSlot {
            subject: subject.to_owned(),
            open: self.open.clone(),
        })
    }

    /// How many subscriptions `subject` has open.
    pub fn open_for(&self, subject: &str) -> usize {
        lock(&self.open).get(subject).copied().unwrap_or(0)
    }
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.subject) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.subject);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn a_subject_past_its_limit_is_told_when_to_retry_and_others_are_not_affected() {
        let limits = RateLimits::new(2, 0);
        assert!(limits.mutation("alice").is_ok());
        assert!(limits.mutation("alice").is_ok());
        let refused = limits.mutation("alice").expect_err("third in a minute");
        assert_eq!(refused.code(), ErrorCode::RateLimited);
        match refused {
            AppError::RateLimited { retry_after, .. } => assert!((1..=60).contains(&retry_after)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(limits.mutation("bob").is_ok());
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limits = RateLimits::new(0, 0);
        for _ in 0..1_000 {
            assert!(limits.mutation("alice").is_ok());
            assert!(
                limits
                    .auth_failure(Some(IpAddr::from([127, 0, 0, 1])))
                    .is_ok()
            );
        }
    }

    #[test]
    fn subscription_slots_are_counted_per_subject_and_given_back_on_drop() {
        let slots = SubscriptionSlots::new(2);
        let first = slots.open("alice").expect("first");
        let _second = slots.open("alice").expect("second");
        let refused = slots.open("alice").err().expect("third refused");
        assert_eq!(refused.code(), ErrorCode::LimitExceeded);
        assert!(slots.open("bob").is_ok(), "another subject");
        drop(first);
        assert_eq!(slots.open_for("alice"), 1);
        assert!(
            slots.open("alice").is_ok(),
            "a slot given back is free again"
        );
    }
}
