//! The subscription's input, its state (carried across continue-as-new) and its rules.

use serde::{Deserialize, Serialize};

/// Plans and their price per period, in cents.
pub const PLANS: [(&str, i64); 3] = [("basic", 999), ("pro", 2999), ("team", 9999)];

pub fn plan_price(plan: &str) -> Option<i64> {
    PLANS.iter().find(|(name, _)| *name == plan).map(|(_, price)| *price)
}

pub fn subscription_workflow_id(subscription_id: &str) -> String {
    format!("subscription-{subscription_id}")
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscriptionInput {
    pub subscription_id: String,
    pub customer_id: String,
    pub plan: String,
    pub card_token: String,
    /// Length of the free trial (0: none). Seconds, so that tests can use short ones.
    pub trial_secs: u64,
    /// Length of one paid period (a month by default).
    pub period_secs: u64,
    /// Waits before each retry of a declined renewal; when they run out, the subscription is
    /// suspended.
    pub dunning_delays_secs: Vec<u64>,
    /// Renewals one run makes before it continues as new.
    pub renewals_per_run: u32,
    pub activity_task_queue: String,
    pub payments_task_queue: String,
    /// The state an earlier run handed over (continue-as-new); `None` for a new subscription.
    #[serde(default)]
    pub carried: Option<SubscriptionState>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionStatus {
    #[default]
    Trial,
    Active,
    /// A renewal was declined; dunning is retrying.
    PastDue,
    /// Dunning ran out: no more renewals (terminal).
    Suspended,
    /// Cancelled by the customer; ended at the end of the paid period (terminal).
    Cancelled,
}

/// Payload of the `cancel` signal.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelRequest {
    pub reason: String,
}

/// Payload of the `update_payment_method` signal.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    pub card_token: String,
}

/// Payload of the `change_plan` update.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub plan: String,
}

/// Everything a run knows, handed to the next run by continue-as-new.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscriptionState {
    pub status: SubscriptionStatus,
    pub plan: String,
    /// Takes effect at the next renewal.
    pub pending_plan: Option<String>,
    pub card_token: String,
    /// Bumped by every card update, so that a dunning wait can wake on it.
    pub card_version: u32,
    /// Set by `cancel`: no renewal after the current period.
    pub cancel_requested: Option<String>,
    /// Paid periods so far (the next charge is for `periods + 1`).
    pub periods: u32,
    pub charged_cents: i64,
    pub receipts_sent: u32,
    /// Workflow time (ms) of the next charge attempt.
    pub next_charge_at_ms: i64,
    /// Runs so far (each continue-as-new starts one).
    pub runs: u32,
    /// Events in the current run's history when last checked: stays small.
    pub history_length: u32,
    /// The last few things that happened, newest last.
    pub notes: Vec<String>,
}

impl SubscriptionState {
    pub fn new(input: &SubscriptionInput) -> Self {
        let mut state = input.carried.clone().unwrap_or_else(|| Self {
            status: if input.trial_secs > 0 { SubscriptionStatus::Trial } else { SubscriptionStatus::Active },
            plan: input.plan.clone(),
            card_token: input.card_token.clone(),
            ..Self::default()
        });
        state.runs += 1;
        state
    }

    pub fn is_over(&self) -> bool {
        matches!(self.status, SubscriptionStatus::Suspended | SubscriptionStatus::Cancelled)
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
        // Keep the state small: it travels through every continue-as-new.
        if self.notes.len() > 20 {
            self.notes.remove(0);
        }
    }

    /// Why `plan` cannot be chosen now, or `None` when it can.
    pub fn plan_change_refusal(&self, plan: &str) -> Option<String> {
        if plan_price(plan).is_none() {
            let known: Vec<&str> = PLANS.iter().map(|(name, _)| *name).collect();
            return Some(format!("unknown plan {plan:?}; plans are {}", known.join(", ")));
        }
        if self.is_over() || self.cancel_requested.is_some() {
            return Some("the subscription is ending".to_owned());
        }
        if self.pending_plan.as_deref().unwrap_or(&self.plan) == plan {
            return Some(format!("the subscription is already on {plan}"));
        }
        None
    }

    pub fn view(&self, subscription_id: &str) -> SubscriptionView {
        SubscriptionView { subscription_id: subscription_id.to_owned(), state: self.clone() }
    }
}

/// The `status` query's answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    pub subscription_id: String,
    #[serde(flatten)]
    pub state: SubscriptionState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_changes_are_checked() {
        let state = SubscriptionState { plan: "basic".into(), ..Default::default() };
        assert!(state.plan_change_refusal("pro").is_none());
        assert!(state.plan_change_refusal("basic").unwrap().contains("already"));
        assert!(state.plan_change_refusal("gold").unwrap().contains("unknown plan"));
        let ending = SubscriptionState { cancel_requested: Some("moving".into()), ..state };
        assert!(ending.plan_change_refusal("pro").unwrap().contains("ending"));
    }

    #[test]
    fn a_new_run_carries_the_state_and_counts_itself() {
        let input = SubscriptionInput { plan: "pro".into(), trial_secs: 10, ..Default::default() };
        let first = SubscriptionState::new(&input);
        assert_eq!((first.status, first.runs), (SubscriptionStatus::Trial, 1));
        let carried = SubscriptionInput { carried: Some(SubscriptionState { periods: 7, ..first }), ..input };
        let next = SubscriptionState::new(&carried);
        assert_eq!((next.periods, next.runs), (7, 2));
    }
}
