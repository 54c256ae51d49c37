//! Notifications service: an e-mail outbox (HTTP, owns `notifications_*`). "Sending" an
//! e-mail stores it; a real deployment would have a relay drain the outbox.

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "notifications";

/// Migrates the notifications tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Notifications).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), Some(edge)), addr, shutdown).await
}
