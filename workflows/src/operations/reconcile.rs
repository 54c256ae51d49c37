//! `ReconcileWorkflow`: finds orders whose read-model row, workflow and ledger disagree,
//! repairs what is safe and reports the rest (the api does the comparing; see
//! `services/src/api/operations.rs`).

use crate::contracts::operations::{OperationsActivities, ReconcileReport, ReconcileRequest};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReconcileInput {
    pub activity_task_queue: String,
    pub settle_secs: u64,
    pub lookback_secs: u64,
    pub limit: i64,
}

#[workflow]
#[derive(Default)]
pub struct ReconcileWorkflow;

#[workflow_methods]
impl ReconcileWorkflow {
    #[run(name = "ReconcileWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: ReconcileInput) -> WorkflowResult<ReconcileReport> {
        let request = ReconcileRequest {
            settle_ms: (input.settle_secs * 1000) as i64,
            lookback_ms: (input.lookback_secs * 1000) as i64,
            limit: input.limit,
            charged_orders: Vec::new(),
        };
        let options = super::options(&input.activity_task_queue, Duration::from_secs(120));
        Ok(ctx.execute_activity(OperationsActivities::reconcile_orders, request, options).await?)
    }
}
