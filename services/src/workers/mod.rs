//! The two kinds of worker (day 4). Each polls its own task queue:
//! - the workflow worker runs workflow code only (deterministic, cheap, cache-heavy);
//! - the activity worker runs activities only (I/O: HTTP calls to the services).
//!
//! Split, they scale independently: add activity workers when calls queue up, workflow
//! workers when workflow tasks do.

use capstone_activities::ServiceUrls;
use capstone_workflows::{hello::HelloWorkflow, order::OrderWorkflow, shipment::ShipmentWorkflow};
use std::time::Duration;
use temporalio_client::Client;
use temporalio_sdk::{Runtime, Worker, WorkerOptions, runtime::RuntimeOptions};
use tokio_util::sync::CancellationToken;

/// How long a stopping activity worker lets running activities finish before cancelling them.
pub const ACTIVITY_DRAIN_PERIOD: Duration = Duration::from_secs(20);

/// The SDK runtime (thread pools, telemetry) shared by the workers of one process.
pub fn runtime() -> anyhow::Result<Runtime> {
    Ok(Runtime::from_current_tokio(RuntimeOptions::default())?)
}

/// A worker for every workflow type of the shop, and no activities.
pub fn workflow_worker(runtime: &Runtime, client: Client, task_queue: &str) -> anyhow::Result<Worker> {
    let options = WorkerOptions::new(task_queue)
        .register_workflow::<HelloWorkflow>()?
        .register_workflow::<OrderWorkflow>()?
        .register_workflow::<ShipmentWorkflow>()?
        .build();
    Ok(Worker::new(runtime, client, options)?)
}

/// A worker for every activity of the shop, and no workflows.
pub fn activity_worker(
    runtime: &Runtime,
    client: Client,
    task_queue: &str,
    urls: &ServiceUrls,
) -> anyhow::Result<Worker> {
    let mut options = WorkerOptions::new(task_queue).graceful_shutdown_period(ACTIVITY_DRAIN_PERIOD).build();
    capstone_activities::register_all(&mut options, urls)?;
    Ok(Worker::new(runtime, client, options)?)
}

/// Runs `worker` until `shutdown` is cancelled, then stops polling and waits for the tasks in
/// flight to finish (activities get `ACTIVITY_DRAIN_PERIOD`).
pub async fn run_until(mut worker: Worker, kind: &'static str, shutdown: CancellationToken) -> anyhow::Result<()> {
    let task_queue = worker.task_queue().to_owned();
    let stop_polling = worker.shutdown_handle();
    tracing::info!(worker = kind, %task_queue, "worker started");
    let run = worker.run();
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => {
            result?;
            tracing::warn!(worker = kind, %task_queue, "worker stopped on its own");
            return Ok(());
        }
        _ = shutdown.cancelled() => {
            tracing::info!(worker = kind, %task_queue, "worker draining");
            stop_polling();
        }
    }
    run.await?;
    tracing::info!(worker = kind, %task_queue, "worker stopped");
    Ok(())
}
