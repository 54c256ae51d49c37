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
mod create_order;
mod order_changes;
mod order_list;
mod read_model;
mod routes;
mod subscriptions;
mod validation;
#[cfg(test)]
mod validation_props;
mod views;

pub use subscriptions::SubscriptionSettings;
pub use validation::validate_customer_id;

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
    /// Children a batch run starts before it continues as new.
    pub batch_children_per_run: u32,
    pub subscriptions: SubscriptionSettings,
    pub inventory_url: String,
    /// Base URL of the Temporal Web UI, for links in responses.
    pub temporal_ui_url: String,
    pub namespace: String,
    /// Serves `/codec/encode` and `/codec/decode` for the Web UI.
    pub codec: EncryptionCodec,
    /// Origins allowed to call the codec endpoint from a browser (the Web UI's).
    pub ui_origins: Vec<String>,
    /// The workers' key for `/internal/...`, stored (hashed) at start when given.
    pub service_key: Option<String>,
}

#[derive(Clone)]
pub(crate) struct ApiState {
    db: Db,
    temporal: Client,
    http: reqwest::Client,
    settings: Arc<ApiSettings>,
    /// Who waits on which order (long polling of `GET /orders/{id}`).
    order_changes: Arc<order_changes::OrderChanges>,
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
    if let Some(key) = &settings.service_key {
        // Replaces the previous one: `capstone dev` makes a new key at every start.
        api_keys::replace_labelled(&db, "service", key, api_keys::Role::Service, None).await?;
    }
    let http =
        reqwest::Client::builder().connect_timeout(Duration::from_secs(2)).timeout(Duration::from_secs(5)).build()?;
    let order_changes = Arc::new(order_changes::OrderChanges::new(shutdown.clone()));
    let state = ApiState { db, temporal, http, settings: Arc::new(settings), order_changes };
    start_service(NAME, service_router(NAME, routes::routes(state), None), addr, shutdown).await
}
