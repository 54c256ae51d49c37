//! Inventory service: the catalog, stock levels and reservations (HTTP, owns `inventory_*`).

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{Faults, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "inventory";

/// Migrates the inventory tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    faults: Option<Faults>,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Inventory).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), faults.as_ref()), addr, shutdown).await
}
