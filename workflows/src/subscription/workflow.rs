//! `SubscriptionWorkflow`, as deployed: the renewal loop with the receipt change behind
//! `ctx.patched` (see `renewal::Receipts`).

use super::model::{CancelRequest, PaymentMethod, PlanChange, SubscriptionInput, SubscriptionState, SubscriptionView};
use super::renewal::{self, Ending, HasSubscription, Receipts};
use crate::order::SignalPayload;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
    WorkflowTermination,
};

type HandlerError = Box<dyn std::error::Error + Send + Sync>;

#[workflow]
pub struct SubscriptionWorkflow {
    input: SubscriptionInput,
    state: SubscriptionState,
}

impl HasSubscription for SubscriptionWorkflow {
    fn subscription(&self) -> &SubscriptionState {
        &self.state
    }
    fn subscription_mut(&mut self) -> &mut SubscriptionState {
        &mut self.state
    }
}

#[workflow_methods]
impl SubscriptionWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: SubscriptionInput) -> Self {
        let state = SubscriptionState::new(&input);
        Self { input, state }
    }

    #[run(name = "SubscriptionWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<SubscriptionView> {
        let input = ctx.state(|s| s.input.clone());
        match renewal::run(ctx, &input, Receipts::Patched).await {
            Ending::Over => Ok(ctx.state(|s| s.state.view(&input.subscription_id))),
            Ending::Cancelled => Err(WorkflowTermination::cancelled()),
            Ending::ContinueAsNew(next) => match ctx.continue_as_new(*next, ContinueAsNewOptions::default())? {},
        }
    }

    #[query(name = "status")]
    pub fn status(&self, _ctx: &WorkflowContextView) -> SubscriptionView {
        self.state.view(&self.input.subscription_id)
    }

    /// Ends the subscription at the end of the paid period.
    #[signal(name = "cancel")]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, request: SignalPayload<CancelRequest>) {
        self.state.request_cancel(request);
    }

    /// A new card: a renewal that is past due is retried at once.
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

    /// Switches plan from the next renewal on.
    #[update(name = "change_plan")]
    pub fn change_plan(&mut self, _ctx: &mut SyncWorkflowContext<Self>, change: PlanChange) -> SubscriptionView {
        self.state.change_plan(change.plan);
        self.state.view(&self.input.subscription_id)
    }
}
