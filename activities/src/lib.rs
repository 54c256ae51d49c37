//! Activity implementations: the only code on Temporal's side that does I/O.
//!
//! Each module implements one contract from `capstone_workflows::contracts` by calling the
//! owning service over HTTP. Activities are thin on purpose: the services own the data and
//! enforce idempotency (reservation id, idempotency key, order id, message key), so a retried
//! activity attempt can never act twice. The activity only maps HTTP outcomes onto Temporal's
//! retryable / non-retryable failures (see `service_client`).

pub mod heartbeat;
pub mod hello;
pub mod inventory;
pub mod metrics;
pub mod notifications;
pub mod operations;
pub mod payments;
pub mod read_model;
pub mod service_client;
pub mod shipping;
pub mod stock_ingestion;
pub mod trace_context;

use service_client::ServiceClient;
use std::time::Duration;
use temporalio_sdk::WorkerOptions;

/// Base URLs of the services the activities call, and the key they present.
#[derive(Clone)]
pub struct ServiceUrls {
    pub api: String,
    /// The service key, presented to every service (the api's `/internal/...` routes and
    /// the backend services). Never logged.
    pub service_key: String,
    pub inventory: String,
    pub payments: String,
    pub shipping: String,
    pub notifications: String,
}

impl std::fmt::Debug for ServiceUrls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServiceUrls")
            .field("api", &self.api)
            .field("service_key", &"<redacted>")
            .field("inventory", &self.inventory)
            .field("payments", &self.payments)
            .field("shipping", &self.shipping)
            .field("notifications", &self.notifications)
            .finish()
    }
}

/// The HTTP client every activity shares (one connection pool per worker process).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        // Shorter than the longest start-to-close timeout (30 s for a charge), so a hung
        // service surfaces as a retryable failure rather than as an activity timeout.
        .timeout(Duration::from_secs(25))
        .build()
}

/// Registers every activity except the payment ones: the activity worker's main queue.
pub fn register_general(options: &mut WorkerOptions, urls: &ServiceUrls, http: &reqwest::Client) {
    metrics::register_all();
    let client =
        |service, url: &str| ServiceClient::new(service, url, http.clone()).with_bearer(urls.service_key.clone());
    options
        .register_activities(hello::HelloActivities)
        .register_activities(inventory::InventoryActivities::new(client("inventory", &urls.inventory)))
        .register_activities(stock_ingestion::StockIngestionActivities::new(client("inventory", &urls.inventory)))
        .register_activities(shipping::ShippingActivities::new(client("shipping", &urls.shipping)))
        .register_activities(notifications::NotificationActivities::new(client("notifications", &urls.notifications)))
        .register_activities(read_model::ReadModelActivities::new(client("api", &urls.api)))
        .register_activities(operations::OperationsActivities::new(
            client("api", &urls.api),
            client("payments", &urls.payments),
            client("shipping", &urls.shipping),
            client("notifications", &urls.notifications),
        ));
}

/// Registers the payment activities (charge, refund): they get a queue of their own, served
/// with few slots, because the payment provider limits concurrent calls.
pub fn register_payments(options: &mut WorkerOptions, urls: &ServiceUrls, http: &reqwest::Client) {
    options.register_activities(payments::PaymentActivities::new(
        ServiceClient::new("payments", &urls.payments, http.clone()).with_bearer(urls.service_key.clone()),
    ));
}

/// Wall-clock milliseconds since the epoch (activities may read the clock; workflows may not).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
