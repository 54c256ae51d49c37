//! The reference figures: how fast this server runs the least a workflow can be, with a
//! worker of our own in this process (the production workers do not know these workflows).

use capstone_activities::hello::HelloActivities;
use capstone_workflows::bench::{NoopWorkflow, OneActivityWorkflow};
use futures::StreamExt;
use std::time::Instant;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_sdk::{Worker, WorkerOptions};

const TASK_QUEUE: &str = "bench-minimal";

/// Workflows per second, and the server's CPU seconds per workflow, for one kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MinimalFigures {
    pub workflows: u32,
    pub per_sec: f64,
    pub server_cpu_ms_per_workflow: f64,
}

/// Runs `count` no-op workflows, then `count` one-activity workflows, `concurrency` at a time.
pub async fn run(
    client: &Client,
    server_pid: u32,
    count: u32,
    concurrency: usize,
) -> anyhow::Result<(MinimalFigures, MinimalFigures)> {
    let runtime = crate::workers::runtime()?;
    let worker_options = WorkerOptions::new(TASK_QUEUE)
        .register_workflow::<NoopWorkflow>()?
        .register_workflow::<OneActivityWorkflow>()?
        .register_activities(HelloActivities)
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), worker_options)?;
    let stop = worker.shutdown_handle();
    // The worker's future is not `Send`: it runs next to the measurements, on this task.
    let measurements = async {
        let noop = measure(server_pid, count, concurrency, |id| {
            let client = client.clone();
            async move {
                let handle = client.start_workflow(NoopWorkflow::run, (), options(&id)).await?;
                handle.get_result(WorkflowGetResultOptions::default()).await?;
                anyhow::Ok(())
            }
        })
        .await;
        let one_activity = measure(server_pid, count, concurrency, |id| {
            let client = client.clone();
            async move {
                let handle =
                    client.start_workflow(OneActivityWorkflow::run, TASK_QUEUE.to_owned(), options(&id)).await?;
                handle.get_result(WorkflowGetResultOptions::default()).await?;
                anyhow::Ok(())
            }
        })
        .await;
        stop();
        Ok::<_, anyhow::Error>((noop?, one_activity?))
    };
    let (worker_result, figures) = tokio::join!(worker.run(), measurements);
    worker_result?;
    figures
}

fn options(workflow_id: &str) -> WorkflowStartOptions {
    WorkflowStartOptions::new(TASK_QUEUE.to_owned(), workflow_id.to_owned()).build()
}

async fn measure<F, Fut>(server_pid: u32, count: u32, concurrency: usize, run_one: F) -> anyhow::Result<MinimalFigures>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let cpu_before = super::procfs::cpu_seconds(server_pid)?;
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..count)
        .map(|index| run_one(format!("bench-{prefix}-{index}")))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = super::procfs::cpu_seconds(server_pid)? - cpu_before;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok(MinimalFigures {
        workflows: count,
        per_sec: f64::from(count) / elapsed,
        server_cpu_ms_per_workflow: cpu * 1000.0 / f64::from(count),
    })
}
