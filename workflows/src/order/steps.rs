//! The saga's steps, in the order a customer would describe them. Each sets its own activity
//! options right where it calls, with the reasons for its timeouts.

use super::compensation::{Compensation, Compensations};
use super::outcome::{RootCause, Stop};
use super::patches::{SHIPMENT_JOURNEY_PATCH, SHIPMENT_UNDO_PATCH};
use super::workflow::now_ms;
use super::{ApprovalState, OrderInput, OrderStatus, OrderWorkflow, retry_policies};
use crate::contracts::{
    failures,
    inventory::{InventoryActivities, ReservationStatus, ReserveStockRequest},
    payments::{Charge, ChargePurpose, ChargeRequest, charge_activity_name},
    read_model::ReadModelActivities,
};
use crate::shipment::{Journey, ShipmentInput, ShipmentWorkflow, shipment_workflow_id};
use std::time::Duration;
use temporalio_common::{
    UntypedActivity,
    data_converters::{
        GenericPayloadConverter, PayloadConversionError, PayloadConverter, RawValue, SerializationContext,
        SerializationContextData,
    },
};
use temporalio_sdk::{
    ActivityOptions, CancellableFuture, ChildWorkflowOptions, TimerResult, WorkflowCancellationToken, WorkflowContext,
    workflows::select,
};

/// How the shipping step ended.
pub(super) enum Shipped {
    /// The carrier is booked; the confirmation is still to be sent (orders that do not follow
    /// their parcel, and every order from before the journey).
    Booked,
    /// Followed to the door: confirmed on the way, and delivered.
    Delivered,
}

/// What came first once the shipment child started.
enum ShipmentStarted {
    Booked,
    Ended(Result<crate::contracts::shipping::Shipment, temporalio_sdk::ChildWorkflowExecutionError>),
}

/// How the approval wait ended.
enum Waited {
    Timer(TimerResult),
    /// An operator decided.
    Decided,
    /// The workflow was cancelled while it waited.
    WaitCancelled,
}

