//! The saga's undo log: what to undo for each step that ran (or may have run), newest first.

use super::{OrderInput, OrderWorkflow, retry_policies};
use crate::contracts::{
    inventory::{InventoryActivities, ReleaseStockRequest},
    payments::{PaymentActivities, RefundRequest},
    shipping::{CancelShipmentRequest, ShippingActivities},
};
use std::time::Duration;
use temporalio_sdk::{ActivityOptions, WorkflowCancellationToken, WorkflowContext};

#[derive(Debug, Clone)]
pub(super) enum Compensation {
    ReleaseStock { reservation_id: String },
    RefundPayment { charge_idempotency_key: String },
    CancelShipment { order_id: String },
}

#[derive(Debug, Default)]
pub(super) struct Compensations {
    steps: Vec<Compensation>,
}

impl Compensations {
    /// Registers the undo of a step *before* the step runs: if the step's outcome is unknown
    /// (a timeout after the service acted), the undo still runs. Undos are safe to run for
    /// steps that never happened (the services treat them as no-ops that block late arrivals).
    pub fn push(&mut self, compensation: Compensation) {
        self.steps.push(compensation);
    }

    /// Drops the newest undo when its step certainly did nothing (the service refused it).
    pub fn forget_last(&mut self) {
        self.steps.pop();
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs every compensation once, newest first. Each is retried until it succeeds
    /// (`until_it_succeeds`) and is idempotent on the service side, so "exactly once" holds
    /// even when an attempt times out after the service acted. They run on a cancellation
    /// token of their own: cancelling the order is a reason to undo, not to stop undoing.
    pub async fn run(self, ctx: &WorkflowContext<OrderWorkflow>, input: &OrderInput, reason: &str) {
        let options = |task_queue: &str| {
            // Refunds and releases are quick calls; 10 s per attempt leaves room for a slow
            // service, and the unlimited retry policy covers outages.
            ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
                .task_queue(task_queue.to_owned())
                .retry_policy(retry_policies::until_it_succeeds())
                .cancellation_token(WorkflowCancellationToken::new())
                .build()
        };
        let workflow_id = ctx.workflow_id().to_owned();
        for compensation in self.steps.into_iter().rev() {
            let outcome = match compensation {
                Compensation::RefundPayment { charge_idempotency_key } => {
                    let request = RefundRequest {
                        idempotency_key: format!("{workflow_id}:refund"),
                        charge_idempotency_key,
                        order_id: input.order_id.clone(),
                        reason: reason.to_owned(),
                    };
                    let options = options(&input.settings.payments_task_queue);
                    match ctx.execute_activity(PaymentActivities::refund, request, options).await {
                        Ok(refund) if refund.charge_id.is_none() => {
                            Ok(format!("no charge to refund; charge voided ({})", refund.refund_id))
                        }
                        Ok(refund) => {
                            let note = format!("refunded {} cents ({})", refund.amount_cents, refund.refund_id);
                            ctx.state_mut(|s| s.snapshot.refund_id = Some(refund.refund_id));
                            Ok(note)
                        }
                        Err(error) => Err(format!("refund failed for good: {error}")),
                    }
                }
                Compensation::CancelShipment { order_id } => {
                    let request = CancelShipmentRequest { order_id, reason: reason.to_owned() };
                    let options = options(&input.settings.activity_task_queue);
                    match ctx.execute_activity(ShippingActivities::cancel_shipment, request, options).await {
                        Ok(cancelled) if cancelled.booked => {
                            Ok(format!("cancelled the carrier booking ({})", cancelled.shipment_id))
                        }
                        Ok(_) => Ok("no carrier booking to cancel; a late one will be refused".to_owned()),
                        Err(error) => Err(format!("cancelling the shipment failed for good: {error}")),
                    }
                }
                Compensation::ReleaseStock { reservation_id } => {
                    let request = ReleaseStockRequest { reservation_id: reservation_id.clone() };
                    let options = options(&input.settings.activity_task_queue);
                    match ctx.execute_activity(InventoryActivities::release_stock, request, options).await {
                        Ok(_) => Ok(format!("released reservation {reservation_id}")),
                        Err(error) => Err(format!("release of {reservation_id} failed for good: {error}")),
                    }
                }
            };
            match outcome {
                Ok(note) => OrderWorkflow::note(ctx, note),
                Err(problem) => {
                    OrderWorkflow::note(ctx, problem.clone());
                    ctx.state_mut(|s| s.snapshot.unresolved.push(problem));
                }
            }
        }
    }
}
