//! Limits in front of a small database pool (day 10: the api as an attacker sees it).
//!
//! | limit | answers | why |
//! |---|---|---|
//! | requests in flight, all callers | `429 too_many_requests`, `Retry-After` | a flood waits outside instead of queueing on 4 to 10 database connections |
//! | key lookups per client address, for keys not cached | `429` | a stream of made-up keys costs the database a lookup each |
//! | requests per second per key (customers, operators; services are not limited) | `429` | one key cannot starve the others |
//! | long polls at once per key | `429` | each holds a request open for up to 20 s and reads a row every second |
//!
//! A key that checked out is cached for [`KEY_CACHE_TTL`]: a valid caller costs no lookup, and
//! a revoked key stops working within that time. Rate limits are `governor`'s GCRA, keyed by
//! the key's hash (never the key) or the client's address.

use super::api_keys::{Caller, Role};
use crate::http::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a key that checked out is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// Keys remembered at most (a flood of valid keys cannot grow memory without bound).
const KEY_CACHE_CAPACITY: usize = 10_000;

/// The numbers, from the api's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub max_in_flight: usize,
    pub customer_requests_per_sec: u32,
    pub operator_requests_per_sec: u32,
    pub key_lookups_per_sec_per_address: u32,
    pub long_polls_per_key: usize,
    /// How long `POST /orders` waits for the checkout (the reservation's outcome) before it
    /// answers `202` instead of `201`.
    pub checkout_wait: std::time::Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            customer_requests_per_sec: 20,
            operator_requests_per_sec: 500,
            key_lookups_per_sec_per_address: 20,
            long_polls_per_key: 64,
            checkout_wait: std::time::Duration::from_secs(10),
        }
    }
}

pub struct Limits {
    settings: LimitSettings,
    in_flight: Arc<Semaphore>,
    customers: DefaultKeyedRateLimiter<String>,
    operators: DefaultKeyedRateLimiter<String>,
    lookups: DefaultKeyedRateLimiter<IpAddr>,
    long_polls: Arc<Mutex<HashMap<String, usize>>>,
    keys: Mutex<HashMap<String, (Instant, Caller)>>,
}

/// A burst of twice the rate: a page load's few requests at once are fine.
fn quota(per_sec: u32) -> Quota {
    let rate = NonZeroU32::new(per_sec).expect("rates are at least 1: ApiLimitArgs checks them when it parses");
    Quota::per_second(rate).allow_burst(rate.saturating_mul(NonZeroU32::new(2).expect("2")))
}

