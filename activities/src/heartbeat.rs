//! Heartbeating while waiting on a slow call.

use std::{future::Future, time::Duration};
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Runs `call` and records a heartbeat every second until it finishes.
///
/// Why: the server only learns that a worker died when the attempt times out. With a 30 s
/// start-to-close timeout that is 30 s of a stuck order. With heartbeats and a 5 s heartbeat
/// timeout, a dead worker is noticed in 5 s, and the retry (on another worker) starts then.
/// A heartbeat is also how a running activity learns that it was cancelled.
pub async fn while_waiting<T>(
    ctx: &ActivityContext,
    call: impl Future<Output = Result<T, ActivityError>>,
) -> Result<T, ActivityError> {
    tokio::pin!(call);
    let mut beat = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            result = &mut call => return result,
            _ = beat.tick() => {
                ctx.record_heartbeat(()).await.map_err(|error| ActivityError::from(temporalio_sdk::ApplicationFailure::new(error)))?;
            }
            _ = ctx.cancelled() => return Err(ActivityError::cancelled()),
        }
    }
}