impl OrderWorkflow {
    pub(super) async fn fulfil(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<(), Stop> {
        Self::reserve_stock(ctx, input, compensations).await?;
        Self::await_approval(ctx, input).await?;
        Self::charge_payment(ctx, input, compensations).await?;
        if let Shipped::Booked = Self::ship(ctx, input, compensations).await? {
            Self::send_confirmation(ctx, input).await;
        }
        Ok(())
    }

    async fn reserve_stock(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<(), Stop> {
        Self::advance(ctx, OrderStatus::ReservingStock, "reserving stock");
        let request = ReserveStockRequest { reservation_id: input.order_id.clone(), lines: input.stock_lines() };
        // Registered before the call: if the call's outcome is unknown (a timeout after the
        // service acted), the release still runs. Releasing what was never reserved is a no-op.
        compensations.push(Compensation::ReleaseStock { reservation_id: request.reservation_id.clone() });
        // One database transaction behind a quick HTTP call: 10 s per attempt is generous.
        let options = Self::service_call_options(&input.settings.activity_task_queue, Duration::from_secs(10));
        let reservation = match ctx.execute_activity(InventoryActivities::reserve_stock, request, options).await {
            Ok(reservation) => reservation,
            Err(error) => {
                Self::stop_if_cancelled(ctx)?;
                let cause = RootCause::of(error.cause(), &error);
                if cause.is(failures::INSUFFICIENT_STOCK) || cause.is(failures::UNKNOWN_SKU) {
                    // A refusal: the service reserves all lines or none, so nothing is held.
                    compensations.forget_last();
                    ctx.state_mut(|s| s.out_of_stock = Some(cause.message.clone()));
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
        Self::stop_if_cancelled(ctx)
    }

    /// Large orders wait here for an operator: a decision (signal or update) or the deadline
    /// (a durable timer), whichever comes first. Cancelling the workflow ends the wait too,
    /// and must not be mistaken for the deadline.
    async fn await_approval(ctx: &WorkflowContext<Self>, input: &OrderInput) -> Result<(), Stop> {
        let Some(view) = ctx.state(|s| s.snapshot.approval.clone()) else {
            return Ok(());
        };
        if view.state == ApprovalState::Pending {
            let remaining_ms = view.deadline_ms - now_ms(ctx.workflow_time());
            Self::advance(
                ctx,
                OrderStatus::AwaitingApproval,
                format!(
                    "total {} cents is above {}: waiting for an operator for up to {} s",
                    input.total_cents,
                    input.settings.approval.threshold_cents,
                    remaining_ms.max(0) / 1000
                ),
            );
            // Operators find waiting orders in the api's read model (`GET /orders?status=...`).
            Self::record_in_read_model(ctx, input).await;
            // Measured again after the record: the deadline is fixed, however long that took.
            let remaining_ms = view.deadline_ms - now_ms(ctx.workflow_time());
            let waited = if remaining_ms <= 0 {
                Waited::Timer(TimerResult::Fired)
            } else {
                let mut deadline = std::pin::pin!(ctx.timer(Duration::from_millis(remaining_ms as u64)));
                let waited = select! {
                    fired = deadline.as_mut() => Waited::Timer(fired),
                    decided = ctx.wait_condition(|s: &Self| {
                        s.snapshot.approval.as_ref().is_some_and(|a| a.state != ApprovalState::Pending)
                    }) => if decided.is_ok() { Waited::Decided } else { Waited::WaitCancelled },
                };
                if let Waited::Decided = waited {
                    // Dropping the timer's future does not cancel the timer on the server;
                    // cancelling it does (TimerCanceled in the history). A timer left running
                    // would fire for nothing later in a long-lived workflow.
                    deadline.cancel();
                }
                waited
            };
            match waited {
                // On a workflow cancel the timer resolves as cancelled: not a timeout.
                Waited::Timer(TimerResult::Cancelled) | Waited::WaitCancelled => {
                    let reason = ctx.cancellation_token().reason().filter(|reason| !reason.is_empty());
                    return Err(Stop::cancelled(match reason {
                        Some(reason) => format!("cancelled while waiting for approval: {reason}"),
                        None => "cancelled while waiting for approval".to_owned(),
                    }));
                }
                Waited::Timer(TimerResult::Fired) => {
                    let decided = ctx.state_mut(|s| {
                        let approval = s.snapshot.approval.as_mut().expect("checked above");
                        if approval.state == ApprovalState::Pending {
                            approval.state = ApprovalState::TimedOut;
                        }
                        approval.state != ApprovalState::TimedOut
                    });
                    if !decided {
                        return Err(Stop::rejected("no operator decided before the approval deadline"));
                    }
                }
                Waited::Decided => {}
            }
        }
        let view = ctx.state(|s| s.snapshot.approval.clone()).expect("checked above");
        let by = view.operator.unwrap_or_default();
        let reason = view.reason.unwrap_or_default();
        match view.state {
            ApprovalState::Approved => Ok(()),
            ApprovalState::Rejected => Err(Stop::rejected(format!("rejected by {by}: {reason}"))),
            other => Err(Stop::rejected(format!("approval ended as {other:?}"))),
        }
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
            purpose: ChargePurpose::Order,
        };
        // Payment providers are slow: 30 s per attempt. The activity heartbeats while it
        // waits, so a crashed worker is noticed after 5 s (heartbeat timeout) instead of 30.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
            .heartbeat_timeout(Duration::from_secs(5))
            .task_queue(input.settings.payments_task_queue.clone())
            .retry_policy(retry_policies::call_by_name())
            .build();
        // The provider is chosen at run time, by name: `payments.wallet.charge` for a
        // wallet order. An untyped call: the payload converter turns the request into the raw
        // input, and the raw result back into a `Charge`.
        let activity = UntypedActivity::new(charge_activity_name(&input.payment.provider));
        let converter = ctx.payload_converter().clone();
        let outcome = ctx.execute_activity(activity, RawValue::from_value(&request, &converter), options).await;
        let charge = match outcome.map(|raw| decode::<Charge>(&converter, raw)) {
            Ok(Ok(charge)) => charge,
            Ok(Err(error)) => {
                // Money may have moved: the refund stays registered.
                return Err(Stop::compensated(format!("payment answer unreadable: {error}")));
            }
            Err(error) => {
                Self::stop_if_cancelled(ctx)?;
                let cause = RootCause::of(error.cause(), &error);
                let declined = failures::DECLINES.iter().any(|decline| cause.is(decline));
                if declined || cause.is(failures::ACTIVITY_NOT_REGISTERED) {
                    // A decline, or a provider nobody offers: no money moved, only the stock
                    // needs to go back.
                    compensations.forget_last();
                    let what = if declined { "declined" } else { "provider unknown" };
                    return Err(Stop::compensated(format!("payment {what}: {}", cause.message)));
                }
                return Err(Stop::compensated(format!("payment failed: {}", cause.message)));
            }
        };
        ctx.state_mut(|s| s.snapshot.charge_id = Some(charge.charge_id.clone()));
        Self::note(ctx, format!("charged {} cents ({})", charge.amount_cents, charge.charge_id));
        Self::stop_if_cancelled(ctx)
    }

    /// Shipping runs as a child workflow: it has its own history and its own retries, without
    /// growing the order's history. From here on the order cannot be cancelled or re-addressed:
    /// the child and the steps after it run on a token of their own, so a cancellation of the
    /// order does not interrupt a booking that may already have happened.
    async fn ship(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        compensations: &mut Compensations,
    ) -> Result<Shipped, Stop> {
        let address = ctx.state_mut(|s| {
            s.shipping_started = true;
            s.snapshot.shipping_address.clone()
        });
        Self::advance(ctx, OrderStatus::Shipping, format!("booking shipment to {}, {}", address.city, address.country));
        // Registered before the child starts, like the refund before the charge: a booking
        // can succeed while every answer about it is lost (each attempt times out), and an
        // order that then gives up must call the carrier off, or the goods leave unpaid.
        let undo_registered = ctx.patched(SHIPMENT_UNDO_PATCH);
        if undo_registered {
            compensations.push(Compensation::CancelShipment { order_id: input.order_id.clone() });
        }
        // Orders that follow their parcel (their settings say so, and they started after the
        // journey was added: the patch's marker) pass the journey to the child.
        let journey = match &input.settings.delivery {
            Some(delivery) if ctx.patched(SHIPMENT_JOURNEY_PATCH) => Some(Journey {
                parent_workflow_id: ctx.workflow_id().to_owned(),
                delivery_deadline_secs: delivery.deadline_secs,
                customer_email: if input.email.is_empty() { input.customer_id.clone() } else { input.email.clone() },
            }),
            _ => None,
        };
        let follows = journey.is_some();
        let child_input = ShipmentInput {
            order_id: input.order_id.clone(),
            address,
            lines: input.stock_lines(),
            activity_task_queue: input.settings.activity_task_queue.clone(),
            journey,
        };
        let options = ChildWorkflowOptions::builder()
            .workflow_id(shipment_workflow_id(ctx.workflow_id()))
            .cancellation_token(WorkflowCancellationToken::new())
            .build();
        let child = ctx
            .start_child_workflow(ShipmentWorkflow::run, child_input, options)
            .await
            .map_err(|error| Stop::compensated(format!("shipment could not start: {error}")))?;
        let mut result = std::pin::pin!(child.result());
        let started = if follows {
            // The child reports the booking (a signal) and goes on following the parcel; it
            // only ends this early if the booking failed.
            select! {
                ended = result.as_mut() => ShipmentStarted::Ended(ended),
                _ = ctx.wait_condition(|s: &Self| s.snapshot.delivery.is_some()) => ShipmentStarted::Booked,
            }
        } else {
            ShipmentStarted::Ended(result.as_mut().await)
        };
        match started {
            ShipmentStarted::Ended(Ok(shipment)) => {
                ctx.state_mut(|s| {
                    s.snapshot.shipment_id = Some(shipment.shipment_id.clone());
                    s.snapshot.tracking_number = Some(shipment.tracking_number.clone());
                });
                Self::note(ctx, format!("shipped with {} ({})", shipment.carrier, shipment.tracking_number));
                if follows {
                    // Delivered before this order heard of the booking (its worker was away
                    // while the parcel travelled): the confirmation is still owed. Found by the
                    // fault suite, which kills the workflow worker mid-journey.
                    Self::send_confirmation(ctx, input).await;
                    return Ok(Shipped::Delivered);
                }
                Ok(Shipped::Booked)
            }
            ShipmentStarted::Ended(Err(error)) => {
                let cause = RootCause::of(error.cause(), &error);
                if undo_registered && cause.is(failures::DESTINATION_BLOCKED) {
                    // A refusal: no carrier took the parcel, so there is no booking to call off.
                    compensations.forget_last();
                }
                Err(Stop::compensated(format!("shipping failed: {}", cause.message)))
            }
            ShipmentStarted::Booked => {
                Self::follow_the_parcel(ctx, input, result).await;
                Ok(Shipped::Delivered)
            }
        }
    }

    /// Booked: the customer is told, the order waits in `SHIPPED` (and says so in the read
    /// model) until the shipment child ends with the parcel delivered. Nothing after the
    /// booking can undo the order: the goods are on their way.
    async fn follow_the_parcel(
        ctx: &WorkflowContext<Self>,
        input: &OrderInput,
        shipment: std::pin::Pin<
            &mut impl futures::future::FusedFuture<
                Output = Result<crate::contracts::shipping::Shipment, temporalio_sdk::ChildWorkflowExecutionError>,
            >,
        >,
    ) {
        Self::send_confirmation(ctx, input).await;
        Self::advance(ctx, OrderStatus::Shipped, "in the carrier's hands: following it to the door");
        // The read model hears of `SHIPPED` while the parcel travels, not before: a record the
        // api keeps refusing (a key rotation half done) must not hold the delivery up. If the
        // parcel arrives first, the order goes on, and its last record supersedes this one.
        let mut shipment = shipment;
        let mut record = std::pin::pin!(futures::FutureExt::fuse(Self::record_in_read_model(ctx, input)));
        let delivered = select! {
            _ = record.as_mut() => None,
            delivered = shipment.as_mut() => Some(delivered),
        };
        let delivered = match delivered {
            Some(delivered) => delivered,
            None => shipment.await,
        };
        match delivered {
            Ok(_) => {}
            Err(error) => {
                let cause = RootCause::of(error.cause(), &error);
                Self::note(
                    ctx,
                    format!("the shipment stopped reporting ({}); the order completes as shipped", cause.message),
                );
            }
        }
    }

    /// Writes the order's state to the api's read model (retried until the api takes it): when
    /// it starts to wait at the approval gate, and when it ends. On its own cancellation token:
    /// a cancelled order must still be recorded.
    ///
    /// It cannot fail the order: by the time of the last write the money, stock and parcel are
    /// settled, and a projection must never undo them. Outages and refused keys (a key being
    /// rotated) are retried; a record the api refuses for good is noted in the timeline, the
    /// activity worker counts it (`capstone_read_model_refusals_total`, an alert), and the
    /// reconciliation rewrites the row from the workflow.
    pub(super) async fn record_in_read_model(ctx: &WorkflowContext<Self>, input: &OrderInput) {
        let snapshot = ctx.state(|s| s.snapshot.clone());
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.settings.activity_task_queue.clone())
            .retry_policy(retry_policies::until_it_succeeds())
            .cancellation_token(WorkflowCancellationToken::new())
            .build();
        if let Err(error) = ctx.execute_activity(ReadModelActivities::record_order, snapshot, options).await {
            let cause = RootCause::of(error.cause(), &error);
            Self::note(ctx, format!("the read model refused this record: {}", cause.message));
        }
    }

    fn service_call_options(task_queue: &str, start_to_close: Duration) -> ActivityOptions {
        ActivityOptions::with_start_to_close_timeout(start_to_close)
            .task_queue(task_queue.to_owned())
            .retry_policy(retry_policies::service_call())
            .build()
    }

    /// A cancellation request ends the saga at the next step boundary (before shipping).
    fn stop_if_cancelled(ctx: &WorkflowContext<Self>) -> Result<(), Stop> {
        let token = ctx.cancellation_token();
        if token.is_cancelled() {
            let reason = token.reason().filter(|reason| !reason.is_empty()).unwrap_or_else(|| "no reason given".into());
            return Err(Stop::cancelled(format!("cancelled: {reason}")));
        }
        Ok(())
    }
}

/// Reads an untyped activity result. `RawValue::to_value` panics on a payload it cannot read;
/// a workflow must not panic on data, so this returns the error instead.
fn decode<T: serde::de::DeserializeOwned + 'static>(
    converter: &PayloadConverter,
    raw: RawValue,
) -> Result<T, PayloadConversionError> {
    let payload = raw.payloads.into_iter().next().ok_or(PayloadConversionError::WrongEncoding)?;
    converter.from_payload(&SerializationContext::new(&SerializationContextData::None, converter), payload)
}
