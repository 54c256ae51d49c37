//! The e-mails an order sends its customer: the confirmation when it completes, and a notice
//! when it ends any other way (rejected, compensated, cancelled), saying why and what became
//! of the money. One message key per order and kind, so a retried activity sends one e-mail.

use super::{OrderInput, OrderStatus, OrderWorkflow, retry_policies};
use crate::contracts::notifications::{NotificationActivities, SendEmailRequest};
use std::time::Duration;
use temporalio_sdk::{ActivityCloseTimeouts, ActivityOptions, WorkflowCancellationToken, WorkflowContext};

impl OrderWorkflow {
    /// The parcel is on its way: a lost e-mail must not undo the order, so this step only
    /// retries (for up to a day) and notes a final failure instead of compensating.
    pub(super) async fn send_confirmation(ctx: &WorkflowContext<Self>, input: &OrderInput) {
        Self::advance(ctx, OrderStatus::SendingConfirmation, "sending confirmation e-mail");
        let tracking = ctx.state(|s| s.snapshot.tracking_number.clone()).unwrap_or_default();
        let email = SendEmailRequest {
            message_key: format!("{}:confirmation", input.order_id),
            to: recipient(input),
            subject: format!("Order {} is on its way", input.order_id),
            body: format!(
                "We charged {} cents and shipped your order. Tracking number: {tracking}.",
                input.total_cents
            ),
        };
        Self::send_email(ctx, input, email, "confirmation").await;
    }

    /// The order has ended without completing: tells the customer why, and what became of
    /// the money. Sent after the compensations, so that it can say the refund is done.
    pub(super) async fn send_outcome_notice(ctx: &WorkflowContext<Self>, input: &OrderInput) {
        let (status, reason, charged, refund_id) = ctx.state(|s| {
            let snapshot = &s.snapshot;
            (snapshot.status, snapshot.reason.clone(), snapshot.charge_id.is_some(), snapshot.refund_id.clone())
        });
        let headline = match status {
            OrderStatus::Rejected => "was not accepted",
            OrderStatus::Compensated => "could not be completed",
            OrderStatus::Cancelled => "is cancelled",
            _ => return,
        };
        let money = match (charged, refund_id) {
            (false, _) => "Nothing was charged.".to_owned(),
            (true, Some(refund_id)) => {
                format!("Your payment of {} cents was refunded ({refund_id}).", input.total_cents)
            }
            // The refund failed for good: the order lists it as unresolved for a person to settle.
            (true, None) => "We are sorting out your payment and will write again.".to_owned(),
        };
        let email = SendEmailRequest {
            message_key: format!("{}:{}", input.order_id, status.as_str().to_lowercase()),
            to: recipient(input),
            subject: format!("Order {} {headline}", input.order_id),
            body: format!("Reason: {}. {money}", reason.unwrap_or_else(|| "none given".to_owned())),
        };
        Self::send_email(ctx, input, email, "notice").await;
    }

    async fn send_email(ctx: &WorkflowContext<Self>, input: &OrderInput, email: SendEmailRequest, what: &str) {
        // 10 s per attempt, retried for up to a day in all: the notifications service may be
        // down for a while, and the e-mail is worth sending late. On its own cancellation
        // token: a cancelled order still tells its customer.
        let options = ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: Duration::from_secs(24 * 3600),
            start_to_close: Duration::from_secs(10),
        })
        .task_queue(input.settings.activity_task_queue.clone())
        .retry_policy(retry_policies::until_it_succeeds())
        .cancellation_token(WorkflowCancellationToken::new())
        .build();
        match ctx.execute_activity(NotificationActivities::send_email, email, options).await {
            Ok(receipt) => Self::note(ctx, format!("{what} e-mail queued ({})", receipt.message_key)),
            Err(error) => Self::note(ctx, format!("{what} e-mail failed for good: {error}")),
        }
    }
}

/// An order started without an address (by hand, by a test) goes to its customer id.
fn recipient(input: &OrderInput) -> String {
    if input.email.is_empty() { input.customer_id.clone() } else { input.email.clone() }
}
