//! Outbound HTTP metrics: every call an activity makes to one of our services, by target
//! service, method and outcome (the status code, or `error` when no answer came).

use prometheus::{
    HistogramVec, IntCounter, IntCounterVec, register_histogram_vec, register_int_counter, register_int_counter_vec,
};
use std::{sync::LazyLock, time::Duration};

static CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_http_client_requests_total",
        "HTTP calls from activities to the services, by target service, method and status (or `error`).",
        &["target", "method", "status"]
    )
    .expect("a valid metric")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "capstone_http_client_request_duration_seconds",
        "Duration of HTTP calls from activities to the services, by target service and method.",
        &["target", "method"],
        vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0]
    )
    .expect("a valid metric")
});

pub fn record_call(target: &str, method: &str, status: Option<u16>, took: Duration) {
    let status = status.map(|code| code.to_string()).unwrap_or_else(|| "error".to_owned());
    CALLS.with_label_values(&[target, method, &status]).inc();
    DURATION.with_label_values(&[target, method]).observe(took.as_secs_f64());
}

static READ_MODEL_REFUSALS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "capstone_read_model_refusals_total",
        "Order records the api refused for good (the order went on; the row needs the reconciliation)."
    )
    .expect("a valid metric")
});

/// Registers the counter at start, so that it is exported (as 0) before anything goes wrong.
pub fn register_all() {
    LazyLock::force(&READ_MODEL_REFUSALS);
}

pub fn read_model_refused() {
    READ_MODEL_REFUSALS.inc();
}
