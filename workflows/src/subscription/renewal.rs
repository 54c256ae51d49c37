//! The renewal loop, shared by every version of the subscription workflow. Versions differ
//! only in [`Receipts`]: how they treat the one change the renewal step has had.

use super::model::{SubscriptionInput, SubscriptionState, SubscriptionStatus, plan_price};
use crate::contracts::{
    notifications::{NotificationActivities, SendEmailRequest},
    payments::{ChargePurpose, ChargeRequest, PaymentActivities},
};
use crate::order::{SignalPayload, retry_policies};
use crate::time::now_ms;
use std::time::Duration;
use temporalio_sdk::{ActivityOptions, CancellableFuture, TimerResult, WorkflowContext, workflows::select};

/// The patch that added a receipt e-mail after each successful charge.
pub const RECEIPT_PATCH: &str = "receipt-email";

/// Where a version of the workflow stands on [`RECEIPT_PATCH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipts {
    /// Before the change: no receipts (`versions::SubscriptionWorkflowV1`).
    Never,
    /// The change behind `ctx.patched`: receipts for runs that reach this code fresh, the old
    /// path for histories recorded before it (the current `SubscriptionWorkflow`).
    Patched,
    /// `ctx.deprecate_patch`: receipts always; only safe once no run from before the change
    /// is left (`versions::SubscriptionWorkflowV3`).
    Deprecated,
    /// The mistake: the same change with no patch at all. Nothing deploys this; the replay
    /// tests use it to show that it breaks the subscriptions started before the change.
    Unguarded,
}

/// Workflows whose state holds a [`SubscriptionState`].
pub trait HasSubscription {
    fn subscription(&self) -> &SubscriptionState;
    fn subscription_mut(&mut self) -> &mut SubscriptionState;
}

/// How a run of the loop ends.
pub enum Ending {
    /// Cancelled or suspended: the workflow completes.
    Over,
    /// Enough renewals for one history: continue as new with this input.
    ContinueAsNew(Box<SubscriptionInput>),
    /// The workflow itself was cancelled (Temporal cancellation).
    Cancelled,
}

fn update<W: HasSubscription, R>(ctx: &WorkflowContext<W>, change: impl FnOnce(&mut SubscriptionState) -> R) -> R {
    ctx.state_mut(|w| change(w.subscription_mut()))
}

fn read<W: HasSubscription, R>(ctx: &WorkflowContext<W>, look: impl FnOnce(&SubscriptionState) -> R) -> R {
    ctx.state(|w| look(w.subscription()))
}

pub async fn run<W: HasSubscription>(
    ctx: &WorkflowContext<W>,
    input: &SubscriptionInput,
    receipts: Receipts,
) -> Ending {
    if read(ctx, |s| s.status == SubscriptionStatus::Trial) {
        let trial = Duration::from_secs(input.trial_secs);
        let ends = now_ms(ctx.workflow_time()) + trial.as_millis() as i64;
        update(ctx, |s| {
            s.next_charge_at_ms = ends;
            s.note(format!("trial of {} s", input.trial_secs));
        });
        // A durable timer: the trial may last weeks; no worker waits for it.
        if ctx.timer(trial).await == TimerResult::Cancelled {
            return Ending::Cancelled;
        }
        update(ctx, |s| s.status = SubscriptionStatus::Active);
    }
    let mut renewals_this_run = 0;
    loop {
        if let Some(reason) = read(ctx, |s| s.cancel_requested.clone()) {
            update(ctx, |s| {
                s.status = SubscriptionStatus::Cancelled;
                s.note(format!("cancelled at the end of the period: {reason}"));
            });
            return Ending::Over;
        }
        update(ctx, |s| {
            if let Some(plan) = s.pending_plan.take() {
                s.note(format!("plan changed from {} to {plan}", s.plan));
                s.plan = plan;
            }
        });
        match charge_period(ctx, input).await {
            Charged::Yes => {}
            Charged::No => return Ending::Over,
            Charged::Cancelled => return Ending::Cancelled,
        }
        send_receipt(ctx, input, receipts).await;

        // Sleep through the paid period. `cancel` does not cut it short: the customer paid
        // for it. The next iteration sees the request and ends the subscription.
        let period = Duration::from_secs(input.period_secs);
        update(ctx, |s| s.next_charge_at_ms = now_ms(ctx.workflow_time()) + period.as_millis() as i64);
        if ctx.timer(period).await == TimerResult::Cancelled {
            return Ending::Cancelled;
        }
        renewals_this_run += 1;
        let history_length = ctx.history_length();
        update(ctx, |s| s.history_length = history_length);
        if renewals_this_run >= input.renewals_per_run.max(1) || ctx.continue_as_new_suggested() {
            let carried = read(ctx, Clone::clone);
            return Ending::ContinueAsNew(Box::new(SubscriptionInput { carried: Some(carried), ..input.clone() }));
        }
    }
}

enum Charged {
    Yes,
    No,
    Cancelled,
}

