//! Activity implementations: the only code on Temporal's side that does I/O.
//!
//! Each module implements one contract from `capstone_workflows::contracts` by calling the
//! owning service over HTTP. Activities are thin on purpose: the services own the data and
//! enforce idempotency (reservation id, idempotency key, order id, message key), so a retried
//! activity attempt can never act twice. The activity only maps HTTP outcomes onto Temporal's
//! retryable / non-retryable failures (see `service_client`).

pub mod hello;
pub mod inventory;
pub mod notifications;
pub mod payments;
pub mod read_model;
pub mod service_client;
pub mod shipping;

use service_client::ServiceClient;
use std::time::Duration;
use temporalio_sdk::WorkerOptions;

/// Base URLs of the services the activities call.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub api: String,
    pub inventory: String,
    pub payments: String,
    pub shipping: String,
    pub notifications: String,
}

/// Registers every activity of the shop on a worker.
pub fn register_all(options: &mut WorkerOptions, urls: &ServiceUrls) -> Result<(), reqwest::Error> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        // Shorter than the longest start-to-close timeout (30 s for a charge), so a hung
        // service surfaces as a retryable failure rather than as an activity timeout.
        .timeout(Duration::from_secs(25))
        .build()?;
    options
        .register_activities(hello::HelloActivities)
        .register_activities(inventory::InventoryActivities::new(ServiceClient::new(
            "inventory",
            &urls.inventory,
            http.clone(),
        )))
        .register_activities(payments::PaymentActivities::new(ServiceClient::new(
            "payments",
            &urls.payments,
            http.clone(),
        )))
        .register_activities(shipping::ShippingActivities::new(ServiceClient::new(
            "shipping",
            &urls.shipping,
            http.clone(),
        )))
        .register_activities(notifications::NotificationActivities::new(ServiceClient::new(
            "notifications",
            &urls.notifications,
            http.clone(),
        )))
        .register_activities(read_model::ReadModelActivities::new(ServiceClient::new("api", &urls.api, http)));
    Ok(())
}
