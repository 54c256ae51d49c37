//! Connecting to the Temporal frontend.

use crate::codec::{self, KeyRing};
use anyhow::Context;
use std::{str::FromStr, time::Duration};
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};

fn connection_options(address: &str, identity: &str) -> anyhow::Result<ConnectionOptions> {
    let url = if address.contains("://") { address.to_owned() } else { format!("http://{address}") };
    let url = Url::from_str(&url).with_context(|| format!("TEMPORAL_ADDRESS {address:?} is not host:port"))?;
    Ok(ConnectionOptions::new(url).identity(format!("{identity}@{}", std::process::id())).build())
}

/// Does a Temporal server answer at `address` right now?
pub async fn answers(address: &str) -> bool {
    let Ok(options) = connection_options(address, "capstone-probe") else { return false };
    matches!(tokio::time::timeout(Duration::from_secs(2), Connection::connect(options)).await, Ok(Ok(_)))
}

/// Connects to `address`, retrying for up to `patience` (the server may still be starting,
/// as in `docker compose up` or a Kubernetes rollout). Every payload the client (and each
/// worker built on it) sends is encrypted with `keys` (docs/day-10.md).
pub async fn connect(
    address: &str,
    namespace: &str,
    identity: &str,
    patience: Duration,
    keys: &KeyRing,
) -> anyhow::Result<Client> {
    let mut options = connection_options(address, identity)?;
    // The client's gRPC request metrics (`request_total`, `request_latency_seconds`, ...).
    options.metrics_meter = Some(crate::metrics::sdk::client_meter()?);
    let deadline = tokio::time::Instant::now() + patience;
    let mut warned = false;
    let connection = loop {
        match tokio::time::timeout(Duration::from_secs(5), Connection::connect(options.clone())).await {
            Ok(Ok(connection)) => break connection,
            outcome => {
                let error = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => "timed out".to_owned(),
                };
                if tokio::time::Instant::now() >= deadline {
                    anyhow::bail!(
                        "cannot reach Temporal at {address}: {error}\n\
                         Start one with `capstone dev` (it starts a dev server for you), or point TEMPORAL_ADDRESS at a running server."
                    );
                }
                if !warned {
                    tracing::info!("waiting for Temporal at {address} ({error})");
                    warned = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    // The OpenTelemetry plugin (the global tracer: a no-op unless telemetry.rs installed one)
    // adds StartWorkflow, RunWorkflow, StartActivity and RunActivity spans to the caller's
    // trace; workers built on this client inherit it.
    let options = ClientOptions::new(namespace)
        .data_converter(codec::data_converter(keys))
        .plugin(temporalio_sdk::opentelemetry::OpenTelemetryPlugin::builder().build())
        .build();
    Ok(Client::new(connection, options)?)
}
