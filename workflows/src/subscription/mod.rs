//! `SubscriptionWorkflow`: a subscription that renews for months or years.
//!
//! trial (a durable timer) -> first charge -> renew every period; a declined renewal goes
//! through dunning (retries after growing delays, or at once when the customer updates the
//! card) and ends in suspension if nothing works. `cancel` ends it at the end of the paid
//! period; `change_plan` (an update with a validator) takes effect at the next renewal.
//! Every few renewals the workflow continues as new, so no run's history grows large.
//!
//! Versioning: the renewal step changed once, in a way that changes the workflow's commands
//! (a receipt e-mail after each charge). The change is guarded by `patched(RECEIPT_PATCH)`
//! in the current code; `versions.rs` keeps the code before the change and the code after the
//! patch is deprecated, so that the replay tests can show every stage (`docs/day-09.md`).

mod model;
pub mod renewal;
mod stage;
pub mod versions;
mod workflow;

pub use model::{
    CancelRequest, PLANS, PaymentMethod, PlanChange, SubscriptionInput, SubscriptionState, SubscriptionStatus,
    SubscriptionView, plan_price, subscription_workflow_id,
};
pub use renewal::{RECEIPT_PATCH, Receipts};
pub use workflow::SubscriptionWorkflow;
