//! The parcel's journey after the booking: carrier events arrive as signals, each is reported
//! to the order, and a delivery deadline (a durable timer) that passes first opens a claim
//! with the carrier and tells the customer. The journey ends when the parcel is delivered.

use super::{Journey, JourneyStep, ShipmentInput, ShipmentProgress, ShipmentWorkflow};
use crate::contracts::notifications::{NotificationActivities, SendEmailRequest};
use crate::contracts::shipping::{OpenClaimRequest, Shipment, ShippingActivities};
use crate::order::{OrderWorkflow, retry_policies};
use crate::time::now_ms;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_sdk::{
    ActivityOptions, CancellableFuture, SignalWorkflowOptions, TimerResult, WorkflowContext, workflows::select,
};

/// Where the parcel is, for the `journey` query.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct JourneyView {
    pub step: Option<JourneyStep>,
    pub claim_id: Option<String>,
    /// Carrier events taken (redeliveries not counted).
    pub events: u32,
}

enum Next {
    Event,
    DeadlineMissed,
    /// The shipment workflow itself was cancelled (by hand): the journey stops following.
    Cancelled,
}

pub(super) async fn follow(
    ctx: &WorkflowContext<ShipmentWorkflow>,
    input: &ShipmentInput,
    journey: &Journey,
    shipment: &Shipment,
) {
    report(ctx, journey, shipment, JourneyStep::Booked, None, None).await;
    let mut deadline = std::pin::pin!(ctx.timer(Duration::from_secs(journey.delivery_deadline_secs)));
    let mut claim_id: Option<String> = None;
    loop {
        let next = if claim_id.is_none() {
            select! {
                fired = deadline.as_mut() => match fired {
                    TimerResult::Fired => Next::DeadlineMissed,
                    TimerResult::Cancelled => Next::Cancelled,
                },
                waited = ctx.wait_condition(|s: &ShipmentWorkflow| !s.pending.is_empty()) =>
                    if waited.is_ok() { Next::Event } else { Next::Cancelled },
            }
        } else {
            // The claim is open: the parcel may still come; no deadline any more.
            match ctx.wait_condition(|s: &ShipmentWorkflow| !s.pending.is_empty()).await {
                Ok(()) => Next::Event,
                Err(_) => Next::Cancelled,
            }
        };
        match next {
            Next::Cancelled => return,
            Next::DeadlineMissed => {
                let claim = open_claim(ctx, input, journey).await;
                ctx.state_mut(|s| s.journey.claim_id = claim.clone());
                tell_the_customer_it_is_late(ctx, input, journey, shipment, claim.as_deref()).await;
                report(ctx, journey, shipment, JourneyStep::ClaimOpened, claim.clone(), None).await;
                claim_id = Some(claim.unwrap_or_default());
            }
            Next::Event => {
                let Some(event) = ctx.state_mut(|s| s.pending.pop_front()) else { continue };
                let step = JourneyStep::from(event.kind);
                ctx.state_mut(|s| {
                    s.journey.step = Some(step);
                    s.journey.events += 1;
                });
                report(ctx, journey, shipment, step, claim_id.clone(), event.detail.clone()).await;
                if step == JourneyStep::Delivered {
                    if claim_id.is_none() {
                        // Dropping the timer's future would leave it running on the server;
                        // cancelling it writes TimerCanceled.
                        deadline.cancel();
                    }
                    return;
                }
            }
        }
    }
}

/// Tells the order. An order that has gone (terminated by hand) cannot hear it: the journey
/// goes on regardless.
async fn report(
    ctx: &WorkflowContext<ShipmentWorkflow>,
    journey: &Journey,
    shipment: &Shipment,
    step: JourneyStep,
    claim_id: Option<String>,
    detail: Option<String>,
) {
    let progress = ShipmentProgress {
        step,
        at_ms: now_ms(ctx.workflow_time()),
        carrier: shipment.carrier.clone(),
        tracking_number: shipment.tracking_number.clone(),
        shipment_id: shipment.shipment_id.clone(),
        claim_id,
        detail,
    };
    let parent = ctx.external_workflow(journey.parent_workflow_id.clone(), None);
    let _ = parent.signal(OrderWorkflow::shipment_progress, progress, SignalWorkflowOptions::default()).await;
}

/// Opens a claim with the carrier (idempotent by order id): the claim id, or `None` if the
/// shipping service refused for good.
async fn open_claim(
    ctx: &WorkflowContext<ShipmentWorkflow>,
    input: &ShipmentInput,
    journey: &Journey,
) -> Option<String> {
    let request = OpenClaimRequest {
        order_id: input.order_id.clone(),
        reason: format!("not delivered within {} s of the booking", journey.delivery_deadline_secs),
    };
    let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
        .task_queue(input.activity_task_queue.clone())
        .retry_policy(retry_policies::until_it_succeeds())
        .build();
    ctx.execute_activity(ShippingActivities::open_claim, request, options).await.ok().map(|claim| claim.claim_id)
}

async fn tell_the_customer_it_is_late(
    ctx: &WorkflowContext<ShipmentWorkflow>,
    input: &ShipmentInput,
    journey: &Journey,
    shipment: &Shipment,
    claim_id: Option<&str>,
) {
    let email = SendEmailRequest {
        message_key: format!("{}:delivery-late", input.order_id),
        to: journey.customer_email.clone(),
        subject: format!("Order {} is late", input.order_id),
        body: format!(
            "Your parcel ({} {}) has not arrived in time. We opened claim {} with the carrier and will keep you posted.",
            shipment.carrier,
            shipment.tracking_number,
            claim_id.unwrap_or("(pending)")
        ),
    };
    let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
        .task_queue(input.activity_task_queue.clone())
        .retry_policy(retry_policies::until_it_succeeds())
        .build();
    let _ = ctx.execute_activity(NotificationActivities::send_email, email, options).await;
}
