//! Shipping service: books a carrier for an order (HTTP, owns `shipping_*`).
//!
//! Like payments, it simulates the outside world (carriers): the carrier is chosen from the
//! destination country and the tracking number is made up.

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "shipping";

/// Migrates the shipping tables and starts serving on `addr`.
pub async fn start(db: Db, addr: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Shipping).await?;
    start_service(NAME, service_router(NAME, routes::routes(db)), addr, shutdown).await
}
