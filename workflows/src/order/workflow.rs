//! `OrderWorkflow`: its state, its thin `run`, and its message handlers (query, signals,
//! updates). The steps themselves are in `steps.rs`.

use super::approval::{ApprovalGate, ApprovalState, Decision, OperatorDecision, SignalPayload};
use super::checkout::{self, CheckoutAnswer, CheckoutRequest};
use super::compensation::Compensations;
use super::patches::OUTCOME_NOTICE_PATCH;
use super::{DeliveryView, OrderInput, OrderSnapshot, OrderStatus, visibility};
use crate::contracts::Address;
use crate::shipment::ShipmentProgress;
use temporalio_common::MemoValue;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    SyncWorkflowContext, WaitConditionOptions, WorkflowCancellationToken, WorkflowContext, WorkflowContextView,
    WorkflowResult, WorkflowTermination,
};

/// Signal and update names, as clients (the api, `temporal workflow signal`) use them.
pub mod messages {
    pub const APPROVE: &str = "approve";
    pub const REJECT: &str = "reject";
    pub const DECIDE: &str = "decide";
    pub const CHANGE_ADDRESS: &str = "change_address";
    pub const STATUS: &str = "status";
    pub const SHIPMENT_PROGRESS: &str = "shipment_progress";
    pub const CHECKOUT: &str = "checkout";
}

type HandlerError = Box<dyn std::error::Error + Send + Sync>;

#[workflow]
pub struct OrderWorkflow {
    pub(super) input: OrderInput,
    pub(super) snapshot: OrderSnapshot,
    /// Set when the shipment child is about to start: from then on the address is final and a
    /// cancellation request is too late.
    pub(super) shipping_started: bool,
    /// The inventory's refusal, when the stock was not there (for the checkout update).
    pub(super) out_of_stock: Option<String>,
}

#[workflow_methods]
impl OrderWorkflow {
    #[init]
    pub fn new(ctx: &WorkflowContextView, input: OrderInput) -> Self {
        // The start time is in the history (WorkflowExecutionStarted): deterministic.
        let snapshot = OrderSnapshot::received(&input, now_ms(ctx.start_time()));
        Self { input, snapshot, shipping_started: false, out_of_stock: None }
    }

