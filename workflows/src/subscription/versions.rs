//! The other stages of `SubscriptionWorkflow`, kept for the replay tests and `docs/day-09.md`.
//! Each registers under the same workflow type name; a worker registers only one of them.
//!
//! | stage | code | renewal step |
//! |---|---|---|
//! | 1 | [`SubscriptionWorkflowV1`] | charge |
//! | 2 | `SubscriptionWorkflow` (deployed) | charge, then `if ctx.patched(RECEIPT_PATCH)` send a receipt |
//! | 3 | [`SubscriptionWorkflowV3`] | charge, `ctx.deprecate_patch(RECEIPT_PATCH)`, send a receipt |
//!
//! Stage 2 replays histories of all three stages. Stage 3 may only be deployed once no run
//! that started under stage 1 is left: it cannot replay their histories (the replay tests
//! prove both). The handlers are the same in every stage.

use super::model::{CancelRequest, PaymentMethod, PlanChange, SubscriptionInput, SubscriptionState, SubscriptionView};
use super::renewal::{self, Ending, HasSubscription, Receipts};
use crate::order::SignalPayload;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
    WorkflowTermination,
};

type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Stage 1: the original renewal step, before receipts existed.
#[workflow]
pub struct SubscriptionWorkflowV1 {
    input: SubscriptionInput,
    state: SubscriptionState,
}

/// Stage 3: receipts always, the patch deprecated.
#[workflow]
pub struct SubscriptionWorkflowV3 {
    input: SubscriptionInput,
    state: SubscriptionState,
}

impl HasSubscription for SubscriptionWorkflowV1 {
    fn subscription(&self) -> &SubscriptionState {
        &self.state
    }
    fn subscription_mut(&mut self) -> &mut SubscriptionState {
        &mut self.state
    }
}

impl HasSubscription for SubscriptionWorkflowV3 {
    fn subscription(&self) -> &SubscriptionState {
        &self.state
    }
    fn subscription_mut(&mut self) -> &mut SubscriptionState {
        &mut self.state
    }
}

#[workflow_methods]
impl SubscriptionWorkflowV1 {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: SubscriptionInput) -> Self {
        let state = SubscriptionState::new(&input);
        Self { input, state }
    }

    #[run(name = "SubscriptionWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SubscriptionView> {
        let input = ctx.state(|s| s.input.clone());
        match renewal::run(ctx, &input, Receipts::Never).await {
            Ending::Over => Ok(ctx.state(|s| s.state.view(&input.subscription_id))),
            Ending::Cancelled => Err(WorkflowTermination::cancelled()),
            Ending::ContinueAsNew(next) => match ctx.continue_as_new(*next, ContinueAsNewOptions::default())? {},
        }
    }

    #[query(name = "status")]
    pub fn status(&self, _ctx: &WorkflowContextView) -> SubscriptionView {
        self.state.view(&self.input.subscription_id)
    }

    #[signal(name = "cancel")]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, request: SignalPayload<CancelRequest>) {
        self.state.request_cancel(request);
    }

    #[signal(name = "update_payment_method")]
    pub fn update_payment_method(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        method: SignalPayload<PaymentMethod>,
    ) {
        self.state.update_card(method);
    }

    #[update_validator(change_plan)]
    fn validate_change_plan(&self, _ctx: &WorkflowContextView, change: &PlanChange) -> Result<(), HandlerError> {
        self.state.plan_change_refusal(&change.plan).map_or(Ok(()), |refusal| Err(refusal.into()))
    }

    #[update(name = "change_plan")]
    pub fn change_plan(&mut self, _ctx: &mut SyncWorkflowContext<Self>, change: PlanChange) -> SubscriptionView {
        self.state.change_plan(change.plan);
        self.state.view(&self.input.subscription_id)
    }
}

#[workflow_methods]
impl SubscriptionWorkflowV3 {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: SubscriptionInput) -> Self {
        let state = SubscriptionState::new(&input);
        Self { input, state }
    }

    #[run(name = "SubscriptionWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SubscriptionView> {
        let input = ctx.state(|s| s.input.clone());
        match renewal::run(ctx, &input, Receipts::Deprecated).await {
            Ending::Over => Ok(ctx.state(|s| s.state.view(&input.subscription_id))),
            Ending::Cancelled => Err(WorkflowTermination::cancelled()),
            Ending::ContinueAsNew(next) => match ctx.continue_as_new(*next, ContinueAsNewOptions::default())? {},
        }
    }

    #[query(name = "status")]
    pub fn status(&self, _ctx: &WorkflowContextView) -> SubscriptionView {
        self.state.view(&self.input.subscription_id)
    }

    #[signal(name = "cancel")]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, request: SignalPayload<CancelRequest>) {
        self.state.request_cancel(request);
    }

    #[signal(name = "update_payment_method")]
    pub fn update_payment_method(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        method: SignalPayload<PaymentMethod>,
    ) {
        self.state.update_card(method);
    }

    #[update_validator(change_plan)]
    fn validate_change_plan(&self, _ctx: &WorkflowContextView, change: &PlanChange) -> Result<(), HandlerError> {
        self.state.plan_change_refusal(&change.plan).map_or(Ok(()), |refusal| Err(refusal.into()))
    }

    #[update(name = "change_plan")]
    pub fn change_plan(&mut self, _ctx: &mut SyncWorkflowContext<Self>, change: PlanChange) -> SubscriptionView {
        self.state.change_plan(change.plan);
        self.state.view(&self.input.subscription_id)
    }
}
