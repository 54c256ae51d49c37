//! The workers. Each polls its own task queue:
//! - the workflow worker runs workflow code only (deterministic, cheap, cache-heavy);
//! - the activity worker runs activities only (I/O: HTTP calls to the services), as two SDK
//!   workers in one process: one for most activities, one with few slots for payments.
//!
//! Split, they scale independently: add activity workers when calls queue up, workflow
//! workers when workflow tasks do. On SIGTERM each stops polling, lets the tasks it has
//! finish (activities get `drain_timeout`), logs that it stopped, and the process exits 0.
//!
//! Every worker carries its Worker Deployment version (`versioning.rs`): orders pinned to
//! their build, subscriptions on a queue of their own that follows the current build.

mod stats;
pub mod versioning;

pub use stats::WorkerStats;
pub use versioning::{MakeCurrent, Versioning};

use capstone_activities::ServiceUrls;
use capstone_workflows::{
    batch::BatchWorkflow,
    hello::HelloWorkflow,
    ingestion::StockIngestionWorkflow,
    operations::{reconcile::ReconcileWorkflow, report::DailyReportWorkflow, retention::RetentionWorkflow},
    order::OrderWorkflow,
    shipment::ShipmentWorkflow,
    subscription::SubscriptionWorkflow,
};
use std::{sync::Arc, time::Duration};
use temporalio_client::Client;
use temporalio_common::worker::VersioningBehavior;
use temporalio_sdk::{
    Runtime, Worker, WorkerOptions,
    runtime::{
        RuntimeOptions,
        worker_tuner::{FixedSizeSlotSupplier, TunerHolder},
    },
};
use tokio_util::sync::CancellationToken;

/// Concurrency, lifecycle and versioning settings (see `config::worker_tuning` for the flags).
#[derive(Debug, Clone)]
pub struct WorkerTuning {
    pub workflow_slots: usize,
    pub activity_slots: usize,
    pub payment_slots: usize,
    pub drain_timeout: Duration,
    pub status_interval: Duration,
    pub versioning: Versioning,
}

impl Default for WorkerTuning {
    fn default() -> Self {
        Self {
            workflow_slots: 50,
            activity_slots: 20,
            payment_slots: 2,
            drain_timeout: Duration::from_secs(20),
            status_interval: Duration::from_secs(30),
            versioning: Versioning::default(),
        }
    }
}

/// What an SDK worker of ours polls for: the name its log lines and status lines carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// Workflow tasks (the workflow worker).
    Workflow,
    /// Every activity but the payment ones (the activity worker).
    Activity,
    /// Charges and refunds, with few slots (the activity worker).
    Payments,
}

impl WorkerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workflow => "workflow",
            Self::Activity => "activity",
            Self::Payments => "payments",
        }
    }
}

/// A worker ready to run, with what its status line reports.
pub struct RunnableWorker {
    pub worker: Worker,
    pub kind: WorkerKind,
    pub slots: usize,
    pub stats: Arc<WorkerStats>,
    /// Its client and version, when it may make its build current (see `versioning.rs`).
    pub claim: Option<(Client, Versioning)>,
}

/// The SDK runtime (thread pools, telemetry) shared by the workers of one process; their
/// metrics go to the process's `/metrics`.
pub fn runtime() -> anyhow::Result<Runtime> {
    let options = RuntimeOptions::builder()
        .telemetry_options(crate::metrics::sdk::telemetry_options()?)
        .build()
        .map_err(anyhow::Error::msg)?;
    Ok(Runtime::from_current_tokio(options)?)
}

/// Every task kind gets a fixed number of slots; the one this worker polls is the one that
/// matters (a workflow-only worker never takes an activity, and vice versa).
fn tuner(workflow_slots: usize, activity_slots: usize) -> TunerHolder {
    TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(workflow_slots))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(activity_slots))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(activity_slots))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build()
}

/// The workflow worker's SDK workers, no activities: every workflow type of the shop on
/// `task_queue`, pinned to this build; and, given a `subscription_task_queue`, subscriptions
/// there, following the current build. (Subscriptions started before they had a queue of
/// their own run on `task_queue`, so it serves them too.)
pub fn workflow_workers(
    runtime: &Runtime,
    client: Client,
    task_queue: &str,
    subscription_task_queue: Option<&str>,
    tuning: &WorkerTuning,
) -> anyhow::Result<Vec<RunnableWorker>> {
    let build = |task_queue: &str, kind, behavior, register: &dyn Fn(&mut WorkerOptions) -> anyhow::Result<()>| {
        let mut options = WorkerOptions::new(task_queue).tuner(tuner(tuning.workflow_slots, 1)).build();
        options.deployment_options = tuning.versioning.options(Some(behavior));
        register(&mut options)?;
        let stats = Arc::new(WorkerStats::default());
        options.worker_interceptor(stats::CountWorkflowTasks(stats.clone()));
        let worker = Worker::new(runtime, client.clone(), options)?;
        let claim = Some((client.clone(), tuning.versioning.clone()));
        anyhow::Ok(RunnableWorker { worker, kind, slots: tuning.workflow_slots, stats, claim })
    };
    let mut workers = vec![build(task_queue, WorkerKind::Workflow, VersioningBehavior::Pinned, &|options| {
        options
            .register_workflow::<HelloWorkflow>()?
            .register_workflow::<OrderWorkflow>()?
            .register_workflow::<ShipmentWorkflow>()?
            .register_workflow::<StockIngestionWorkflow>()?
            .register_workflow::<BatchWorkflow>()?
            .register_workflow::<SubscriptionWorkflow>()?
            // Each scheduled run is a short workflow of its own: pinned like an order.
            .register_workflow::<ReconcileWorkflow>()?
            .register_workflow::<RetentionWorkflow>()?
            .register_workflow::<DailyReportWorkflow>()?;
        Ok(())
    })?];
    if let Some(queue) = subscription_task_queue {
        workers.push(build(queue, WorkerKind::Workflow, VersioningBehavior::AutoUpgrade, &|options| {
            options.register_workflow::<SubscriptionWorkflow>()?;
            Ok(())
        })?);
    }
    Ok(workers)
}

