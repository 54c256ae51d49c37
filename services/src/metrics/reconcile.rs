//! What the reconcile schedule found, counted by the api that runs the comparison.

use capstone_workflows::contracts::operations::{FindingKind, ReconcileReport};
use prometheus::{IntCounterVec, IntGaugeVec, register_int_counter_vec, register_int_gauge_vec};
use std::sync::LazyLock;

static FINDINGS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_reconcile_findings_total",
        "Disagreements between the read model, the order workflows and the ledger, by kind, `repaired` or `unresolved`.",
        &["kind", "outcome"]
    )
    .expect("a valid metric")
});

static UNRESOLVED: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "capstone_reconcile_unresolved",
        "Findings the last reconcile run could not repair, by kind: each needs a person.",
        &["kind"]
    )
    .expect("a valid metric")
});

pub fn finding(kind: &str, repaired: bool) {
    FINDINGS.with_label_values(&[kind, if repaired { "repaired" } else { "unresolved" }]).inc();
}

pub fn run_finished(report: &ReconcileReport) {
    for kind in FindingKind::ALL {
        let open = report.findings.iter().filter(|finding| finding.kind == kind && !finding.repaired).count();
        UNRESOLVED.with_label_values(&[kind.as_str()]).set(open as i64);
    }
}

/// Every kind at 0 from the start, so panels and alerts see the first finding.
pub fn register() {
    for kind in FindingKind::ALL {
        for outcome in ["repaired", "unresolved"] {
            FINDINGS.with_label_values(&[kind.as_str(), outcome]);
        }
        UNRESOLVED.with_label_values(&[kind.as_str()]);
    }
}
