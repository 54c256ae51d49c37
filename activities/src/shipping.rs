use crate::service_client::ServiceClient;
use capstone_workflows::contracts::shipping::{CreateShipmentRequest, Shipment, activity::CreateShipment};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct ShippingActivities {
    shipping: ServiceClient,
}

impl ShippingActivities {
    pub fn new(shipping: ServiceClient) -> Self {
        Self { shipping }
    }
}

#[activities]
impl ShippingActivities {
    /// Idempotent by `order_id`: one order, one shipment.
    #[activity(definition = CreateShipment)]
    pub async fn create_shipment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: CreateShipmentRequest,
    ) -> Result<Shipment, ActivityError> {
        self.shipping.post("/shipments", &request).await
    }
}
