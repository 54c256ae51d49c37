//! `StockIngestionWorkflow`: loads a supplier's stock file (day 3: a long-running activity).
//!
//! The work is one activity that may run for minutes. It heartbeats its progress; if its
//! worker dies, the server notices within the heartbeat timeout and retries the activity on
//! another worker, which resumes from the last heartbeat instead of starting over.

use crate::contracts::inventory::{IngestStockRequest, IngestionReport, InventoryActivities};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IngestionInput {
    pub ingestion_id: String,
    /// A path the activity worker can read.
    pub path: String,
    pub batch_size: u32,
    pub activity_task_queue: String,
}

/// One ingestion per file and run: the workflow id names it.
pub fn ingestion_workflow_id(ingestion_id: &str) -> String {
    format!("stock-ingestion-{ingestion_id}")
}

#[workflow]
#[derive(Default)]
pub struct StockIngestionWorkflow;

#[workflow_methods]
impl StockIngestionWorkflow {
    #[run(name = "StockIngestionWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: IngestionInput) -> WorkflowResult<IngestionReport> {
        let request =
            IngestStockRequest { ingestion_id: input.ingestion_id, path: input.path, batch_size: input.batch_size };
        // Start-to-close bounds one attempt (an hour covers a million rows); the heartbeat
        // timeout is what notices a dead worker: 5 s without a heartbeat and the attempt is
        // retried elsewhere. Retries back off to 10 s; 20 attempts survive a long outage of
        // the inventory service without giving up on a half-loaded file.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(3600))
            .heartbeat_timeout(Duration::from_secs(5))
            .task_queue(input.activity_task_queue)
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_millis(500))
                    .backoff_coefficient(2.0)
                    .maximum_interval(Duration::from_secs(10))
                    .maximum_attempts(20)
                    .non_retryable_error_types(crate::contracts::failures::NON_RETRYABLE)
                    .build(),
            )
            .build();
        let report = ctx.execute_activity(InventoryActivities::ingest_stock_csv, request, options).await?;
        Ok(report)
    }
}
