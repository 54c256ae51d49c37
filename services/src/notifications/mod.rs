//! Notifications service: an e-mail outbox (HTTP, owns `notifications_*`) and the relay that
//! delivers it over SMTP. `POST /emails` only queues (fast, idempotent by message key: what an
//! activity needs); the relay ([`relay`]) sends each queued message once and records the
//! server's answer.

mod relay;
mod routes;
pub mod smtp;
mod store;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "notifications";

#[derive(Debug, Clone, Default)]
pub struct NotificationsSettings {
    /// Where the relay sends the outbox; `None` keeps every e-mail `queued` (`SMTP_URL=`).
    pub smtp: Option<smtp::SmtpSettings>,
}

/// Migrates the notifications tables, starts the relay (when SMTP is set) and starts serving
/// on `addr`.
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
    settings: NotificationsSettings,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Notifications).await?;
    match settings.smtp {
        Some(smtp) => relay::start(db.clone(), smtp, shutdown.child_token())?,
        None => tracing::warn!("SMTP_URL is empty: e-mails stay queued in the outbox, none is sent"),
    }
    start_service(NAME, service_router(NAME, routes::routes(db), Some(edge)), addr, shutdown).await
}
