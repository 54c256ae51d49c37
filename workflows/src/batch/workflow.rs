//! The batch: a sliding window of child `OrderWorkflow`s, an aggregate, a rollback policy,
//! and continue-as-new for batches too large for one history.

use super::model::{BatchInput, BatchProgress, BatchState, ChildOutcome};
use crate::contracts::payments::{PaymentActivities, RefundRequest};
use crate::order::{OrderWorkflow, order_workflow_id, retry_policies};
use crate::payloads::Packed;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, WorkflowCancellationToken, WorkflowContext,
    WorkflowContextView, WorkflowIdReusePolicy, WorkflowResult, WorkflowTermination, workflows::join_all,
};

#[workflow]
pub struct BatchWorkflow {
    input: BatchInput,
    progress: BatchProgress,
    /// Children started by this run (the continue-as-new budget).
    started_this_run: u32,
}

#[workflow_methods]
impl BatchWorkflow {
    /// The input and the result are [`Packed`]: MessagePack, the payloads that grow with a
    /// batch (the aggregate it carries from run to run).
    #[init]
    pub fn new(_ctx: &WorkflowContextView, Packed(input): Packed<BatchInput>) -> Self {
        let mut progress = input.progress.clone();
        progress.runs += 1;
        Self { input, progress, started_this_run: 0 }
    }

    #[run(name = "BatchWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Packed<BatchProgress>> {
        let input = ctx.state(|s| s.input.clone());
        // One token for every child: cancelling it cancels all of them at once (rollback).
        // It is a child of the workflow's own token, so cancelling the batch reaches them too.
        let children = ctx.cancellation_token().child_token();

        // The sliding window: `window` lanes, each starting the next child as soon as its
        // previous one has finished. The SDK's `join_all` is deterministic (same polling on
        // every replay), unlike racing tokio tasks.
        let lanes = (0..input.window.max(1)).map(|_| Self::lane(ctx, &input, &children));
        join_all(lanes).await;

        // A rollback finishes even if the batch is cancelled meanwhile: the refunds run on a
        // token of their own, and money taken must go back.
        if ctx.state(|s| s.progress.state == BatchState::RollingBack) {
            Self::refund_completed(ctx, &input).await;
            ctx.state_mut(|s| s.progress.state = BatchState::RolledBack);
            return Ok(Packed(ctx.state(|s| s.progress.clone())));
        }
        if ctx.cancellation_token().is_cancelled() {
            ctx.state_mut(|s| s.progress.state = BatchState::Cancelled);
            return Err(WorkflowTermination::cancelled());
        }
        let progress = ctx.state(|s| s.progress.clone());
        if progress.next_index < input.count {
            // Every child of this run has finished: carry the aggregate into a fresh history.
            let next = BatchInput { progress, ..input };
            match ctx.continue_as_new(Packed(next), ContinueAsNewOptions::default())? {}
        }
        ctx.state_mut(|s| s.progress.state = BatchState::Completed);
        Ok(Packed(ctx.state(|s| s.progress.clone())))
    }

    /// Counts so far: done, running, failed, money moved, what was rolled back.
    #[query(name = "progress")]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> BatchProgress {
        self.progress.clone()
    }
}

impl BatchWorkflow {
    /// One lane of the window: start the next child, wait for it, record it, repeat.
    async fn lane(ctx: &WorkflowContext<Self>, input: &BatchInput, children: &WorkflowCancellationToken) {
        loop {
            let stop_starting = ctx.cancellation_token().is_cancelled() || ctx.continue_as_new_suggested();
            let index = ctx.state_mut(|s| {
                let more = s.progress.next_index < input.count
                    && s.started_this_run < input.children_per_run.max(1)
                    && s.progress.state == BatchState::Running
                    && !stop_starting;
                more.then(|| {
                    let index = s.progress.next_index;
                    s.progress.next_index += 1;
                    s.progress.started += 1;
                    s.progress.running += 1;
                    s.started_this_run += 1;
                    index
                })
            });
            let Some(index) = index else { return };

            let order = input.order(index);
            let order_id = order.order_id.clone();
            // A child's id is derived from the batch's (never chosen by a client), and an id that
            // already exists, even closed, is refused: a retried start finds its own child, and
            // nothing else can ever run under a child's name or share its idempotency keys.
            let options = ChildWorkflowOptions::builder()
                .workflow_id(order_workflow_id(&order_id))
                .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
                .cancellation_token(children.clone())
                .build();
            let outcome = match ctx.start_child_workflow(OrderWorkflow::run, order, options).await {
                Ok(child) => match child.result().await {
                    Ok(snapshot) => ChildOutcome::Finished(Box::new(snapshot)),
                    Err(error) if error.as_cancelled().is_some() => ChildOutcome::Cancelled,
                    Err(error) => ChildOutcome::Failed(error.to_string()),
                },
                // e.g. the id already exists: the derived id makes a duplicate start fail
                // instead of placing the order twice.
                Err(error) => ChildOutcome::Failed(format!("could not start: {error}")),
            };
            let roll_back = ctx.state_mut(|s| {
                s.progress.record(&order_id, input.template.total_cents, outcome);
                let crossed = s.progress.state == BatchState::Running && s.progress.should_roll_back(&input.rollback);
                if crossed {
                    s.progress.state = BatchState::RollingBack;
                    s.progress.reason = Some(format!(
                        "{} of {} finished orders failed, more than {} %",
                        s.progress.failed, s.progress.finished, input.rollback.max_failure_percent
                    ));
                }
                crossed
            });
            if roll_back {
                children.cancel_with_reason("the batch is rolled back");
            }
        }
    }

    /// The rollback's compensation: every completed child is refunded (in groups of `window`),
    /// idempotently with the key the order itself would have used.
    async fn refund_completed(ctx: &WorkflowContext<Self>, input: &BatchInput) {
        let completed = ctx.state(|s| s.progress.completed_orders.clone());
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.template.settings.payments_task_queue.clone())
            .retry_policy(retry_policies::until_it_succeeds())
            .cancellation_token(WorkflowCancellationToken::new())
            .build();
        for group in completed.chunks(input.window.max(1) as usize) {
            let refunds = group.iter().map(|order_id| {
                let workflow_id = order_workflow_id(order_id);
                let request = RefundRequest {
                    idempotency_key: format!("{workflow_id}:refund"),
                    charge_idempotency_key: format!("{workflow_id}:charge"),
                    order_id: order_id.clone(),
                    reason: "the batch was rolled back".to_owned(),
                };
                ctx.execute_activity(PaymentActivities::refund, request, options.clone())
            });
            let results = join_all(refunds).await;
            ctx.state_mut(|s| {
                for (order_id, result) in group.iter().zip(results) {
                    if let Ok(refund) = result {
                        s.progress.refunded_cents += refund.amount_cents;
                        s.progress.rolled_back.push(order_id.clone());
                    }
                }
            });
        }
    }
}
