//! Business metrics: what the shop did, as operators ask it ("how many orders completed in the
//! last hour? how many were compensated? how long do approvals take?"). Counted where the fact
//! becomes true exactly once: at the api when a workflow starts, when the read model first
//! records an order's end, and in payments when a ledger row is new (a retried call that
//! finds its first answer is not counted again).

use capstone_workflows::order::{ApprovalState, OrderSnapshot, OrderStatus};
use prometheus::{
    Histogram, HistogramVec, IntCounterVec, register_histogram, register_histogram_vec, register_int_counter_vec,
};
use std::sync::LazyLock;

static ORDERS_STARTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_orders_started_total",
        "Orders whose workflow the api started, by region (`shared` for the shared queues).",
        &["region"]
    )
    .expect("a valid metric")
});

static ORDERS_FINISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_orders_finished_total",
        "Orders that reached a terminal status: COMPLETED, REJECTED, COMPENSATED or CANCELLED.",
        &["status"]
    )
    .expect("a valid metric")
});

static ORDER_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "capstone_order_duration_seconds",
        "From an order's start to its terminal status (workflow time), by terminal status.",
        &["status"],
        vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0]
    )
    .expect("a valid metric")
});

static APPROVALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_order_approvals_total",
        "Large orders' approval outcomes: approved, rejected, timed_out or withdrawn (cancelled while waiting).",
        &["outcome"]
    )
    .expect("a valid metric")
});

static APPROVAL_WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "capstone_order_approval_wait_seconds",
        "How long an order waited for an operator (workflow time).",
        vec![1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 4.0 * 3600.0, 12.0 * 3600.0, 86400.0]
    )
    .expect("a valid metric")
});

static LEDGER: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_payments_ledger_entries_total",
        "New ledger rows: charge, refund (a compensation) or void, by provider.",
        &["kind", "provider"]
    )
    .expect("a valid metric")
});

static LEDGER_CENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_payments_ledger_cents_total",
        "Money moved by new ledger rows, in cents, by kind.",
        &["kind"]
    )
    .expect("a valid metric")
});

static RENEWALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_subscription_renewal_charges_total",
        "Subscription renewal charges at the payments service: charged, or declined (each declined attempt is a dunning step).",
        &["outcome"]
    )
    .expect("a valid metric")
});

static BATCH_SIZE: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "capstone_batch_orders",
        "Orders per batch the api started.",
        vec![1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0]
    )
    .expect("a valid metric")
});

static SUBSCRIPTIONS_STARTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_subscriptions_started_total",
        "Subscriptions the api started, by plan.",
        &["plan"]
    )
    .expect("a valid metric")
});

/// Touches every metric, so that a fresh process shows each family (at zero) from the first
/// scrape, and dashboards draw a flat line instead of "no data".
pub fn register_all() {
    super::order_steps::register();
    super::email::register();
    super::reconcile::register();
    for status in capstone_workflows::order::OrderStatus::TERMINAL {
        ORDERS_FINISHED.with_label_values(&[status.as_str()]);
        ORDER_DURATION.with_label_values(&[status.as_str()]);
    }
    ORDERS_STARTED.with_label_values(&["shared"]);
    for outcome in ["approved", "rejected", "timed_out", "withdrawn"] {
        APPROVALS.with_label_values(&[outcome]);
    }
    LazyLock::force(&APPROVAL_WAIT);
    for kind in ["charge", "refund", "void"] {
        LEDGER_CENTS.with_label_values(&[kind]);
    }
    LazyLock::force(&LEDGER);
    LazyLock::force(&BATCH_SIZE);
    for outcome in ["charged", "declined"] {
        RENEWALS.with_label_values(&[outcome]);
    }
    LazyLock::force(&SUBSCRIPTIONS_STARTED);
}

pub fn order_started(region: &str) {
    ORDERS_STARTED.with_label_values(&[region]).inc();
}

/// Called when the read model records `snapshot` over `previous` (None: first record).
/// Counts only the change into a terminal status, so a retried record counts once.
pub fn order_recorded(previous: Option<OrderStatus>, snapshot: &OrderSnapshot) {
    if !snapshot.status.is_terminal() || previous.is_some_and(OrderStatus::is_terminal) {
        return;
    }
    let status = snapshot.status.as_str();
    ORDERS_FINISHED.with_label_values(&[status]).inc();
    let timeline = &snapshot.timeline;
    if let (Some(first), Some(last)) = (timeline.first(), timeline.last()) {
        ORDER_DURATION.with_label_values(&[status]).observe(seconds(last.at_ms - first.at_ms));
    }
    if let Some(approval) = &snapshot.approval {
        let outcome = match approval.state {
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::TimedOut => "timed_out",
            _ => "withdrawn",
        };
        APPROVALS.with_label_values(&[outcome]).inc();
        // From entering the wait to the next status, whatever ended it.
        let waited =
            timeline.iter().position(|entry| entry.status == OrderStatus::AwaitingApproval).and_then(|start| {
                let next = timeline[start..].iter().find(|entry| entry.status != OrderStatus::AwaitingApproval)?;
                Some(next.at_ms - timeline[start].at_ms)
            });
        if let Some(waited) = waited {
            APPROVAL_WAIT.observe(seconds(waited));
        }
    }
}

pub fn ledger_entry(kind: &str, provider: &str, amount_cents: i64) {
    LEDGER.with_label_values(&[kind, provider]).inc();
    LEDGER_CENTS.with_label_values(&[kind]).inc_by(amount_cents.max(0) as u64);
}

/// A renewal charge answered by the payments service: `charged` (a new ledger row) or `declined`.
pub fn renewal_charge(outcome: &str) {
    RENEWALS.with_label_values(&[outcome]).inc();
}

pub fn batch_started(orders: u32) {
    BATCH_SIZE.observe(f64::from(orders));
}

pub fn subscription_started(plan: &str) {
    SUBSCRIPTIONS_STARTED.with_label_values(&[plan]).inc();
}

fn seconds(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}
