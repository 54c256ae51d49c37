//! Shipping service: books a carrier for an order (HTTP, owns `shipping_*`).
//!
//! Like payments, it simulates the outside world (carriers): the carrier is chosen from the
//! destination country and the tracking number is made up. Some destinations are refused
//! (`SHIPPING_BLOCKED_COUNTRIES`, Antarctica by default): an order to one of them is charged
//! and then fails at shipping, which is how the saga's refund path is reached (day 7).

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::{net::SocketAddr, sync::Arc};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "shipping";

/// Countries the carriers do not deliver to, by default.
pub const DEFAULT_BLOCKED_COUNTRIES: &str = "AQ";

/// Migrates the shipping tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
    blocked_countries: Vec<String>,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Shipping).await?;
    let state = routes::ShippingState { db, blocked_countries: Arc::new(blocked_countries) };
    start_service(NAME, service_router(NAME, routes::routes(state), Some(edge)), addr, shutdown).await
}
