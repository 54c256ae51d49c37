//! Counting what a worker does, for its status line: interceptors that see every workflow
//! activation and every activity execution.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use temporalio_common::protos::coresdk::{
    workflow_activation::WorkflowActivation, workflow_completion::WorkflowActivationCompletion,
};
use temporalio_sdk::interceptors::{
    ActivityInboundInterceptor, ExecuteActivityInput, ExecuteActivityOutput, Next, WorkerInterceptor,
};

#[derive(Debug, Default)]
pub struct WorkerStats {
    in_flight: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
}

impl WorkerStats {
    /// Tasks running now: the slots in use.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    pub fn log(&self, kind: &str, task_queue: &str, slots: usize) {
        tracing::info!(
            worker = kind,
            task_queue,
            slots_used = self.in_flight(),
            slots,
            completed = self.completed(),
            failed = self.failed.load(Ordering::Relaxed),
            "worker status"
        );
    }

    fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    fn finish(&self, ok: bool) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let counter = if ok { &self.completed } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts workflow activations (workflow tasks) on a workflow worker.
pub(super) struct CountWorkflowTasks(pub Arc<WorkerStats>);

#[async_trait::async_trait(?Send)]
impl WorkerInterceptor for CountWorkflowTasks {
    async fn on_workflow_activation(&self, _activation: &WorkflowActivation) -> Result<(), anyhow::Error> {
        self.0.start();
        Ok(())
    }

    async fn on_workflow_activation_completion(&self, completion: &WorkflowActivationCompletion) {
        self.0.finish(completion.status.as_ref().is_some_and(|status| status.is_success()));
    }
}

/// Counts activity executions on an activity worker, and runs each inside a span naming its
/// workflow id, run id, type and attempt, so that every log line an activity writes says
/// which order (workflow `order-<id>`) and which run it belongs to.
pub(super) struct CountActivities(pub Arc<WorkerStats>);

impl ActivityInboundInterceptor for CountActivities {
    fn execute_activity<'a>(
        &'a self,
        input: ExecuteActivityInput,
        next: Next<'a, ExecuteActivityInput, ExecuteActivityOutput<'a>>,
    ) -> ExecuteActivityOutput<'a> {
        use tracing::Instrument;
        let info = input.activity_info();
        // Logs only: the SDK's RunActivity span already stands for the activity in traces,
        // and this interceptor runs outside its context (see telemetry::LOG_ONLY).
        let span = tracing::info_span!(
            target: crate::telemetry::LOG_ONLY,
            "activity",
            workflow_id = info.workflow_id.as_deref().unwrap_or_default(),
            run_id = info.workflow_run_id.as_deref().unwrap_or_default(),
            activity_type = %info.activity_type,
            attempt = info.attempt,
        );
        self.0.start();
        Box::pin(
            async move {
                let result = next.run(input).await;
                self.0.finish(result.is_ok());
                result
            }
            .instrument(span),
        )
    }
}
