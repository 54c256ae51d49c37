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

use super::renewal::Receipts;
use super::stage::subscription_workflow;

subscription_workflow!(
    /// Stage 1: the original renewal step, before receipts existed.
    SubscriptionWorkflowV1,
    Receipts::Never
);

subscription_workflow!(
    /// Stage 3: receipts always, the patch deprecated.
    SubscriptionWorkflowV3,
    Receipts::Deprecated
);