    #[run(name = "OrderWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderSnapshot> {
        let input = ctx.state(|s| s.input.clone());
        let mut compensations = Compensations::default();
        match Self::fulfil(ctx, &input, &mut compensations).await {
            Ok(()) => {
                if ctx.cancellation_token().is_cancelled() {
                    Self::note(
                        ctx,
                        "a cancellation arrived after shipping had started: too late, the order goes ahead",
                    );
                }
                Self::advance(ctx, OrderStatus::Completed, "order completed");
            }
            Err(stop) => {
                Self::close_approval(ctx);
                if !compensations.is_empty() {
                    Self::advance(ctx, OrderStatus::Compensating, format!("undoing: {}", stop.reason));
                    compensations.run(ctx, &input, &stop.reason).await;
                }
                ctx.state_mut(|s| s.snapshot.reason = Some(stop.reason.clone()));
                Self::advance(ctx, stop.status, stop.reason);
                // Added after orders had run without it: the marker this writes in the history
                // keeps those orders replaying (their histories have no e-mail here).
                if ctx.patched(OUTCOME_NOTICE_PATCH) {
                    Self::send_outcome_notice(ctx, &input).await;
                }
            }
        }
        Self::record_in_read_model(ctx, &input).await;
        let snapshot = ctx.state(|s| s.snapshot.clone());
        if snapshot.status == OrderStatus::Cancelled {
            // Ends the execution as Canceled on the server, after everything was undone.
            return Err(WorkflowTermination::cancelled());
        }
        Ok(snapshot)
    }

    /// Refuses a checkout whose request is not the one that placed the order (a reused
    /// `Idempotency-Key`): nothing is written to the history.
    #[update_validator(checkout)]
    fn validate_checkout(&self, _ctx: &WorkflowContextView, request: &CheckoutRequest) -> Result<(), HandlerError> {
        match checkout::refusal(&self.input.request_fingerprint, request) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Update-with-start's update (`POST /orders`): returns once the reservation has an
    /// outcome. It waits on a token of its own, so a cancelled order still answers (with the
    /// status it ends in) instead of failing the caller's request.
    #[update(name = "checkout")]
    pub async fn checkout(
        ctx: &mut WorkflowContext<Self>,
        _request: CheckoutRequest,
    ) -> Result<CheckoutAnswer, HandlerError> {
        let options = WaitConditionOptions::builder().cancellation_token(WorkflowCancellationToken::new()).build();
        ctx.wait_condition_with_options(|s: &Self| checkout::settled(&s.snapshot, &s.out_of_stock), options).await?;
        Ok(ctx.state(|s| checkout::answer(&s.snapshot, &s.out_of_stock)))
    }

    /// The shipment child reports where the parcel is (day 6 and day 8): booked, dispatched,
    /// out for delivery, a failed attempt, a claim, delivered. Noted in the timeline; the saga
    /// moves the status itself (`SHIPPED`, then `COMPLETED` once delivered).
    #[signal(name = "shipment_progress")]
    pub fn shipment_progress(&mut self, ctx: &mut SyncWorkflowContext<Self>, progress: ShipmentProgress) {
        let at_ms = now_ms(ctx.workflow_time());
        self.snapshot.note(at_ms, progress.step.describe(&progress));
        let claim_id = progress.claim_id.clone().or_else(|| self.snapshot.delivery.as_ref()?.claim_id.clone());
        self.snapshot.shipment_id.get_or_insert_with(|| progress.shipment_id.clone());
        self.snapshot.tracking_number.get_or_insert_with(|| progress.tracking_number.clone());
        self.snapshot.delivery = Some(DeliveryView {
            step: progress.step,
            carrier: progress.carrier,
            tracking_number: progress.tracking_number,
            claim_id,
            updated_at_ms: progress.at_ms,
        });
    }

    /// The order as the saga sees it right now: status, reason, approval, timeline.
    #[query(name = "status")]
    pub fn status(&self, _ctx: &WorkflowContextView) -> OrderSnapshot {
        self.snapshot.clone()
    }

    /// An operator approves (fire and forget). An invalid decision is ignored and noted in the
    /// timeline: a signal cannot be refused, which is why the api uses the `decide` update.
    #[signal(name = "approve")]
    pub fn approve(&mut self, ctx: &mut SyncWorkflowContext<Self>, decision: SignalPayload<OperatorDecision>) {
        self.take_signalled_decision(ctx, true, decision);
    }

    /// An operator rejects (fire and forget).
    #[signal(name = "reject")]
    pub fn reject(&mut self, ctx: &mut SyncWorkflowContext<Self>, decision: SignalPayload<OperatorDecision>) {
        self.take_signalled_decision(ctx, false, decision);
    }

    /// Refuses a decision before it is written to history: unknown operator, no approval
    /// needed, already decided, or the deadline has passed.
    #[update_validator(decide)]
    fn validate_decide(&self, _ctx: &WorkflowContextView, decision: &Decision) -> Result<(), HandlerError> {
        match self.gate().refusal(&decision.operator) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// An operator approves or rejects and learns at once whether it counted.
    #[update(name = "decide")]
    pub fn decide(&mut self, ctx: &mut SyncWorkflowContext<Self>, decision: Decision) -> OrderSnapshot {
        let operator_decision = OperatorDecision { operator: decision.operator, reason: decision.reason };
        self.take_decision(ctx, decision.approve, operator_decision, "update");
        self.snapshot.clone()
    }

    /// Refuses an address change once shipping has started, after the order ended, or when
    /// the address is incomplete.
    #[update_validator(change_address)]
    fn validate_change_address(&self, _ctx: &WorkflowContextView, address: &Address) -> Result<(), HandlerError> {
        if self.shipping_started {
            return Err("too late: shipping has started".into());
        }
        if self.snapshot.status.is_terminal() || self.snapshot.status == OrderStatus::Compensating {
            return Err(format!("the order is {}", self.snapshot.status.as_str()).into());
        }
        let required = [&address.name, &address.line1, &address.city, &address.postal_code];
        if required.iter().any(|field| field.trim().is_empty()) || address.country.len() != 2 {
            return Err("name, line1, city, postal_code and a two-letter country are required".into());
        }
        Ok(())
    }

    /// Sends the parcel somewhere else (until shipping starts). Returns the new address.
    #[update(name = "change_address")]
    pub fn change_address(&mut self, ctx: &mut SyncWorkflowContext<Self>, address: Address) -> Address {
        let at_ms = now_ms(ctx.workflow_time());
        self.snapshot.note(at_ms, format!("shipping address changed to {}, {}", address.city, address.country));
        self.snapshot.shipping_address = address.clone();
        address
    }
}

/// Small helpers shared by the handlers and the steps.
impl OrderWorkflow {
    fn gate(&self) -> ApprovalGate<'_> {
        ApprovalGate { view: self.snapshot.approval.as_ref(), policy: &self.input.settings.approval }
    }

    fn take_signalled_decision(
        &mut self,
        ctx: &SyncWorkflowContext<Self>,
        approve: bool,
        payload: SignalPayload<OperatorDecision>,
    ) {
        match payload {
            SignalPayload::Valid(decision) => self.take_decision(ctx, approve, decision, "signal"),
            SignalPayload::Unreadable(raw) => {
                let at_ms = now_ms(ctx.workflow_time());
                let name = if approve { "approve" } else { "reject" };
                self.snapshot
                    .note(at_ms, format!("ignored a `{name}` signal whose payload is not {{operator, reason}}: {raw}"));
            }
        }
    }

    fn take_decision(&mut self, ctx: &SyncWorkflowContext<Self>, approve: bool, decision: OperatorDecision, via: &str) {
        let at_ms = now_ms(ctx.workflow_time());
        let verb = if approve { "approval" } else { "rejection" };
        if let Some(refusal) = self.gate().refusal(&decision.operator) {
            self.snapshot.note(at_ms, format!("ignored {verb} by {:?} ({via}): {refusal}", decision.operator));
            return;
        }
        if let Some(view) = self.snapshot.approval.as_mut() {
            view.state = if approve { ApprovalState::Approved } else { ApprovalState::Rejected };
            view.operator = Some(decision.operator.clone());
            view.reason = Some(decision.reason.clone());
            view.via = Some(via.to_owned());
        }
        self.snapshot.note(at_ms, format!("{verb} by {} ({via}): {}", decision.operator, decision.reason));
    }

    /// No more decisions once the order has left the gate, however it left.
    pub(super) fn close_approval(ctx: &WorkflowContext<Self>) {
        ctx.state_mut(|s| {
            if let Some(view) = s.snapshot.approval.as_mut()
                && view.state == ApprovalState::Pending
            {
                view.state = ApprovalState::Closed;
            }
        });
    }

    /// Moves the order to `status`: in its snapshot (what the query shows), in its search
    /// attributes (what a list query finds) and in its memo summary (what the Web UI shows).
    pub(super) fn advance(ctx: &WorkflowContext<Self>, status: OrderStatus, note: impl Into<String>) {
        let at_ms = now_ms(ctx.workflow_time());
        let (attributes, summary) = ctx.state_mut(|s| {
            s.snapshot.advance(status, at_ms, note);
            (visibility::search_attributes(&s.input, status), visibility::summary(&s.input, &s.snapshot))
        });
        ctx.upsert_search_attributes(attributes);
        // A summary that cannot be serialized is not a reason to fail the order: noted instead.
        if let Err(error) = ctx.upsert_memo([(visibility::SUMMARY_MEMO, Some(MemoValue::new(summary)))]) {
            Self::note(ctx, format!("the memo summary could not be written: {error}"));
        }
    }

    pub(super) fn note(ctx: &WorkflowContext<Self>, note: impl Into<String>) {
        let at_ms = now_ms(ctx.workflow_time());
        ctx.state_mut(|s| s.snapshot.note(at_ms, note));
    }
}

pub(super) use crate::time::now_ms;
