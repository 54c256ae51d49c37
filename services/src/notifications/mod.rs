//! Notifications service: an e-mail outbox (HTTP, owns `notifications_*`). "Sending" an
//! e-mail stores it; a real deployment would have a relay drain the outbox.

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{Faults, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "notifications";

/// Migrates the notifications tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    faults: Option<Faults>,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Notifications).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), faults.as_ref()), addr, shutdown).await
}
