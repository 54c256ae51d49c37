//! Inventory service: the catalog, stock levels and reservations (HTTP, owns `inventory_*`).

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "inventory";

/// Migrates the inventory tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Inventory).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), Some(edge)), addr, shutdown).await
}
