//! `SubscriptionWorkflow`, as deployed: the renewal loop with the receipt change behind
//! `ctx.patched` (stage 2, see `renewal::Receipts` and `versions.rs`). Its state, handlers and
//! `run` come from [`subscription_workflow!`](super::stage): the same for every stage.

use super::renewal::Receipts;
use super::stage::subscription_workflow;

subscription_workflow!(
    /// A subscription: trial, renewals, dunning, cancellation, plan changes.
    SubscriptionWorkflow,
    Receipts::Patched
);
