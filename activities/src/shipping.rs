use crate::service_client::{ServiceClient, path};
use capstone_workflows::contracts::shipping::{
    CancelShipmentRequest, Claim, CreateShipmentRequest, OpenClaimRequest, Shipment, ShipmentCancellation,
    activity::{CancelShipment, CreateShipment, OpenClaim},
};
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

    /// Idempotent by `order_id`: calls the booking off, or claims the order id so that a late
    /// booking is refused.
    #[activity(definition = CancelShipment)]
    pub async fn cancel_shipment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: CancelShipmentRequest,
    ) -> Result<ShipmentCancellation, ActivityError> {
        let path = path(&["shipments", &request.order_id, "cancel"])?;
        self.shipping.post(&path, &request).await
    }

    /// Idempotent by `order_id`: a parcel late past its deadline has one claim.
    #[activity(definition = OpenClaim)]
    pub async fn open_claim(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: OpenClaimRequest,
    ) -> Result<Claim, ActivityError> {
        let path = path(&["shipments", &request.order_id, "claims"])?;
        self.shipping.post(&path, &request).await
    }
}
