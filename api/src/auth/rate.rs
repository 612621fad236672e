//! Limits per caller: mutating requests per token subject and failed
//! authentications per client address (governor keeps the buckets, GCRA;
//! this module names the keys and turns a refusal into `AppError`),
//! subscriptions open at once per token subject and WebSockets open at once
//! per client address.

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
            )
            .inspect_err(|_| crate::metrics::count::rate_limited("mutations")),
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
            )
            .inspect_err(|_| crate::metrics::count::rate_limited("auth_failures")),
            _ => Ok(()),
        }
    }
}

/// Places held at once per key (a token subject, a client address). Each
/// `Held` gives its place back when dropped, however its holder ends.
struct Places<K> {
    limit: usize,
    open: Arc<Mutex<HashMap<K, usize>>>,
}

/// One place taken; given back when dropped.
pub struct Held<K: Hash + Eq> {
    key: K,
    open: Arc<Mutex<HashMap<K, usize>>>,
}

fn lock<K>(open: &Mutex<HashMap<K, usize>>) -> std::sync::MutexGuard<'_, HashMap<K, usize>> {
    match open.lock() {
        Ok(open) => open,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl<K: Hash + Eq + Clone> Places<K> {
    /// At most `limit` per key; 0 means no limit.
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// One more place for `key`; `None` when its places are all taken.
    fn take(&self, key: &K) -> Option<Held<K>> {
        let mut open = lock(&self.open);
        let count = open.entry(key.clone()).or_insert(0);
        if self.limit > 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Held {
            key: key.clone(),
            open: self.open.clone(),
        })
    }

    fn held_by(&self, key: &K) -> usize {
        lock(&self.open).get(key).copied().unwrap_or(0)
    }

    fn held_in_all(&self) -> usize {
        lock(&self.open).values().sum()
    }
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Subscriptions open at once, per token subject.
pub struct SubscriptionSlots(Places<String>);

/// One open subscription; its slot is given back when it is dropped.
pub type SubscriptionSlot = Held<String>;

impl SubscriptionSlots {
    /// At most `limit` subscriptions per subject; 0 means no limit.
    pub fn new(limit: usize) -> Self {
        Self(Places::new(limit))
    }

    /// A slot for one more subscription of `subject`, or the refusal.
    pub fn open(&self, subject: &str) -> Result<SubscriptionSlot, AppError> {
        self.0.take(&subject.to_owned()).ok_or_else(|| {
            crate::metrics::count::rate_limited("subscriptions");
            AppError::LimitExceeded(format!(
                "this token subject already has {} subscriptions open, the limit; close one first",
                self.0.limit
            ))
        })
    }

    /// How many subscriptions are open, over every subject.
    pub fn total_open(&self) -> usize {
        self.0.held_in_all()
    }

    /// How many subscriptions `subject` has open.
    pub fn open_for(&self, subject: &str) -> usize {
        self.0.held_by(&subject.to_owned())
    }
}

/// WebSockets open at once, per client address: counted from the upgrade,
/// before any authentication, so that anonymous sockets cannot pile up.
pub struct WebSocketSlots {
    places: Places<IpAddr>,
    /// The wait a refused client is told (`Retry-After`): by then, a socket
    /// that never authenticated has been closed.
    retry_after: u64,
}

/// One open WebSocket; its slot is given back when it is dropped.
pub type WebSocketSlot = Held<IpAddr>;

impl WebSocketSlots {
    /// At most `limit` sockets per address (0 means no limit); a refused
    /// client is told to retry after `retry_after` (whole seconds, at least 1).
    pub fn new(limit: usize, retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            places: Places::new(limit),
            retry_after: seconds.max(1),
        }
    }

    /// A slot for one more socket from `address` (none needed when the
    /// address is unknown), or the refusal: 429 with Retry-After.
    pub fn open(&self, address: Option<IpAddr>) -> Result<Option<WebSocketSlot>, AppError> {
        let Some(address) = address else {
            return Ok(None);
        };
        match self.places.take(&address) {
            Some(slot) => Ok(Some(slot)),
            None => {
                crate::metrics::count::rate_limited("websockets");
                Err(AppError::RateLimited {
                    message: format!(
                        "this address already has {} WebSockets open, the limit; close one first",
                        self.places.limit
                    ),
                    retry_after: self.retry_after,
                })
            }
        }
    }

    /// How many WebSockets are open, over every address.
    pub fn total_open(&self) -> usize {
        self.places.held_in_all()
    }

    /// How many WebSockets `address` has open.
    pub fn open_for(&self, address: IpAddr) -> usize {
        self.places.held_by(&address)
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

    #[test]
    fn websocket_slots_are_counted_per_address_and_refused_with_a_wait() {
        let slots = WebSocketSlots::new(1, std::time::Duration::from_millis(1_500));
        let here = IpAddr::from([192, 0, 2, 1]);
        let first = slots.open(Some(here)).expect("first");
        match slots.open(Some(here)).err().expect("second refused") {
            AppError::RateLimited { retry_after, .. } => assert_eq!(retry_after, 2),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            slots.open(Some(IpAddr::from([192, 0, 2, 2]))).is_ok(),
            "another address"
        );
        assert!(slots.open(None).expect("no address, no limit").is_none());
        drop(first);
        assert_eq!(slots.open_for(here), 0);
        assert!(
            slots.open(Some(here)).is_ok(),
            "a slot given back is free again"
        );
    }

    #[test]
    fn zero_websockets_per_address_means_no_limit() {
        let slots = WebSocketSlots::new(0, std::time::Duration::from_secs(10));
        let here = IpAddr::from([192, 0, 2, 1]);
        let held: Vec<_> = (0..1_000)
            .map(|_| slots.open(Some(here)).expect("open"))
            .collect();
        assert_eq!(slots.open_for(here), held.len());
    }
}
