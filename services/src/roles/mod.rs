//! The roles of the `capstone` binary that run a part of the shop, one file per kind: the api
//! ([`api`]), the four backend services ([`services`]), the two workers ([`workers`]). Each
//! role reads its flags into one `Args` struct and turns them into its settings in one place;
//! `cli::run` only picks the role.

pub mod api;
pub mod services;
pub mod workers;

use crate::{
    config::DatabaseArgs,
    db::{self, Db},
    http::RunningService,
    shutdown,
};
use std::{future::Future, time::Duration};
use tokio_util::sync::CancellationToken;

/// How long a role waits for Temporal to come up before giving up.
pub(super) const TEMPORAL_PATIENCE: Duration = Duration::from_secs(60);

/// Runs a worker role's workers until SIGTERM or Ctrl-C and their drain, with the role's only
/// HTTP port (`/metrics`, `/healthz`) up from before the first poll until after the drain.
pub(super) async fn run_worker_role(
    role: &'static str,
    metrics_addr: std::net::SocketAddr,
    all: Vec<crate::workers::RunnableWorker>,
    status_interval: Duration,
) -> anyhow::Result<()> {
    let metrics_stop = CancellationToken::new();
    let router = crate::http::service_router(role, axum::Router::new(), None);
    let metrics = crate::http::start_service(role, router, metrics_addr, metrics_stop.clone()).await?;
    let outcome = crate::workers::run_all(all, shutdown::on_signals(), status_interval).await;
    metrics_stop.cancel();
    metrics.stopped().await?;
    outcome
}

/// Runs one service until SIGTERM or Ctrl-C, then lets requests in flight finish.
pub(super) async fn serve<F, Fut>(database: &DatabaseArgs, start: F) -> anyhow::Result<()>
where
    F: FnOnce(Db, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<RunningService>>,
{
    let shutdown = shutdown::on_signals();
    let db = db::connect(&database.database_url).await?;
    let service = start(db.clone(), shutdown.clone()).await?;
    shutdown.cancelled().await;
    service.stopped().await?;
    db.close().await;
    Ok(())
}
