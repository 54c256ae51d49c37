//! `RetentionWorkflow`: purges the app's old rows, one owner at a time, in bounded batches.
//! The ledger is never purged: it is the record of money.

use crate::contracts::operations::{OperationsActivities, PurgeRequest, PurgeTarget, Purged};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RetentionInput {
    pub activity_task_queue: String,
    /// Rows older than this are purged.
    pub keep_secs: u64,
    pub batch: i64,
}

#[workflow]
#[derive(Default)]
pub struct RetentionWorkflow;

#[workflow_methods]
impl RetentionWorkflow {
    #[run(name = "RetentionWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: RetentionInput) -> WorkflowResult<Vec<Purged>> {
        // Workflow time: the same cut-off on every replay.
        let older_than_ms = crate::time::now_ms(ctx.workflow_time()) - (input.keep_secs * 1000) as i64;
        // An attempt may run for minutes on a large backlog; the heartbeat notices a dead worker.
        let options = temporalio_sdk::ActivityOptions::with_start_to_close_timeout(Duration::from_secs(1800))
            .heartbeat_timeout(Duration::from_secs(30))
            .task_queue(input.activity_task_queue.clone())
            .retry_policy(super::retry_policy())
            .build();
        let mut purged = Vec::new();
        for target in PurgeTarget::ALL {
            let request = PurgeRequest { target, older_than_ms, batch: input.batch };
            purged.push(ctx.execute_activity(OperationsActivities::purge, request, options.clone()).await?);
        }
        Ok(purged)
    }
}
