//! Time inside a workflow.

use std::time::{SystemTime, UNIX_EPOCH};

/// Workflow time in milliseconds since the epoch: the start time of the current workflow task
/// (`ctx.workflow_time()`), identical on every replay, unlike `SystemTime::now()`.
pub fn now_ms(workflow_time: Option<SystemTime>) -> i64 {
    workflow_time
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
