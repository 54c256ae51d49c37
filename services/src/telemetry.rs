//! Logs and traces. Logs go to stderr through `tracing`; stdout is left for what a command
//! prints. Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, every `tracing` span at
//! info level or above is also an OpenTelemetry span, exported over OTLP/HTTP, and the Temporal
//! SDK's OpenTelemetry plugin (installed on every client in `temporal::connect`) adds the
//! workflow and activity spans to the same traces. `http/trace_context.rs` (inbound) and
//! `capstone_activities::trace_context` (outbound) carry the context across HTTP (W3C
//! `traceparent`).

use clap::ValueEnum;
use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use temporalio_sdk::opentelemetry::WorkflowIdGenerator;
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, layer::SubscriberExt, util::SubscriberInitExt};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The target of spans that exist for log context only and are not exported as traces.
pub const LOG_ONLY: &str = "capstone::log_only";

const DEFAULT_FILTER: &str = "info,sqlx=warn,temporalio_sdk_core=warn,temporalio_sdk=warn";

/// Flushes and stops the trace exporter when dropped (at the end of `main`).
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: flushing traces failed: {error}");
        }
    }
}

/// Installs the global subscriber (and, with `OTEL_EXPORTER_OTLP_ENDPOINT`, the OTLP trace
/// exporter). `RUST_LOG` overrides the default filter; `OTEL_SERVICE_NAME` names the process
/// in traces (default `capstone`).
pub fn init(format: LogFormat) -> TelemetryGuard {
    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => match otlp_provider() {
            Ok(provider) => Some(provider),
            Err(error) => {
                eprintln!("warning: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint} is set, but the exporter failed: {error:#}");
                None
            }
        },
        _ => None,
    };
    install(format, provider.clone(), false);
    TelemetryGuard { provider }
}

/// A tracer provider exporting over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter
/// reads the variable itself, as the OpenTelemetry spec says).
fn otlp_provider() -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    Ok(provider_builder().with_batch_exporter(exporter).build())
}

/// What every provider of ours needs: the service name, and span ids the SDK can reproduce
/// when it replays a workflow (`WorkflowIdGenerator`; other spans get random ids).
pub fn provider_builder() -> opentelemetry_sdk::trace::TracerProviderBuilder {
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "capstone".to_owned());
    SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service).build())
        .with_id_generator(WorkflowIdGenerator::default())
}

fn install(format: LogFormat, provider: Option<SdkTracerProvider>, for_tests: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let logs = match (format, for_tests) {
        (_, true) => fmt::layer().with_test_writer().with_target(false).boxed(),
        (LogFormat::Text, false) => fmt::layer().with_writer(std::io::stderr).with_target(false).boxed(),
        (LogFormat::Json, false) => fmt::layer().json().with_writer(std::io::stderr).with_target(false).boxed(),
    };
    let traces = provider.map(|provider| {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let tracer = provider.tracer("capstone");
        global::set_tracer_provider(provider);
        let exported = tracing_subscriber::filter::filter_fn(|metadata| metadata.target() != LOG_ONLY);
        tracing_opentelemetry::layer().with_tracer(tracer).with_filter(exported).boxed()
    });
    // A second init (tests that start several shops) keeps the first subscriber.
    let _ = Registry::default().with(logs).with(traces).with(filter).try_init();
}

/// For tests: logs go through the test harness, so each test shows its own logs only when it
/// fails (`cargo test -- --nocapture` shows them all).
pub fn init_for_tests() {
    install(LogFormat::Text, None, true);
}

/// For the trace test: like `init_for_tests`, with spans going to `provider`. Must come first
/// in its process (the first subscriber stays).
pub fn init_for_tests_with_traces(provider: SdkTracerProvider) {
    install(LogFormat::Text, Some(provider), true);
}
