//! The shop's scheduled work: three small workflows that Temporal Schedules
//! start (`setup-temporal` and `capstone dev` create the schedules; `services/src/temporal/
//! schedules.rs` says when and with which overlap policy). A schedule, unlike cron, is durable:
//! its runs are workflows with histories, a missed run is caught up within a window, overlap
//! is a policy, and an operator can pause, trigger or backfill it from the Web UI.

pub mod reconcile;
pub mod report;
pub mod retention;

use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::ActivityOptions;

/// An operations call: bounded attempts (the next scheduled run tries again anyway).
fn options(task_queue: &str, start_to_close: Duration) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(start_to_close)
        .task_queue(task_queue.to_owned())
        .retry_policy(retry_policy())
        .build()
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_secs(1))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(30))
        .maximum_attempts(5)
        .non_retryable_error_types(crate::contracts::failures::NON_RETRYABLE)
        .build()
}
