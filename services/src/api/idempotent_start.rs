//! Starting a workflow whose id comes from the request (an order, a batch, a subscription),
//! so that a repeated request never starts a second one.
//!
//! - `UseExisting`: a start while the workflow runs joins it: no error, no second run.
//! - `RejectDuplicate`: a start after it closed answers `AlreadyStarted` instead of running
//!   it again (the server's default would allow a new run of a closed id).
//!
//! So `AlreadyStarted` means "this request's workflow has already run": an answer, not an
//! error. Any other failure means Temporal could not be asked, and the client may retry the
//! same request (503): its id makes the retry safe.

use crate::http::{ApiError, ApiResult, codes};
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions, errors::WorkflowStartError,
};

/// The start options of a workflow that a repeated request must not start twice.
pub(super) fn options(task_queue: impl Into<String>, workflow_id: impl Into<String>) -> WorkflowStartOptions {
    WorkflowStartOptions::new(task_queue.into(), workflow_id.into())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .build()
}

/// How a start with [`options`] went, when it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Started now, or joined while it runs.
    Running,
    /// It ran to its end before: nothing was started.
    RanBefore,
}

/// The start's answer: [`Start`], or `503 temporal_unavailable` naming `what` ("the batch");
/// `id` goes to the log.
pub(super) fn settle<T>(result: Result<T, WorkflowStartError>, what: &str, id: &str) -> ApiResult<Start> {
    match result {
        Ok(_) => Ok(Start::Running),
        Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Start::RanBefore),
        Err(error) => {
            tracing::error!(%id, "starting {what} failed: {error}");
            Err(ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, format!("{what} could not be started; retry")))
        }
    }
}
