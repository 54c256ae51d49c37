//! `inventory.ingest_stock_csv`: a long-running activity that heartbeats its progress and, on a
//! retry, resumes from the last heartbeat instead of starting over.

use crate::service_client::ServiceClient;
use capstone_workflows::contracts::{
    failures::INVALID_REQUEST,
    inventory::{
        IngestStockRequest, IngestionReport, StockReceiptBatch, StockReceiptLine, StockReceiptResult,
        activity::IngestStockCsv,
    },
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

pub struct StockIngestionActivities {
    inventory: ServiceClient,
}

impl StockIngestionActivities {
    pub fn new(inventory: ServiceClient) -> Self {
        Self { inventory }
    }
}

/// The file is the problem (missing, malformed): a retry would read the same file.
fn bad_file(message: String) -> ActivityError {
    ApplicationFailure::builder(message).type_name(INVALID_REQUEST.to_owned()).non_retryable(true).build().into()
}

#[activities]
impl StockIngestionActivities {
    #[activity(definition = IngestStockCsv)]
    pub async fn ingest_stock_csv(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: IngestStockRequest,
    ) -> Result<IngestionReport, ActivityError> {
        // Rows done by earlier attempts, as their last heartbeat said (0 on the first attempt).
        let resumed_from_row: u64 = ctx.heartbeat_details().deserialize()?.unwrap_or(0);
        let attempt = ctx.info().attempt;
        tracing::info!(ingestion_id = %request.ingestion_id, attempt, resumed_from_row, "stock ingestion starts");
        let bytes = tokio::fs::read(&request.path)
            .await
            .map_err(|error| bad_file(format!("cannot read {}: {error}", request.path)))?;
        let lines: Vec<StockReceiptLine> = csv::Reader::from_reader(bytes.as_slice())
            .deserialize()
            .enumerate()
            .map(|(index, row)| row.map_err(|error| bad_file(format!("{} row {}: {error}", request.path, index + 1))))
            .collect::<Result<_, _>>()?;

        let mut report = IngestionReport {
            ingestion_id: request.ingestion_id.clone(),
            rows: lines.len() as u64,
            resumed_from_row,
            attempt,
            applied: 0,
            already_applied: 0,
        };
        let batch_size = request.batch_size.max(1) as usize;
        let remaining = lines.get(resumed_from_row as usize..).unwrap_or_default();
        for (index, chunk) in remaining.chunks(batch_size).enumerate() {
            let first_row = resumed_from_row + (index * batch_size) as u64;
            let batch =
                StockReceiptBatch { ingestion_id: request.ingestion_id.clone(), first_row, lines: chunk.to_vec() };
            let result: StockReceiptResult = self.inventory.post("/stock/receipts", &batch).await?;
            report.applied += result.applied;
            report.already_applied += result.already_applied;
            // Progress is the heartbeat's detail: a retry reads it back above.
            let done = first_row + chunk.len() as u64;
            ctx.record_heartbeat(done).await?;
            if ctx.is_cancelled() {
                tracing::info!(ingestion_id = %request.ingestion_id, done, "stock ingestion cancelled");
                return Err(ActivityError::cancelled());
            }
        }
        tracing::info!(ingestion_id = %request.ingestion_id, applied = report.applied, "stock ingestion done");
        Ok(report)
    }
}
