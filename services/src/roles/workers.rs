//! The two worker roles: `capstone workflow-worker` (workflow tasks only) and
//! `capstone activity-worker` (activities; payments on their own queue).

use super::{TEMPORAL_PATIENCE, run_worker_role};
use crate::{
    config::{
        ActivityTaskQueueArgs, ActivityTuningArgs, ActivityWorkerMetricsAddr, RegionArg, ServiceKeyArgs,
        ServiceUrlArgs, StatusIntervalArg, TemporalArgs, VersioningArgs, WorkflowTaskQueueArg, WorkflowTuningArgs,
        WorkflowWorkerMetricsAddr, worker_tuning,
    },
    temporal, workers,
};
use capstone_workflows::task_queues::TaskQueues;
use clap::Args;

#[derive(Args, Debug)]
pub struct WorkflowWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queue: WorkflowTaskQueueArg,
    #[command(flatten)]
    pub region: RegionArg,
    #[command(flatten)]
    pub tuning: WorkflowTuningArgs,
    #[command(flatten)]
    pub versioning: VersioningArgs,
    #[command(flatten)]
    pub status: StatusIntervalArg,
    #[command(flatten)]
    pub metrics: WorkflowWorkerMetricsAddr,
}

#[derive(Args, Debug)]
pub struct ActivityWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: ActivityTaskQueueArgs,
    #[command(flatten)]
    pub region: RegionArg,
    #[command(flatten)]
    pub urls: ServiceUrlArgs,
    #[command(flatten)]
    pub service_key: ServiceKeyArgs,
    #[command(flatten)]
    pub tuning: ActivityTuningArgs,
    #[command(flatten)]
    pub versioning: VersioningArgs,
    #[command(flatten)]
    pub status: StatusIntervalArg,
    #[command(flatten)]
    pub metrics: ActivityWorkerMetricsAddr,
}

pub async fn workflow_worker(args: WorkflowWorkerArgs) -> anyhow::Result<()> {
    let connection = args.temporal.connection()?;
    let keys = args.temporal.key_ring()?;
    let client = temporal::connect(&connection, "capstone-workflow-worker", TEMPORAL_PATIENCE, &keys).await?;
    // The order workflow upserts them at every status change.
    temporal::search_attributes::require(&client, &connection.namespace).await?;
    let runtime = workers::runtime()?;
    let tuning = worker_tuning(
        Some(&args.tuning),
        None,
        &args.status,
        args.versioning.versioning(crate::workers::versioning::BUILD_ID),
    );
    let base = TaskQueues {
        workflows: args.task_queue.workflow_task_queue,
        subscriptions: args.task_queue.subscription_task_queue,
        ..TaskQueues::default()
    };
    let region = args.region.region.as_deref();
    let queues = base.for_region(region);
    // Subscriptions have one queue for every region: the shared workflow workers serve it.
    let subscriptions = region.is_none().then_some(queues.subscriptions.as_str());
    let all = workers::workflow_workers(&runtime, client, &queues.workflows, subscriptions, &tuning)?;
    run_worker_role("workflow-worker", args.metrics.metrics_addr, all, tuning.status_interval).await
}

pub async fn activity_worker(args: ActivityWorkerArgs) -> anyhow::Result<()> {
    let connection = args.temporal.connection()?;
    let keys = args.temporal.key_ring()?;
    let client = temporal::connect(&connection, "capstone-activity-worker", TEMPORAL_PATIENCE, &keys).await?;
    let runtime = workers::runtime()?;
    let tuning = worker_tuning(
        None,
        Some(&args.tuning),
        &args.status,
        args.versioning.versioning(crate::workers::versioning::BUILD_ID),
    );
    let base = TaskQueues {
        activities: args.task_queues.activity_task_queue,
        payments: args.task_queues.payments_task_queue,
        ..TaskQueues::default()
    };
    let queues = base.for_region(args.region.region.as_deref());
    let all = workers::activity_workers(
        &runtime,
        client,
        &queues.activities,
        &queues.payments,
        &args.urls.to_urls(args.service_key.keys()?.remove(0)),
        &tuning,
    )?;
    run_worker_role("activity-worker", args.metrics.metrics_addr, all, tuning.status_interval).await
}
