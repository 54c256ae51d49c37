//! How long each step of `POST /orders` takes inside the api: the catalog lookup, the
//! read-model insert, the workflow start. The HTTP latency says how long the whole request
//! took; this says where the time went (`capstone bench` reads it to explain the p99).

use prometheus::{HistogramVec, register_histogram_vec};
use std::{future::Future, sync::LazyLock, time::Instant};

/// Fine buckets: the steps take milliseconds, and the p99 we care about is tens of them.
static STEP_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "capstone_api_order_step_seconds",
        "Time spent in each step of POST /orders: catalog, read_model, start_workflow.",
        &["step"],
        vec![
            0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0
        ]
    )
    .expect("a valid metric")
});

pub const STEPS: [&str; 3] = ["catalog", "read_model", "start_workflow"];

/// Runs `step` and records how long it took.
pub async fn timed<T>(step: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let outcome = work.await;
    STEP_SECONDS.with_label_values(&[step]).observe(started.elapsed().as_secs_f64());
    outcome
}

/// Makes every step's series exist from the start (at 0).
pub fn register() {
    for step in STEPS {
        STEP_SECONDS.with_label_values(&[step]);
    }
}
