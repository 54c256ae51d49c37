//! What a batch is made of and what it reports.

use crate::contracts::Address;
use crate::order::{OrderInput, OrderLine, OrderSettings, OrderSnapshot, OrderStatus, PaymentDetails};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The workflow id of a batch.
pub fn batch_workflow_id(batch_id: &str) -> String {
    format!("batch-{batch_id}")
}

/// The order id of child `index`: derived, never random, so that a retried or replayed start
/// finds the same child instead of placing a second order.
pub fn child_order_id(batch_id: &str, index: u32) -> String {
    format!("{batch_id}-{index:05}")
}

/// Every child order is this order, for customer `{customer_prefix}-{index}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderTemplate {
    pub customer_prefix: String,
    /// Where every child's confirmation goes (the buyer who placed the batch).
    #[serde(default)]
    pub email: String,
    pub lines: Vec<OrderLine>,
    pub shipping_address: Address,
    pub payment: PaymentDetails,
    pub total_cents: i64,
    pub settings: OrderSettings,
}

/// When to give up on a batch: once at least `min_finished` children have finished and more
/// than `max_failure_percent` of them did not complete.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackPolicy {
    pub max_failure_percent: u32,
    pub min_finished: u32,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        Self { max_failure_percent: 50, min_finished: 10 }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BatchInput {
    pub batch_id: String,
    pub count: u32,
    pub template: OrderTemplate,
    /// Children in flight at once (the sliding window).
    pub window: u32,
    pub rollback: RollbackPolicy,
    /// Children one run starts before it continues as new, so that no run's history grows
    /// too long (about six events per child in the parent).
    pub children_per_run: u32,
    /// What earlier runs of this batch did (continue-as-new carries it over).
    #[serde(default)]
    pub progress: BatchProgress,
}

impl BatchInput {
    /// The input of child `index`.
    pub fn order(&self, index: u32) -> OrderInput {
        let template = &self.template;
        OrderInput {
            order_id: child_order_id(&self.batch_id, index),
            customer_id: format!("{}-{index}", template.customer_prefix),
            email: template.email.clone(),
            lines: template.lines.clone(),
            shipping_address: template.shipping_address.clone(),
            payment: template.payment.clone(),
            total_cents: template.total_cents,
            settings: template.settings.clone(),
            // Children are started by the batch, never checked out by a client.
            request_fingerprint: String::new(),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchState {
    #[default]
    Running,
    /// Every child finished and the failures stayed under the threshold.
    Completed,
    /// Too many children failed: no more are started, those in flight are being cancelled,
    /// and the completed ones will be refunded.
    RollingBack,
    /// The rollback is done: the completed children were refunded.
    RolledBack,
    /// The batch itself was cancelled: no more children; finished ones stay as they are.
    Cancelled,
}

/// The aggregate, as the `progress` query and the result report it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchProgress {
    pub state: BatchState,
    /// The next child to start (all children below it have been started).
    pub next_index: u32,
    pub started: u32,
    pub running: u32,
    pub finished: u32,
    /// Children that did not end `COMPLETED` (rejected, compensated, cancelled, failed).
    pub failed: u32,
    /// Finished children by terminal status (`COMPLETED`, `COMPENSATED`, ..., `FAILED`).
    pub by_status: BTreeMap<String, u32>,
    pub charged_cents: i64,
    pub refunded_cents: i64,
    /// Order ids of completed children (what a rollback refunds).
    pub completed_orders: Vec<String>,
    /// Order ids refunded by a rollback.
    pub rolled_back: Vec<String>,
    pub reason: Option<String>,
    /// The last child that failed without an order status (could not start, workflow failure).
    pub last_failure: Option<String>,
    /// Runs of this workflow id so far (continue-as-new starts a new one).
    pub runs: u32,
}

/// How one child ended, as the parent sees it.
pub(super) enum ChildOutcome {
    Finished(Box<OrderSnapshot>),
    Cancelled,
    Failed(String),
}

impl BatchProgress {
    pub(super) fn record(&mut self, order_id: &str, total_cents: i64, outcome: ChildOutcome) {
        self.running = self.running.saturating_sub(1);
        self.finished += 1;
        let status = match outcome {
            ChildOutcome::Finished(snapshot) => {
                if snapshot.charge_id.is_some() {
                    self.charged_cents += total_cents;
                }
                if snapshot.refund_id.is_some() {
                    self.refunded_cents += total_cents;
                }
                if snapshot.status == OrderStatus::Completed {
                    self.completed_orders.push(order_id.to_owned());
                }
                snapshot.status.as_str().to_owned()
            }
            ChildOutcome::Cancelled => OrderStatus::Cancelled.as_str().to_owned(),
            ChildOutcome::Failed(message) => {
                self.last_failure = Some(format!("{order_id}: {message}"));
                "FAILED".to_owned()
            }
        };
        if status != OrderStatus::Completed.as_str() {
            self.failed += 1;
        }
        *self.by_status.entry(status).or_default() += 1;
    }

    /// Whether the failures have crossed the policy's threshold.
    pub(super) fn should_roll_back(&self, policy: &RollbackPolicy) -> bool {
        self.finished >= policy.min_finished.max(1)
            && u64::from(self.failed) * 100 > u64::from(policy.max_failure_percent) * u64::from(self.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_ids_are_derived_from_the_batch_and_the_index() {
        assert_eq!(child_order_id("b1", 7), "b1-00007");
        let input = BatchInput {
            batch_id: "b1".into(),
            count: 3,
            template: OrderTemplate { customer_prefix: "bulk".into(), total_cents: 5, ..Default::default() },
            window: 2,
            rollback: RollbackPolicy::default(),
            children_per_run: 10,
            progress: BatchProgress::default(),
        };
        assert_eq!(input.order(2).order_id, "b1-00002");
        assert_eq!(input.order(2).customer_id, "bulk-2");
    }

    #[test]
    fn the_rollback_threshold_needs_enough_finished_children() {
        let policy = RollbackPolicy { max_failure_percent: 30, min_finished: 5 };
        let mut progress = BatchProgress::default();
        for _ in 0..3 {
            progress.record("x", 1, ChildOutcome::Failed("boom".into()));
        }
        assert!(!progress.should_roll_back(&policy), "3 finished is below min_finished");
        for _ in 0..4 {
            let snapshot = OrderSnapshot { status: OrderStatus::Completed, ..Default::default() };
            progress.record("y", 1, ChildOutcome::Finished(Box::new(snapshot)));
        }
        // 3 of 7 = 43 % > 30 %
        assert!(progress.should_roll_back(&policy));
        assert_eq!(progress.by_status.get("FAILED"), Some(&3));
        assert_eq!(progress.completed_orders.len(), 4);
    }
}
