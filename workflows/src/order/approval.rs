//! The approval gate: large orders wait for an operator's decision, or for a deadline.
//!
//! Decisions arrive as signals (`approve`, `reject`: fire and forget) or as the update `decide`
//! (the caller waits for the answer, and a validator refuses bad decisions before they reach
//! the history). Both go through [`ApprovalGate::refusal`], so the rules are the same either way.

use serde::{Deserialize, Serialize};

/// Which orders need an operator, and who may decide.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ApprovalPolicy {
    /// Orders whose total is above this (in cents) wait for an operator. 0 turns approval off.
    pub threshold_cents: i64,
    /// How long an order waits for a decision before it is rejected.
    pub timeout_secs: u64,
    /// Operators who may decide.
    pub operators: Vec<String>,
}

impl ApprovalPolicy {
    pub fn requires_approval(&self, total_cents: i64) -> bool {
        self.threshold_cents > 0 && total_cents > self.threshold_cents
    }
}

/// Payload of the `approve` and `reject` signals.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OperatorDecision {
    pub operator: String,
    pub reason: String,
}

/// A signal's payload, read leniently. A signal cannot be refused: it is stored in the history
/// before the workflow sees it. If its payload did not decode into the handler's type, every
/// workflow task would fail on it, again on every retry, and the order would be stuck. So
/// the signal handlers take this instead: a well-formed payload arrives as `Valid`, anything
/// else as `Unreadable`, which the workflow notes and ignores. (Updates need no such care:
/// a payload of the wrong shape is refused before it reaches the history.)
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum SignalPayload<T> {
    Valid(T),
    Unreadable(serde_json::Value),
}

impl<T> From<T> for SignalPayload<T> {
    fn from(value: T) -> Self {
        Self::Valid(value)
    }
}

/// Payload of the `decide` update.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub approve: bool,
    pub operator: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    /// Nobody decided before the deadline.
    TimedOut,
    /// The order ended (cancelled, out of stock) before anyone decided.
    Closed,
}

/// The approval part of the `status` query.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ApprovalView {
    pub state: ApprovalState,
    /// Workflow time (ms since the epoch) after which the order is rejected.
    pub deadline_ms: i64,
    pub operator: Option<String>,
    pub reason: Option<String>,
    /// `signal` or `update`: how the decision arrived.
    pub via: Option<String>,
}

impl ApprovalView {
    pub fn pending(received_at_ms: i64, policy: &ApprovalPolicy) -> Self {
        Self {
            state: ApprovalState::Pending,
            deadline_ms: received_at_ms + (policy.timeout_secs as i64) * 1000,
            operator: None,
            reason: None,
            via: None,
        }
    }
}

/// The rules every decision must pass, signal or update.
pub struct ApprovalGate<'a> {
    pub view: Option<&'a ApprovalView>,
    pub policy: &'a ApprovalPolicy,
}

impl ApprovalGate<'_> {
    /// Why this decision cannot be taken, or `None` when it can.
    pub fn refusal(&self, operator: &str) -> Option<String> {
        let Some(view) = self.view else {
            return Some("this order does not need approval".to_owned());
        };
        match view.state {
            ApprovalState::Pending => {}
            ApprovalState::Approved | ApprovalState::Rejected => {
                return Some(format!("already decided by {}", view.operator.as_deref().unwrap_or("someone")));
            }
            ApprovalState::TimedOut => return Some("the approval deadline has passed".to_owned()),
            ApprovalState::Closed => return Some("the order no longer waits for a decision".to_owned()),
        }
        if !self.policy.operators.iter().any(|known| known == operator) {
            return Some(format!("{operator:?} is not an operator of this shop"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ApprovalPolicy {
        ApprovalPolicy { threshold_cents: 100_000, timeout_secs: 60, operators: vec!["alice".into()] }
    }

    #[test]
    fn a_malformed_signal_payload_is_kept_as_unreadable_not_an_error() {
        let good: SignalPayload<OperatorDecision> =
            serde_json::from_str(r#"{"operator": "alice", "reason": "ok"}"#).unwrap();
        assert_eq!(good, SignalPayload::Valid(OperatorDecision { operator: "alice".into(), reason: "ok".into() }));
        let bad: SignalPayload<OperatorDecision> = serde_json::from_str(r#""alice""#).unwrap();
        assert!(matches!(bad, SignalPayload::Unreadable(_)));
        let sent =
            serde_json::to_string(&SignalPayload::from(OperatorDecision { operator: "a".into(), reason: "b".into() }));
        assert_eq!(sent.unwrap(), r#"{"operator":"a","reason":"b"}"#, "a typed sender sends the plain struct");
    }

    #[test]
    fn only_orders_above_the_threshold_need_approval() {
        assert!(!policy().requires_approval(100_000));
        assert!(policy().requires_approval(100_001));
        assert!(!ApprovalPolicy { threshold_cents: 0, ..policy() }.requires_approval(i64::MAX));
    }

    #[test]
    fn the_gate_takes_one_decision_from_a_known_operator_while_pending() {
        let policy = policy();
        let mut view = ApprovalView::pending(1_000, &policy);
        assert_eq!(view.deadline_ms, 61_000);
        assert_eq!(ApprovalGate { view: Some(&view), policy: &policy }.refusal("alice"), None);
        assert!(
            ApprovalGate { view: Some(&view), policy: &policy }.refusal("mallory").unwrap().contains("not an operator")
        );
        assert!(ApprovalGate { view: None, policy: &policy }.refusal("alice").is_some());
        for (state, expected) in [
            (ApprovalState::Approved, "already decided"),
            (ApprovalState::TimedOut, "deadline has passed"),
            (ApprovalState::Closed, "no longer waits"),
        ] {
            view.state = state;
            let refusal = ApprovalGate { view: Some(&view), policy: &policy }.refusal("alice").unwrap();
            assert!(refusal.contains(expected), "{refusal}");
        }
    }
}
