//! `capstone ingest-stock FILE` and `capstone generate-stock-csv` (day 3: a long-running,
//! heartbeating activity). The file is read by the activity worker, so the path must be one
//! that the activity worker can see (same machine, or a shared volume).

use crate::config::{TaskQueueArgs, TemporalArgs, UiArgs};
use anyhow::Context;
use capstone_workflows::{
    contracts::inventory::IngestionReport,
    ingestion::{IngestionInput, StockIngestionWorkflow, ingestion_workflow_id},
};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::{io::Write, path::PathBuf, time::Duration};
use temporalio_client::{
    WorkflowDescribeOptions, WorkflowExecutionStatus, WorkflowGetResultOptions, WorkflowIdConflictPolicy,
    WorkflowStartOptions,
};

#[derive(Args, Debug)]
pub struct IngestStockArgs {
    /// CSV with a header row: sku,name,unit_price_cents,qty.
    pub file: PathBuf,
    /// Rows per request to the inventory service (and per heartbeat).
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// Name of this ingestion. By default it is derived from the file's content, so loading the
    /// same file twice adds its stock once.
    #[arg(long)]
    pub ingestion_id: Option<String>,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: TaskQueueArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

pub async fn run(args: IngestStockArgs) -> anyhow::Result<()> {
    let path = std::fs::canonicalize(&args.file).with_context(|| format!("{} is not readable", args.file.display()))?;
    let content = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let rows = content.iter().filter(|byte| **byte == b'\n').count().saturating_sub(1) as u64;
    let ingestion_id = args.ingestion_id.unwrap_or_else(|| hex::encode(&Sha256::digest(&content)[..8]));
    let workflow_id = ingestion_workflow_id(&ingestion_id);

    let connection = args.temporal.connection()?;
    let client = crate::temporal::connect(
        &connection,
        "capstone-ingest-stock",
        Duration::from_secs(5),
        &args.temporal.key_ring()?,
    )
    .await?;
    let input = IngestionInput {
        ingestion_id: ingestion_id.clone(),
        path: path.display().to_string(),
        batch_size: args.batch_size,
        activity_task_queue: args.task_queues.activities.activity_task_queue.clone(),
    };
    let options =
        WorkflowStartOptions::new(args.task_queues.workflows.workflow_task_queue.clone(), workflow_id.clone())
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .build();
    let handle = client.start_workflow(StockIngestionWorkflow::run, input, options).await?;
    println!("ingesting {} ({rows} rows) as workflow {workflow_id}", path.display());
    println!(
        "see it in the Web UI: {}/namespaces/{}/workflows/{workflow_id}",
        args.ui.temporal_ui_url.trim_end_matches('/'),
        connection.namespace
    );

    // Progress comes from the activity's own heartbeats, as the server has them.
    let progress = ProgressBar::new(rows).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({elapsed}) {msg}").expect("a valid template"),
    );
    loop {
        let description = handle.describe(WorkflowDescribeOptions::default()).await?;
        if description.status() != WorkflowExecutionStatus::Running {
            break;
        }
        if let Some(pending) = description.raw_description.pending_activities.first() {
            let done: Option<u64> = pending
                .heartbeat_details
                .as_ref()
                .and_then(|details| details.payloads.first())
                .and_then(|payload| serde_json::from_slice(&payload.data).ok());
            progress.set_position(done.unwrap_or(0));
            progress.set_message(format!("attempt {}", pending.attempt));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report: IngestionReport = handle.get_result(WorkflowGetResultOptions::default()).await?;
    progress.set_position(report.rows);
    progress.finish();
    println!(
        "done: {} rows, {} applied, {} already applied before (attempt {}, resumed from row {})",
        report.rows, report.applied, report.already_applied, report.attempt, report.resumed_from_row
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct GenerateStockCsvArgs {
    /// How many rows to write.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Where to write (standard output when absent).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Writes `rows` rows of new SKUs (`GEN-000001`, ...). Deterministic: the same size gives the
/// same file, so tests and docs can rely on its totals.
pub fn generate(args: GenerateStockCsvArgs) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    writeln!(out, "sku,name,unit_price_cents,qty")?;
    for n in 1..=args.rows {
        let (price, qty) = generated_row(n);
        writeln!(out, "GEN-{n:06},Generated item {n},{price},{qty}")?;
    }
    out.flush()?;
    Ok(())
}

/// Price (cents) and quantity of generated row `n`.
pub fn generated_row(n: u64) -> (u64, u64) {
    (100 + (n * 37) % 9_900, 1 + n % 50)
}
