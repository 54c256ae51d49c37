//! Shipping service: books a carrier for an order, and follows the parcel (HTTP, owns
//! `shipping_*`).
//!
//! Like payments, it simulates the outside world (carriers): the carrier is chosen from the
//! destination country and the tracking number is made up. Some destinations are refused
//! (`SHIPPING_BLOCKED_COUNTRIES`, Antarctica by default): an order to one of them is charged
//! and then fails at shipping, which is how the saga's refund path is reached. The
//! carriers report where each parcel is through the webhook `POST /carrier/events`, which
//! passes each event on to the order's `ShipmentWorkflow` as a signal; with
//! `CARRIER_SIMULATOR` on, a simulated carrier sends them ([`carrier`]).

pub mod carrier;
mod journey_store;
mod routes;
mod store;
mod webhook;

use crate::{
    db::{self, Db, Owner},
    http::{BackendEdge, RunningService, service_router, start_service},
};
use std::{net::SocketAddr, sync::Arc};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "shipping";

/// Countries the carriers do not deliver to, by default.
pub const DEFAULT_BLOCKED_COUNTRIES: &str = "AQ";

/// What the shipping service needs besides its database and address.
pub struct ShippingSettings {
    /// Countries no carrier delivers to.
    pub blocked_countries: Vec<String>,
    /// Passes carrier events on to the shipment workflows.
    pub temporal: Option<temporalio_client::Client>,
    /// Runs the simulated carrier next to the service.
    pub carrier: Option<carrier::CarrierSettings>,
}

/// Migrates the shipping tables and starts serving on `addr` (and the simulated carrier, if
/// asked for).
pub async fn start(
    db: Db,
    addr: SocketAddr,
    shutdown: CancellationToken,
    edge: &BackendEdge,
    settings: ShippingSettings,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Shipping).await?;
    if let Some(temporal) = &settings.temporal {
        webhook::relay(db.clone(), temporal.clone(), shutdown.clone());
    }
    let state = routes::ShippingState {
        db: db.clone(),
        blocked_countries: Arc::new(settings.blocked_countries),
        temporal: settings.temporal,
    };
    let running =
        start_service(NAME, service_router(NAME, routes::routes(state), Some(edge)), addr, shutdown.clone()).await?;
    if let Some(carrier) = settings.carrier {
        carrier::spawn(db, running.url(), carrier, shutdown);
    }
    Ok(running)
}
