//! The shop's edge: HTTP services (axum + sqlx), the Temporal workers, and the `capstone`
//! binary that runs any of them as a role (`capstone api`, `capstone workflow-worker`, ...)
//! or all of them at once (`capstone dev`).
//!
//! Layout (one folder per service, the same files in each):
//! - `api/`, `inventory/`, `payments/`, `shipping/`, `notifications/`: `mod.rs` starts the
//!   service, `routes.rs` holds the HTTP handlers, `store.rs` the SQL of the tables it owns.
//! - `http/`: what every service shares: JSON errors, the JSON body extractor, the server.
//! - `temporal/`: connecting to Temporal and running a dev server for `dev` and the tests.
//! - `workers/`: the workflow worker and the activity worker.
//! - `shop.rs`: every service in one process (used by `dev` and by the tests).

pub mod access_cli;
pub mod api;
#[cfg(feature = "tools")]
pub mod bench;
pub mod cli;
pub mod codec;
pub mod config;
pub mod db;
pub mod dev;
pub mod hello;
pub mod http;
pub mod ingest;
pub mod inventory;
#[cfg(feature = "tools")]
pub mod loadgen;
pub mod mail_catcher;
pub mod metrics;
pub mod migrate;
pub mod notifications;
pub mod payments;
pub mod probe;
pub mod roles;
pub mod secrets;
pub mod setup;
pub mod shipping;
pub mod shop;
pub mod shutdown;
pub mod telemetry;
pub mod temporal;
pub mod workers;

/// Milliseconds since the Unix epoch: how every table stores time (portable across SQLite
/// and PostgreSQL through sqlx's `Any` driver). The activities' clock, shared.
pub use capstone_activities::now_ms;

/// RFC 3339 rendering of a millisecond timestamp, for JSON responses.
pub fn rfc3339(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}
