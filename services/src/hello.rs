//! `capstone hello NAME`: start a `HelloWorkflow` and print its result.

use crate::config::{TaskQueueArgs, TemporalArgs, UiArgs};
use anyhow::Context;
use capstone_workflows::hello::{HelloInput, HelloWorkflow};
use clap::Args;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

#[derive(Args, Debug)]
pub struct HelloArgs {
    /// Who to greet.
    pub name: String,
    /// How long the workflow sleeps (a durable timer) before it greets, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub pause_ms: u64,
    /// Give up waiting for the result after this many seconds.
    #[arg(long, default_value_t = 30)]
    pub wait_secs: u64,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: TaskQueueArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

pub async fn run(args: HelloArgs) -> anyhow::Result<()> {
    let connection = args.temporal.connection()?;
    let client =
        crate::temporal::connect(&connection, "capstone-hello", Duration::from_secs(5), &args.temporal.key_ring()?)
            .await?;
    let workflow_id = format!("hello-{}", uuid::Uuid::new_v4().simple());
    let input = HelloInput {
        name: args.name,
        pause_ms: args.pause_ms,
        activity_task_queue: args.task_queues.activities.activity_task_queue,
    };
    let options =
        WorkflowStartOptions::new(args.task_queues.workflows.workflow_task_queue.clone(), workflow_id.clone()).build();
    let handle = client.start_workflow(HelloWorkflow::run, input, options).await?;
    println!("started workflow {workflow_id} on task queue {}", args.task_queues.workflows.workflow_task_queue);
    println!(
        "see it in the Web UI: {}/namespaces/{}/workflows/{workflow_id}",
        args.ui.temporal_ui_url.trim_end_matches('/'),
        connection.namespace
    );
    let result = tokio::time::timeout(
        Duration::from_secs(args.wait_secs),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .with_context(|| {
        format!(
            "no result after {} s: is a worker running? Start everything with `capstone dev`, \
             or `capstone workflow-worker` and `capstone activity-worker` against this server",
            args.wait_secs
        )
    })??;
    println!("{result}");
    Ok(())
}
