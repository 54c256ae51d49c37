//! One macro defines every stage of the subscription workflow: the state, the handlers and a
//! `run` that hands the renewal loop its [`Receipts`](super::Receipts) stage. The stages differ
//! in nothing else, and must not: each registers as `SubscriptionWorkflow`, and the replay
//! tests feed one stage's histories to another.

macro_rules! subscription_workflow {
    ($(#[$doc:meta])* $name:ident, $receipts:expr) => {
        $(#[$doc])*
        #[temporalio_macros::workflow]
        pub struct $name {
            input: $crate::subscription::SubscriptionInput,
            state: $crate::subscription::SubscriptionState,
        }

        impl $crate::subscription::renewal::HasSubscription for $name {
            fn subscription(&self) -> &$crate::subscription::SubscriptionState {
                &self.state
            }
            fn subscription_mut(&mut self) -> &mut $crate::subscription::SubscriptionState {
                &mut self.state
            }
        }

        #[temporalio_macros::workflow_methods]
        impl $name {
            #[init]
            pub fn new(
                _ctx: &temporalio_sdk::WorkflowContextView,
                input: $crate::subscription::SubscriptionInput,
            ) -> Self {
                let state = $crate::subscription::SubscriptionState::new(&input);
                Self { input, state }
            }

            #[run(name = "SubscriptionWorkflow")]
            pub async fn run(
                ctx: &mut temporalio_sdk::WorkflowContext<Self>,
            ) -> temporalio_sdk::WorkflowResult<$crate::subscription::SubscriptionView> {
                use $crate::subscription::renewal::{self, Ending};
                let input = ctx.state(|s| s.input.clone());
                match renewal::run(ctx, &input, $receipts).await {
                    Ending::Over => Ok(ctx.state(|s| s.state.view(&input.subscription_id))),
                    Ending::Cancelled => Err(temporalio_sdk::WorkflowTermination::cancelled()),
                    Ending::ContinueAsNew(next) => {
                        match ctx.continue_as_new(*next, temporalio_sdk::ContinueAsNewOptions::default())? {}
                    }
                }
            }

            /// Plan, status, periods paid, next charge, history length of this run.
            #[query(name = "status")]
            pub fn status(&self, _ctx: &temporalio_sdk::WorkflowContextView) -> $crate::subscription::SubscriptionView {
                self.state.view(&self.input.subscription_id)
            }

            /// Ends the subscription at the end of the paid period.
            #[signal(name = "cancel")]
            pub fn cancel(
                &mut self,
                _ctx: &mut temporalio_sdk::SyncWorkflowContext<Self>,
                request: $crate::order::SignalPayload<$crate::subscription::CancelRequest>,
            ) {
                self.state.request_cancel(request);
            }

            /// A new card: a renewal that is past due is retried at once.
            #[signal(name = "update_payment_method")]
            pub fn update_payment_method(
                &mut self,
                _ctx: &mut temporalio_sdk::SyncWorkflowContext<Self>,
                method: $crate::order::SignalPayload<$crate::subscription::PaymentMethod>,
            ) {
                self.state.update_card(method);
            }

            #[update_validator(change_plan)]
            fn validate_change_plan(
                &self,
                _ctx: &temporalio_sdk::WorkflowContextView,
                change: &$crate::subscription::PlanChange,
            ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                self.state.plan_change_refusal(&change.plan).map_or(Ok(()), |refusal| Err(refusal.into()))
            }

            /// Switches plan from the next renewal on.
            #[update(name = "change_plan")]
            pub fn change_plan(
                &mut self,
                _ctx: &mut temporalio_sdk::SyncWorkflowContext<Self>,
                change: $crate::subscription::PlanChange,
            ) -> $crate::subscription::SubscriptionView {
                self.state.change_plan(change.plan);
                self.state.view(&self.input.subscription_id)
            }
        }
    };
}

pub(crate) use subscription_workflow;
