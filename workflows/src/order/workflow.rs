//! The saga itself: a thin `run`, small named steps, and the `status` query.

use super::compensation::{Compensation, Compensations};
use super::outcome::{RootCause, Stop};
use super::{OrderInput, OrderSnapshot, OrderStatus, retry_policies};
use crate::contracts::{
    failures,
    inventory::{InventoryActivities, ReservationStatus, ReserveStockRequest},
    notifications::{NotificationActivities, SendEmailRequest},
    payments::{ChargeRequest, PaymentActivities},
    read_model::ReadModelActivities,
    shipping::Shipment,
};
use crate::shipment::{ShipmentInput, ShipmentWorkflow, shipment_workflow_id};
use std::time::{Duration, UNIX_EPOCH};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ChildWorkflowOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

#[workflow]
pub struct OrderWorkflow {
    input: OrderInput,
    pub(super) snapshot: OrderSnapshot,
}

#[workflow_methods]
impl OrderWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderInput) -> Self {
        let snapshot = OrderSnapshot::received(&input, 0);
        Self { input, snapshot }
    }

    #[run(name = "OrderWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderSnapshot> {
        let input = ctx.state(|s| s.input.clone());
        let received_at = now_ms(ctx);
        ctx.state_mut(|s| s.snapshot = OrderSnapshot::received(&input, received_at));

        let mut compensations = Compensations::default();
        match Self::fulfil(ctx, &input, &mut compensations).await {
            Ok(()) => Self::advance(ctx, OrderStatus::Completed, "order completed"),
            Err(stop) => {
                if !compensations.is_empty() {
                    Self::advance(ctx, OrderStatus::Compensating, format!("undoing: {}", stop.reason));
                    compensations.run(ctx, &input, &stop.reason).await;
                }
                ctx.state_mut(|s| s.snapshot.reason = Some(stop.reason.clone()));
                Self::advance(ctx, stop.status, stop.reason);
            }
        }
        Self::record_in_read_model(ctx, &input).await?;
        Ok(ctx.state(|s| s.snapshot.clone()))
    }

    /// The order as the saga sees it right now: status, reason and timeline.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> OrderSnapshot {
        self.snapshot.clone()
    }
}

