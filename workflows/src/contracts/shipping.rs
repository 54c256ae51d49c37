//! Shipping service: one shipment per order, idempotent by order id.

use super::{Address, StockLine};
use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /shipments`: book a carrier. A repeat for the same `order_id` returns the booking.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CreateShipmentRequest {
    pub order_id: String,
    pub address: Address,
    pub lines: Vec<StockLine>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub shipment_id: String,
    pub order_id: String,
    pub carrier: String,
    pub tracking_number: String,
}

pub struct ShippingActivities;

#[activity_definitions]
impl ShippingActivities {
    #[activity(name = "shipping.create_shipment")]
    pub fn create_shipment(request: CreateShipmentRequest) -> Result<Shipment, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::shipping_activities::*;
}
