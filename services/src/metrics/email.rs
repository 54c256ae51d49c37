//! The e-mail relay's attempts, counted by the notifications service.

use prometheus::{IntCounterVec, register_int_counter_vec};
use std::sync::LazyLock;

static EMAILS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_emails_total",
        "Attempts to hand an outbox e-mail to the SMTP server, by outcome: `delivered`, `retried` (to be tried again) or `failed` (given up).",
        &["outcome"]
    )
    .expect("a valid metric")
});

pub fn outcome(outcome: &str) {
    EMAILS.with_label_values(&[outcome]).inc();
}

/// Every outcome at 0 from the start, so the first failure is an increase the alert sees.
pub fn register() {
    for outcome in ["delivered", "retried", "failed"] {
        EMAILS.with_label_values(&[outcome]);
    }
}
