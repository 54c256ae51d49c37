//! Payments service: a simulated payment provider with a ledger (HTTP, owns `payments_*`).
//!
//! It stands in for the outside world (a card processor), so it is the one place where fakes
//! are fine: a card token starting with `tok_decline` is declined. Everything else about it
//! is real: the ledger rows, the idempotency keys, the refunds.

mod routes;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{Faults, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "payments";

/// Payment providers this service knows.
pub const PROVIDERS: [&str; 1] = ["card"];

/// Card tokens with this prefix are declined, like a test card number at a real provider.
pub const DECLINED_TOKEN_PREFIX: &str = "tok_decline";

/// Migrates the payments tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    faults: Option<Faults>,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Payments).await?;
    start_service(NAME, service_router(NAME, routes::routes(db), faults.as_ref()), addr, shutdown).await
}
