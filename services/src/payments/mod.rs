//! Payments service: a simulated payment provider with a ledger (HTTP, owns `payments_*`).
//!
//! It stands in for the outside world (three payment providers), so it is the one place where
//! fakes are fine: each provider's speed and refusals are simulated (see `providers.rs`).
//! Everything else about it is real: the ledger rows, the idempotency keys, the refunds.

pub mod providers;
mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "payments";

pub use providers::DECLINED_TOKEN_PREFIX;

/// Migrates the payments tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Payments).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), Some(edge)), addr, shutdown).await
}