/// The activity worker's two SDK workers: most activities on `activity_task_queue`, charges
/// and refunds on `payments_task_queue` with `payment_slots`.
pub fn activity_workers(
    runtime: &Runtime,
    client: Client,
    activity_task_queue: &str,
    payments_task_queue: &str,
    urls: &ServiceUrls,
    tuning: &WorkerTuning,
) -> anyhow::Result<Vec<RunnableWorker>> {
    let http = capstone_activities::http_client()?;
    let build = |task_queue: &str, kind, slots, register: &dyn Fn(&mut WorkerOptions)| -> anyhow::Result<_> {
        let mut options = WorkerOptions::new(task_queue)
            .deployment_options(tuning.versioning.options(None))
            .tuner(tuner(1, slots))
            .graceful_shutdown_period(tuning.drain_timeout)
            // Heartbeats are batched; send the latest at least every second, so that a retry
            // after a crash resumes close to where the crashed attempt was.
            .max_heartbeat_throttle_interval(Duration::from_secs(1))
            .build();
        register(&mut options);
        let stats = Arc::new(WorkerStats::default());
        options.activity_inbound_interceptor(stats::CountActivities(stats.clone()));
        let worker = Worker::new(runtime, client.clone(), options)?;
        Ok(RunnableWorker { worker, kind, slots, stats, claim: Some((client.clone(), tuning.versioning.clone())) })
    };
    Ok(vec![
        build(activity_task_queue, WorkerKind::Activity, tuning.activity_slots, &|options| {
            capstone_activities::register_general(options, urls, &http)
        })?,
        build(payments_task_queue, WorkerKind::Payments, tuning.payment_slots, &|options| {
            capstone_activities::register_payments(options, urls, &http)
        })?,
    ])
}

/// Runs `worker` until `shutdown` is cancelled, logging a status line every `status_interval`;
/// then stops polling and waits for the tasks in flight to finish.
pub async fn run_until(
    worker: RunnableWorker,
    shutdown: CancellationToken,
    status_interval: Duration,
) -> anyhow::Result<()> {
    let RunnableWorker { mut worker, kind, slots, stats, claim: _ } = worker;
    let task_queue = worker.task_queue().to_owned();
    let stop_polling = worker.shutdown_handle();
    tracing::info!(worker = kind.as_str(), %task_queue, slots, "worker started");
    let run = worker.run();
    tokio::pin!(run);
    let mut status = tokio::time::interval_at(tokio::time::Instant::now() + status_interval, status_interval);
    loop {
        tokio::select! {
            result = &mut run => {
                result?;
                tracing::warn!(worker = kind.as_str(), %task_queue, "worker stopped on its own");
                return Ok(());
            }
            _ = status.tick() => stats.log(kind.as_str(), &task_queue, slots),
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!(worker = kind.as_str(), %task_queue, in_flight = stats.in_flight(), "worker draining: no new tasks, finishing the ones in flight");
    stop_polling();
    run.await?;
    stats.log(kind.as_str(), &task_queue, slots);
    tracing::info!(worker = kind.as_str(), %task_queue, "worker stopped");
    Ok(())
}

/// Runs several workers until `shutdown`; stops all of them if one fails.
pub async fn run_all(
    mut workers: Vec<RunnableWorker>,
    shutdown: CancellationToken,
    status_interval: Duration,
) -> anyhow::Result<()> {
    // One claim per process is enough: every worker of it has the same version.
    if let Some((client, versioning)) = workers.iter_mut().find_map(|worker| worker.claim.take()) {
        tokio::spawn(versioning::claim_current(client, versioning, shutdown.child_token()));
    }
    let runs = workers.into_iter().map(|worker| {
        let shutdown = shutdown.clone();
        async move {
            let result = run_until(worker, shutdown.clone(), status_interval).await;
            if result.is_err() {
                shutdown.cancel();
            }
            result
        }
    });
    futures::future::join_all(runs).await.into_iter().collect()
}