/// Charges the next period; on a failure, dunning: wait, retry, and suspend when the waits
/// run out. A card update ends a wait early.
async fn charge_period<W: HasSubscription>(ctx: &WorkflowContext<W>, input: &SubscriptionInput) -> Charged {
    let period = read(ctx, |s| s.periods + 1);
    // One key per period, across dunning retries: a period is charged at most once.
    let idempotency_key = format!("{}:period-{period}", ctx.workflow_id());
    let mut delays = input.dunning_delays_secs.iter();
    loop {
        let (plan, card_token, card_version) = read(ctx, |s| (s.plan.clone(), s.card_token.clone(), s.card_version));
        let amount = plan_price(&plan).unwrap_or_default();
        let request = ChargeRequest {
            idempotency_key: idempotency_key.clone(),
            order_id: input.subscription_id.clone(),
            amount_cents: amount,
            provider: "card".to_owned(),
            card_token,
            purpose: ChargePurpose::SubscriptionRenewal,
        };
        // As for an order's charge: 30 s per attempt, heartbeats, the payments queue.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
            .heartbeat_timeout(Duration::from_secs(5))
            .task_queue(input.payments_task_queue.clone())
            .retry_policy(retry_policies::service_call())
            .build();
        let failure = match ctx.execute_activity(PaymentActivities::charge, request, options).await {
            Ok(charge) => {
                update(ctx, |s| {
                    s.periods = period;
                    s.charged_cents += charge.amount_cents;
                    s.status = SubscriptionStatus::Active;
                    s.note(format!(
                        "period {period} charged: {} cents on {plan} ({})",
                        charge.amount_cents, charge.charge_id
                    ));
                });
                return Charged::Yes;
            }
            Err(_) if ctx.cancellation_token().is_cancelled() => return Charged::Cancelled,
            Err(error) => crate::order::RootCause::of(error.cause(), &error).message,
        };
        let Some(delay) = delays.next() else {
            update(ctx, |s| {
                s.status = SubscriptionStatus::Suspended;
                s.note(format!("suspended: period {period} could not be charged ({failure})"));
            });
            return Charged::No;
        };
        let wait = Duration::from_secs(*delay);
        update(ctx, |s| {
            s.status = SubscriptionStatus::PastDue;
            s.next_charge_at_ms = now_ms(ctx.workflow_time()) + wait.as_millis() as i64;
            s.note(format!("period {period} not charged ({failure}); retrying in {delay} s"));
        });
        let mut retry_at = std::pin::pin!(ctx.timer(wait));
        let woken_by_card = select! {
            fired = retry_at.as_mut() => {
                if fired == TimerResult::Cancelled {
                    return Charged::Cancelled;
                }
                false
            }
            // A new card, or a cancellation, ends the wait early.
            changed = ctx.wait_condition(|w: &W| {
                w.subscription().card_version != card_version || w.subscription().cancel_requested.is_some()
            }) => changed.is_ok(),
        };
        if woken_by_card {
            retry_at.cancel();
        }
        if ctx.cancellation_token().is_cancelled() {
            return Charged::Cancelled;
        }
        if read(ctx, |s| s.cancel_requested.is_some()) {
            update(ctx, |s| {
                s.status = SubscriptionStatus::Cancelled;
                s.note("cancelled while a renewal was past due");
            });
            return Charged::No;
        }
    }
}

async fn send_receipt<W: HasSubscription>(ctx: &WorkflowContext<W>, input: &SubscriptionInput, receipts: Receipts) {
    let send = match receipts {
        Receipts::Never => false,
        // Writes a marker into the history the first time this code runs; a history
        // recorded before the change has no marker, so replaying it takes the old path.
        Receipts::Patched => ctx.patched(RECEIPT_PATCH),
        Receipts::Deprecated => {
            ctx.deprecate_patch(RECEIPT_PATCH);
            true
        }
        Receipts::Unguarded => true,
    };
    if !send {
        return;
    }
    let (period, plan) = read(ctx, |s| (s.periods, s.plan.clone()));
    let request = SendEmailRequest {
        message_key: format!("{}:receipt-{period}", input.subscription_id),
        to: input.customer_id.clone(),
        subject: format!("Receipt for period {period} of your {plan} subscription"),
        body: format!("We charged {} cents.", plan_price(&plan).unwrap_or_default()),
    };
    let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
        .task_queue(input.activity_task_queue.clone())
        .retry_policy(retry_policies::until_it_succeeds())
        .build();
    if ctx.execute_activity(NotificationActivities::send_email, request, options).await.is_ok() {
        update(ctx, |s| s.receipts_sent += 1);
    }
}

/// The message handlers every version shares.
impl SubscriptionState {
    pub fn request_cancel(&mut self, payload: SignalPayload<super::CancelRequest>) {
        match payload {
            SignalPayload::Valid(request) if !self.is_over() => {
                self.note(format!("cancellation requested: {}", request.reason));
                self.cancel_requested = Some(request.reason);
            }
            SignalPayload::Valid(_) => self.note("cancellation ignored: the subscription has ended"),
            SignalPayload::Unreadable(raw) => {
                self.note(format!("ignored a cancel signal that is not {{reason}}: {raw}"))
            }
        }
    }

    pub fn update_card(&mut self, payload: SignalPayload<super::PaymentMethod>) {
        match payload {
            SignalPayload::Valid(method) if !method.card_token.is_empty() => {
                self.card_token = method.card_token;
                self.card_version += 1;
                self.note("payment method updated");
            }
            other => self.note(format!("ignored a payment method update without a card token: {other:?}")),
        }
    }

    pub fn change_plan(&mut self, plan: String) {
        self.note(format!("plan {plan} from the next renewal"));
        self.pending_plan = Some(plan);
    }
}
