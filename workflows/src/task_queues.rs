//! Default task queue names.
//!
//! Workflows and activities poll separate task queues so that each kind of worker can be
//! deployed and scaled on its own (day 4). Workflows learn the activity queue from their input,
//! so a deployment can route activities elsewhere without a code change.

/// Polled by `capstone workflow-worker`: workflow tasks only.
pub const WORKFLOWS: &str = "orders";

/// Polled by `capstone activity-worker`: activity tasks only.
pub const ACTIVITIES: &str = "order-activities";
