//! Retry policies, one per kind of call. Timeouts are set next to each call, where the reader
//! can see what the call does; these policies say how hard to keep trying.

use crate::contracts::failures::{ACTIVITY_NOT_REGISTERED, NON_RETRYABLE};
use std::time::Duration;
use temporalio_common::RetryPolicy;

/// A forward step of the saga against one of our services (reserve, charge, ship).
///
/// Outages of a few seconds are ridden out: 0.5 s, 1 s, 2 s, ... capped at 10 s between
/// attempts, 8 attempts in all (about 30 s of trying). After that the saga gives up and
/// compensates rather than leaving the customer waiting indefinitely. Business refusals
/// (declined card, no stock, bad input) are never retried.
pub fn service_call() -> RetryPolicy {
    service_call_except(NON_RETRYABLE)
}

fn service_call_except(non_retryable: impl IntoIterator<Item = &'static str>) -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_millis(500))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(10))
        .maximum_attempts(8)
        .non_retryable_error_types(non_retryable)
        .build()
}

/// Like `service_call`, for an activity called by a name built from data (the payment
/// provider's charge): a name no worker registered is a wrong name, not a worker still to
/// come, so the SDK's `NotFoundError` ends it at once instead of eight attempts later.
pub fn call_by_name() -> RetryPolicy {
    service_call_except(NON_RETRYABLE.into_iter().chain([ACTIVITY_NOT_REGISTERED]))
}

/// A call that must happen eventually: compensations (refund, release), the confirmation
/// e-mail and the read-model update. Unlimited attempts (`maximum_attempts = 0`), backing off
/// to one attempt a minute; the activity's schedule-to-close timeout, if any, bounds it.
pub fn until_it_succeeds() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_millis(500))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(60))
        .maximum_attempts(0)
        .non_retryable_error_types(NON_RETRYABLE)
        .build()
}