/// The steps, in the order a customer would describe them.
impl OrderWorkflow {
    async fn fulfil(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<(), Stop> {
        Self::reserve_stock(ctx, input, compensations).await?;
        Self::charge_payment(ctx, input, compensations).await?;
        Self::ship(ctx, input).await?;
        Self::send_confirmation(ctx, input).await;
        Ok(())
    }

    async fn reserve_stock(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<(), Stop> {
        Self::advance(ctx, OrderStatus::ReservingStock, "reserving stock");
        let request = ReserveStockRequest { reservation_id: input.order_id.clone(), lines: input.stock_lines() };
        compensations.push(Compensation::ReleaseStock { reservation_id: request.reservation_id.clone() });
        // One database transaction behind a quick HTTP call: 10 s per attempt.
        let options = Self::service_call_options(input, Duration::from_secs(10));
        let reservation = match ctx.execute_activity(InventoryActivities::reserve_stock, request, options).await {
            Ok(reservation) => reservation,
            Err(error) => {
                let cause = RootCause::of(error.cause(), &error);
                if cause.is(failures::INSUFFICIENT_STOCK) || cause.is(failures::UNKNOWN_SKU) {
                    // A refusal: the service reserves all lines or none, so nothing is held.
                    compensations.forget_last();
                    return Err(Stop::rejected(format!("stock unavailable: {}", cause.message)));
                }
                return Err(Stop::compensated(format!("stock could not be reserved: {}", cause.message)));
            }
        };
        if reservation.status == ReservationStatus::Released {
            // Only possible if a release of this reservation id got there first: nothing is held.
            compensations.forget_last();
            return Err(Stop::rejected("the reservation had already been released"));
        }
        ctx.state_mut(|s| s.snapshot.reservation_id = Some(reservation.reservation_id.clone()));
        Self::note(ctx, format!("reserved stock ({})", reservation.reservation_id));
        Ok(())
    }

    async fn charge_payment(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<(), Stop> {
        Self::advance(ctx, OrderStatus::ChargingPayment, format!("charging {} cents", input.total_cents));
        // Derived from the workflow id and the step: a retried attempt, a replayed workflow or
        // a duplicated task all present the same key, and payments charges once.
        let charge_idempotency_key = format!("{}:charge", ctx.workflow_id());
        compensations.push(Compensation::RefundPayment { charge_idempotency_key: charge_idempotency_key.clone() });
        let request = ChargeRequest {
            idempotency_key: charge_idempotency_key,
            order_id: input.order_id.clone(),
            amount_cents: input.total_cents,
            provider: input.payment.provider.clone(),
            card_token: input.payment.card_token.clone(),
        };
        // Payment providers are slow: 30 s per attempt before we assume it was lost.
        let options = Self::service_call_options(input, Duration::from_secs(30));
        let charge = match ctx.execute_activity(PaymentActivities::charge, request, options).await {
            Ok(charge) => charge,
            Err(error) => {
                let cause = RootCause::of(error.cause(), &error);
                if cause.is(failures::CARD_DECLINED) {
                    // A decline moves no money: only the stock needs to go back.
                    compensations.forget_last();
                    return Err(Stop::compensated(format!("payment declined: {}", cause.message)));
                }
                return Err(Stop::compensated(format!("payment failed: {}", cause.message)));
            }
        };
        ctx.state_mut(|s| s.snapshot.charge_id = Some(charge.charge_id.clone()));
        Self::note(ctx, format!("charged {} cents ({})", charge.amount_cents, charge.charge_id));
        Ok(())
    }

    /// Shipping runs as a child workflow: it has its own history, its own retries and (in
    /// later days) its own signals from the carrier, without growing the order's history.
    async fn ship(ctx: &WorkflowContext<Self>, input: &OrderInput) -> Result<Shipment, Stop> {
        Self::advance(ctx, OrderStatus::Shipping, "booking shipment");
        let child_input = ShipmentInput {
            order_id: input.order_id.clone(),
            address: input.shipping_address.clone(),
            lines: input.stock_lines(),
            activity_task_queue: input.settings.activity_task_queue.clone(),
        };
        let options = ChildWorkflowOptions::builder().workflow_id(shipment_workflow_id(ctx.workflow_id())).build();
        let child = ctx
            .start_child_workflow(ShipmentWorkflow::run, child_input, options)
            .await
            .map_err(|error| Stop::compensated(format!("shipment could not start: {error}")))?;
        let shipment = child.result().await.map_err(|error| {
            let cause = RootCause::of(error.cause(), &error);
            Stop::compensated(format!("shipping failed: {}", cause.message))
        })?;
        ctx.state_mut(|s| {
            s.snapshot.shipment_id = Some(shipment.shipment_id.clone());
            s.snapshot.tracking_number = Some(shipment.tracking_number.clone());
        });
        Self::note(ctx, format!("shipped with {} ({})", shipment.carrier, shipment.tracking_number));
        Ok(shipment)
    }

    /// The parcel is on its way: a lost e-mail must not undo the order, so this step only
    /// retries (for up to a day) and notes a final failure instead of compensating.
    async fn send_confirmation(ctx: &WorkflowContext<Self>, input: &OrderInput) {
        Self::advance(ctx, OrderStatus::SendingConfirmation, "sending confirmation e-mail");
        let tracking = ctx.state(|s| s.snapshot.tracking_number.clone()).unwrap_or_default();
        let request = SendEmailRequest {
            message_key: format!("{}:confirmation", input.order_id),
            to: input.customer_id.clone(),
            subject: format!("Order {} is on its way", input.order_id),
            body: format!(
                "We charged {} cents and shipped your order. Tracking number: {tracking}.",
                input.total_cents
            ),
        };
        // 10 s per attempt, retried for up to a day in all.
        let options = ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: Duration::from_secs(24 * 3600),
            start_to_close: Duration::from_secs(10),
        })
        .task_queue(input.settings.activity_task_queue.clone())
        .retry_policy(retry_policies::until_it_succeeds())
        .build();
        match ctx.execute_activity(NotificationActivities::send_email, request, options).await {
            Ok(receipt) => Self::note(ctx, format!("confirmation e-mail queued ({})", receipt.message_key)),
            Err(error) => Self::note(ctx, format!("confirmation e-mail failed for good: {error}")),
        }
    }

    /// Writes the final state to the api's read model (retried until the api takes it).
    async fn record_in_read_model(ctx: &WorkflowContext<Self>, input: &OrderInput) -> WorkflowResult<()> {
        let snapshot = ctx.state(|s| s.snapshot.clone());
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.settings.activity_task_queue.clone())
            .retry_policy(retry_policies::until_it_succeeds())
            .build();
        ctx.execute_activity(ReadModelActivities::record_order, snapshot, options).await?;
        Ok(())
    }

    fn service_call_options(input: &OrderInput, start_to_close: Duration) -> ActivityOptions {
        ActivityOptions::with_start_to_close_timeout(start_to_close)
            .task_queue(input.settings.activity_task_queue.clone())
            .retry_policy(retry_policies::service_call())
            .build()
    }

    fn advance(ctx: &WorkflowContext<Self>, status: OrderStatus, note: impl Into<String>) {
        let at_ms = now_ms(ctx);
        ctx.state_mut(|s| s.snapshot.advance(status, at_ms, note));
    }

    pub(super) fn note(ctx: &WorkflowContext<Self>, note: impl Into<String>) {
        let at_ms = now_ms(ctx);
        ctx.state_mut(|s| s.snapshot.note(at_ms, note));
    }
}

/// Workflow time in milliseconds: the start time of the current workflow task, identical on
/// every replay (unlike `SystemTime::now()`).
fn now_ms<W>(ctx: &WorkflowContext<W>) -> i64 {
    ctx.workflow_time()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
