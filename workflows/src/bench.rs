//! Two reference workflows for `capstone bench` (day 12's performance figures): the least a
//! workflow can be, and the least a workflow with one activity can be. They set the scale for
//! the saga's figures; the production workers do not register them.

use crate::hello::HelloActivities;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// Completes at once: one workflow task, five events.
#[workflow]
#[derive(Default)]
pub struct NoopWorkflow;

#[workflow_methods]
impl NoopWorkflow {
    #[run(name = "bench.NoopWorkflow")]
    pub async fn run(_ctx: &mut WorkflowContext<Self>, _input: ()) -> WorkflowResult<()> {
        Ok(())
    }
}

/// Runs one activity (the day-1 greeting, which does no I/O) on `activity_task_queue`.
#[workflow]
#[derive(Default)]
pub struct OneActivityWorkflow;

#[workflow_methods]
impl OneActivityWorkflow {
    #[run(name = "bench.OneActivityWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, activity_task_queue: String) -> WorkflowResult<String> {
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(activity_task_queue)
            .build();
        Ok(ctx.execute_activity(HelloActivities::compose_greeting, "bench".to_owned(), options).await?)
    }
}
