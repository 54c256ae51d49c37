//! The Temporal SDK's metrics: one Prometheus exporter per process on a loopback port the OS
//! picks, fed by every worker (through the runtime) and every client (gRPC request metrics).
//!
//! Names follow Prometheus conventions because the exporter is told so: counters end in
//! `_total`, durations are seconds with the unit in the name, all prefixed `temporal_`
//! (e.g. `temporal_workflow_task_schedule_to_start_latency_seconds_bucket`). The client's
//! request metrics have no prefix (`temporal_request_total` is not a thing; it is
//! `request_total`): the prefix is added by a runtime wrapper the client does not go through.

use std::{
    net::SocketAddr,
    sync::{Arc, LazyLock, Mutex, OnceLock},
    time::Duration,
};
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TaskQueueLabelStrategy, TelemetryOptions,
    metrics::{CoreMeter, NewAttributes, TemporalMeter},
    start_prometheus_metric_exporter,
};

struct Exporter {
    meter: Arc<dyn CoreMeter>,
    addr: SocketAddr,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();
static STARTING: Mutex<()> = Mutex::new(());

/// The process's exporter, started on first use.
///
/// Its HTTP server runs on a thread and runtime of its own for the life of the process: a task
/// spawned on the caller's runtime would die with that runtime (every `#[tokio::test]` has
/// one), while the meter, shared by all workers and clients, lives on.
fn exporter() -> anyhow::Result<&'static Exporter> {
    if let Some(exporter) = EXPORTER.get() {
        return Ok(exporter);
    }
    let _starting = STARTING.lock().map_err(|_| anyhow::anyhow!("metrics exporter lock poisoned"))?;
    if let Some(exporter) = EXPORTER.get() {
        return Ok(exporter);
    }
    let options = PrometheusExporterOptions::builder()
        .socket_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .counters_total_suffix(true)
        .unit_suffix(true)
        .use_seconds_for_durations(true)
        .build();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("sdk-metrics".to_owned()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => return drop(started_tx.send(Err(anyhow::Error::from(error)))),
        };
        runtime.block_on(async move {
            let started = start_prometheus_metric_exporter(options).map(|started| {
                let meter: Arc<dyn CoreMeter> = started.meter.clone();
                Exporter { meter, addr: started.bound_addr }
            });
            let _ = started_tx.send(started);
            std::future::pending::<()>().await
        })
    })?;
    let exporter = started_rx.recv()??;
    Ok(EXPORTER.get_or_init(|| exporter))
}

/// Telemetry options for a worker runtime: the SDK's metrics go to the process's exporter.
pub fn telemetry_options() -> anyhow::Result<TelemetryOptions> {
    Ok(TelemetryOptions::builder().metrics(exporter()?.meter.clone()).build())
}

/// The meter for a client connection's gRPC request metrics.
pub fn client_meter() -> anyhow::Result<TemporalMeter> {
    Ok(TemporalMeter::new(exporter()?.meter.clone(), NewAttributes::default(), TaskQueueLabelStrategy::UseNormal))
}

/// What the SDK's exporter answers right now; `None` when nothing in this process started it.
pub async fn scrape() -> anyhow::Result<Option<String>> {
    static CLIENT: LazyLock<reqwest::Client> =
        LazyLock::new(|| reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap_or_default());
    let Some(exporter) = EXPORTER.get() else { return Ok(None) };
    let text = CLIENT.get(format!("http://{}/metrics", exporter.addr)).send().await?.error_for_status()?.text().await?;
    Ok(Some(text))
}
