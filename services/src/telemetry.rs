//! Logging. Logs go to stderr through `tracing`; stdout is left for what a command prints.

use clap::ValueEnum;
use tracing_subscriber::{EnvFilter, fmt};

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,temporalio_sdk_core=warn,temporalio_sdk=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A second init (tests that start several shops) keeps the first subscriber.
    let _ = result;
}

/// For tests: logs go through the test harness, so each test shows its own logs only when it
/// fails (`cargo test -- --nocapture` shows them all).
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,temporalio_sdk_core=warn,temporalio_sdk=warn"));
    let _ = fmt().with_env_filter(filter).with_test_writer().with_target(false).try_init();
}
