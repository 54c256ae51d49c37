//! Task queue names.
//!
//! Workflows and activities poll separate task queues so that each kind of worker can be
//! deployed and scaled on its own; payment activities get a third queue, served with
//! few slots, because the payment provider limits concurrent calls. Workflows learn their
//! activity queues from their input, so a deployment can route work elsewhere (for example
//! to per-region queues, see [`TaskQueues::for_region`]) without a code change.

use serde::{Deserialize, Serialize};

/// Polled by `capstone workflow-worker`: workflow tasks only.
pub const WORKFLOWS: &str = "orders";

/// Polled by `capstone activity-worker`: every activity but the payment ones.
pub const ACTIVITIES: &str = "order-activities";

/// Polled by `capstone activity-worker` with few slots: charges and refunds.
pub const PAYMENTS: &str = "payments";

/// Polled by `capstone workflow-worker`: subscriptions only. Their own queue because worker
/// versioning sets the versioning behaviour per worker, not per workflow type: orders are
/// pinned to the build that started them, subscriptions (which live for months) move to each
/// new build (auto-upgrade), so they are served by a worker of their own (docs/day-09.md).
pub const SUBSCRIPTIONS: &str = "subscriptions";

/// The queues one deployment (or one region of it) uses.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TaskQueues {
    pub workflows: String,
    pub activities: String,
    pub payments: String,
    /// Shared by every region: a subscription ships nothing.
    #[serde(default = "subscriptions")]
    pub subscriptions: String,
}

fn subscriptions() -> String {
    SUBSCRIPTIONS.to_owned()
}

impl Default for TaskQueues {
    fn default() -> Self {
        Self {
            workflows: WORKFLOWS.to_owned(),
            activities: ACTIVITIES.to_owned(),
            payments: PAYMENTS.to_owned(),
            subscriptions: SUBSCRIPTIONS.to_owned(),
        }
    }
}

impl TaskQueues {
    /// The queues of one region (sharding): `orders-eu`, `order-activities-eu`, `payments-eu`.
    /// Workers started with `--region eu` poll exactly these, so that region's orders run only
    /// on its own workers. `None` keeps the shared queues.
    pub fn for_region(&self, region: Option<&str>) -> Self {
        match region {
            None => self.clone(),
            Some(region) => Self {
                workflows: format!("{}-{region}", self.workflows),
                activities: format!("{}-{region}", self.activities),
                payments: format!("{}-{region}", self.payments),
                subscriptions: self.subscriptions.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_gets_its_own_three_queues() {
        let eu = TaskQueues::default().for_region(Some("eu"));
        assert_eq!(
            (eu.workflows.as_str(), eu.activities.as_str(), eu.payments.as_str()),
            ("orders-eu", "order-activities-eu", "payments-eu")
        );
        assert_eq!(TaskQueues::default().for_region(None), TaskQueues::default());
    }
}