pub fn too_many(detail: impl Into<String>) -> ApiError {
    ApiError::too_many_requests(detail, 1)
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings,
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            customers: RateLimiter::keyed(quota(settings.customer_requests_per_sec)),
            operators: RateLimiter::keyed(quota(settings.operator_requests_per_sec)),
            lookups: RateLimiter::keyed(quota(settings.key_lookups_per_sec_per_address)),
            long_polls: Arc::default(),
            keys: Mutex::default(),
        }
    }

    /// A place among the requests in flight, held until the answer is sent.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            too_many(format!(
                "the api is at its limit of {} requests in flight; retry shortly",
                self.settings.max_in_flight
            ))
        })
    }

    /// The caller of a key hash seen recently.
    pub fn cached(&self, key_hash: &str) -> Option<Caller> {
        let keys = self.keys.lock().expect("not poisoned");
        keys.get(key_hash).filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL).map(|(_, caller)| caller.clone())
    }

    pub fn remember(&self, caller: &Caller) {
        let mut keys = self.keys.lock().expect("not poisoned");
        if keys.len() >= KEY_CACHE_CAPACITY {
            keys.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
            if keys.len() >= KEY_CACHE_CAPACITY {
                keys.clear();
            }
        }
        keys.insert(caller.key_hash.clone(), (Instant::now(), caller.clone()));
    }

    /// Before a database lookup of a key that is not cached: at most so many per address.
    pub fn allow_lookup(&self, address: IpAddr) -> Result<(), ApiError> {
        self.lookups.check_key(&address).map_err(|_| {
            too_many(format!(
                "more than {} unknown API keys per second from this address",
                self.settings.key_lookups_per_sec_per_address
            ))
        })
    }

    /// One request of `caller` against its key's rate.
    pub fn allow_request(&self, caller: &Caller) -> Result<(), ApiError> {
        let (limiter, per_sec) = match caller.role {
            Role::Service => return Ok(()),
            Role::Customer => (&self.customers, self.settings.customer_requests_per_sec),
            Role::Operator => (&self.operators, self.settings.operator_requests_per_sec),
        };
        limiter
            .check_key(&caller.key_hash)
            .map_err(|_| too_many(format!("more than {per_sec} requests per second with this key")))
    }

    /// A long poll of `caller`, counted until the guard is dropped.
    pub fn start_long_poll(&self, caller: &Caller) -> Result<LongPoll, ApiError> {
        let mut polls = self.long_polls.lock().expect("not poisoned");
        let count = polls.entry(caller.key_hash.clone()).or_default();
        if *count >= self.settings.long_polls_per_key {
            return Err(too_many(format!(
                "this key already has {} long polls open; wait for one to answer",
                self.settings.long_polls_per_key
            )));
        }
        *count += 1;
        Ok(LongPoll { polls: self.long_polls.clone(), key_hash: caller.key_hash.clone() })
    }

    /// Forgets rate-limit state of keys and addresses idle for a while (call now and then).
    pub fn forget_idle(&self) {
        self.customers.retain_recent();
        self.operators.retain_recent();
        self.lookups.retain_recent();
    }
}

/// An open long poll; dropping it frees its place.
pub struct LongPoll {
    polls: Arc<Mutex<HashMap<String, usize>>>,
    key_hash: String,
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        let mut polls = self.polls.lock().expect("not poisoned");
        if let Some(count) = polls.get_mut(&self.key_hash) {
            *count -= 1;
            if *count == 0 {
                polls.remove(&self.key_hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, key_hash: &str) -> Caller {
        Caller { role, customer_id: None, operator: None, label: "t".into(), key_hash: key_hash.into() }
    }

    fn limits() -> Limits {
        Limits::new(LimitSettings {
            max_in_flight: 2,
            customer_requests_per_sec: 1,
            operator_requests_per_sec: 100,
            key_lookups_per_sec_per_address: 1,
            long_polls_per_key: 1,
            ..LimitSettings::default()
        })
    }

    #[test]
    fn each_limit_says_429_once_reached_and_frees_its_place() {
        let limits = limits();
        let (first, _second) = (limits.admit().unwrap(), limits.admit().unwrap());
        assert_eq!(limits.admit().unwrap_err().status.as_u16(), 429);
        drop(first);
        assert!(limits.admit().is_ok());

        let customer = caller(Role::Customer, "c");
        // A burst of two, then the rate.
        assert!(limits.allow_request(&customer).is_ok() && limits.allow_request(&customer).is_ok());
        let refused = limits.allow_request(&customer).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.retry_after_secs), (429, Some(1)));
        // Another key has its own budget; services have none.
        assert!(limits.allow_request(&caller(Role::Customer, "other")).is_ok());
        assert!((0..1000).all(|_| limits.allow_request(&caller(Role::Service, "s")).is_ok()));

        let poll = limits.start_long_poll(&customer).unwrap();
        assert!(limits.start_long_poll(&customer).is_err());
        drop(poll);
        assert!(limits.start_long_poll(&customer).is_ok());

        let address: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(limits.allow_lookup(address).is_ok() && limits.allow_lookup(address).is_ok());
        assert!(limits.allow_lookup(address).is_err());
    }

    #[test]
    fn a_cached_key_is_forgotten_after_its_time() {
        let limits = limits();
        let operator = caller(Role::Operator, "o");
        limits.remember(&operator);
        assert_eq!(limits.cached("o"), Some(operator));
        assert_eq!(limits.cached("unknown"), None);
    }
}
