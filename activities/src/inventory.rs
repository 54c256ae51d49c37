use crate::service_client::{ServiceClient, path};
use capstone_workflows::contracts::inventory::{
    ReleaseStockRequest, Reservation, ReserveStockRequest,
    activity::{ReleaseStock, ReserveStock},
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct InventoryActivities {
    inventory: ServiceClient,
}

impl InventoryActivities {
    pub fn new(inventory: ServiceClient) -> Self {
        Self { inventory }
    }
}

#[activities]
impl InventoryActivities {
    /// Idempotent by `reservation_id`: the service returns the existing reservation.
    #[activity(definition = ReserveStock)]
    pub async fn reserve_stock(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ReserveStockRequest,
    ) -> Result<Reservation, ActivityError> {
        self.inventory.post("/reservations", &request).await
    }

    /// Idempotent: releasing a released reservation changes nothing.
    #[activity(definition = ReleaseStock)]
    pub async fn release_stock(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ReleaseStockRequest,
    ) -> Result<Reservation, ActivityError> {
        let path = path(&["reservations", &request.reservation_id, "release"])?;
        self.inventory.post(&path, &request).await
    }
}
