//! The api service: the shop's public HTTP API (HTTP, owns `api_*`).
//!
//! It validates orders, prices them from the inventory's catalog, starts one `OrderWorkflow`
//! per order, answers order status from the workflow (a query) while it runs and from its
//! read model once it has finished.

mod access;
mod actions;
pub mod api_keys;
mod batches;
mod console;
mod courier;
mod create_order;
mod faults;
mod idempotent_start;
pub mod limits;
mod operations;
mod order_changes;
mod order_list;
mod read_model;
mod routes;
mod subscriptions;
mod validation;
#[cfg(test)]
mod validation_props;
pub mod views;

pub use subscriptions::SubscriptionSettings;
pub use validation::{validate_customer_id, validate_key};

use crate::{
    codec::EncryptionCodec,
    db::{self, Db, Owner},
    http::{RunningService, service_router, start_service},
};
use capstone_workflows::{
    order::{ApprovalPolicy, OrderSettings},
    task_queues::TaskQueues,
};
use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};
use temporalio_client::Client;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "api";

/// Where the api sends work, what it puts into each order, and where it points people.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The shared task queues (orders to unmapped countries run here).
    pub task_queues: TaskQueues,
    /// Shipping country -> region: orders to these countries run on that region's queues.
    pub region_routes: BTreeMap<String, String>,
    /// Which orders wait for an operator.
    pub approval: ApprovalPolicy,
    /// How orders follow their parcels (`None`: they end once the carrier is booked).
    pub delivery: Option<capstone_workflows::order::DeliverySettings>,
    /// Children a batch run starts before it continues as new.
    pub batch_children_per_run: u32,
    pub subscriptions: SubscriptionSettings,
    pub inventory_url: String,
    /// The shipping service, for the courier view (`GET /shipments`, carrier events).
    pub shipping_url: String,
    /// Base URL of the Temporal Web UI, for links in responses.
    pub temporal_ui_url: String,
    pub namespace: String,
    /// Serves `/codec/encode` and `/codec/decode` for the Web UI.
    pub codec: EncryptionCodec,
    /// Origins allowed to call the codec endpoint from a browser (the Web UI's).
    pub ui_origins: Vec<String>,
    /// The service keys: what the workers present to `/internal/...` (any of them is
    /// accepted; during a rotation, the new one and the old). Stored (hashed) at start.
    pub service_keys: Vec<String>,
    pub limits: limits::LimitSettings,
    /// Mount `/admin/faults` (operators): crash between an order's row and its workflow.
    pub fault_injection: bool,
    /// Keys that open the codec endpoint and nothing else (`CODEC_KEY`).
    pub codec_keys: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct ApiState {
    db: Db,
    temporal: Client,
    http: reqwest::Client,
    settings: Arc<ApiSettings>,
    /// Who waits on which order (long polling of `GET /orders/{id}`).
    order_changes: Arc<order_changes::OrderChanges>,
    limits: Arc<limits::Limits>,
    /// The inventory's catalog for the console, kept a few seconds.
    console_catalog: Arc<console::CatalogCache>,
    faults: Option<Arc<faults::ApiFaults>>,
}

impl ApiState {
    /// Where an order shipping to `country` runs (its region's queues, or the shared ones) and
    /// the settings its workflow gets: the same for a single order and a batch's children.
    fn placement(&self, country: &str) -> (TaskQueues, OrderSettings) {
        let region = self.settings.region_routes.get(country).map(String::as_str);
        let queues = self.settings.task_queues.for_region(region);
        let settings = OrderSettings {
            activity_task_queue: queues.activities.clone(),
            payments_task_queue: queues.payments.clone(),
            approval: self.settings.approval.clone(),
            region: region.unwrap_or_default().to_owned(),
            delivery: self.settings.delivery.clone(),
        };
        (queues, settings)
    }

    fn workflow_ui_url(&self, workflow_id: &str) -> String {
        format!(
            "{}/namespaces/{}/workflows/{workflow_id}",
            self.settings.temporal_ui_url.trim_end_matches('/'),
            self.settings.namespace
        )
    }
}

/// Migrates the api tables and starts serving on `addr`.
pub async fn start(
    db: Db,
    temporal: Client,
    settings: ApiSettings,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<RunningService> {
    db::migrate(&db, Owner::Api).await?;
    // Exactly these keys, swapped in one transaction: no request is refused in between, and
    // a key dropped from the list stops working (`capstone dev` makes a new one each start).
    let service_keys: Vec<&str> = settings.service_keys.iter().map(String::as_str).collect();
    api_keys::replace_labelled(&db, "service", &service_keys, api_keys::Role::Service, None).await?;
    // The service key reaches the inventory too (the catalog), like every backend call.
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = settings.service_keys.first() {
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {key}").parse()?);
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .default_headers(headers)
        .build()?;
    let order_changes = Arc::new(order_changes::OrderChanges::new(shutdown.clone()));
    let limits = Arc::new(limits::Limits::new(settings.limits));
    tokio::spawn(forget_idle_limits(limits.clone(), shutdown.clone()));
    let faults = settings.fault_injection.then(Arc::default);
    let state = ApiState {
        db,
        temporal,
        http,
        settings: Arc::new(settings),
        order_changes,
        limits,
        console_catalog: Arc::default(),
        faults,
    };
    start_service(NAME, service_router(NAME, routes::routes(state), None), addr, shutdown).await
}

/// Rate-limit state of keys and addresses not seen for a while is dropped once a minute.
async fn forget_idle_limits(limits: Arc<limits::Limits>, shutdown: CancellationToken) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every_minute.tick() => limits.forget_idle(),
            _ = shutdown.cancelled() => return,
        }
    }
}
