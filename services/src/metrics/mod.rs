//! Metrics: every process serves `GET /metrics` in the Prometheus text format.
//!
//! Two sources end up in one answer:
//! - the process's `prometheus` registry (the crate's default one): our HTTP server and client
//!   metrics (`http.rs`, `capstone_activities::metrics`) and the business metrics (`shop.rs`);
//! - the Temporal SDK's own metrics (`sdk.rs`): workers, pollers, slots, sticky cache,
//!   latencies, and the client's gRPC requests. The SDK keeps them in a registry of its own
//!   type that only its exporter can read, so the process runs that exporter on a loopback
//!   port and `/metrics` appends what it answers.

pub mod delivery;
pub mod email;
pub mod http;
pub mod order_steps;
pub mod reconcile;
pub mod sdk;
pub mod shop;

use axum::http::{StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, TextEncoder};

/// `GET /metrics`.
pub async fn handler() -> Response {
    match render().await {
        Ok(text) => ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => {
            tracing::warn!("rendering metrics failed: {error:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response()
        }
    }
}

/// The process's metrics, ours first, then the SDK's.
pub async fn render() -> anyhow::Result<String> {
    let mut buffer = Vec::new();
    TextEncoder::new().encode(&prometheus::gather(), &mut buffer)?;
    let mut text = String::from_utf8(buffer)?;
    if let Some(sdk) = sdk::scrape().await? {
        text.push_str(&sdk);
    }
    Ok(text)
}
