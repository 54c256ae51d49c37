//! Shipping service: one shipment per order, idempotent by order id.

use super::{Address, StockLine};
use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /shipments`: book a carrier. A repeat for the same `order_id` returns the booking;
/// after a cancellation of that order id it is refused (`shipment_cancelled`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CreateShipmentRequest {
    pub order_id: String,
    pub address: Address,
    pub lines: Vec<StockLine>,
}

/// Where a shipment stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// A carrier has the parcel booked.
    #[default]
    Booked,
    /// The booking was called off (a compensation), or the order id was claimed before any
    /// booking arrived, so that a late one is refused.
    Cancelled,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub shipment_id: String,
    pub order_id: String,
    pub carrier: String,
    pub tracking_number: String,
    /// Absent in histories recorded before shipments could be cancelled: booked.
    #[serde(default)]
    pub status: ShipmentStatus,
}

/// `POST /shipments/{order_id}/cancel`: call the booking off (the saga's undo of shipping).
///
/// Named by the order id, not the shipment id, so that it works when the booking's answer was
/// lost and the saga never learned the shipment id. Idempotent; when there is no booking yet
/// it claims the order id, and a booking arriving later is refused (as a refund voids a
/// charge that has not arrived).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CancelShipmentRequest {
    pub order_id: String,
    pub reason: String,
}

/// What a cancellation found: the booking it called off, or none (`booked: false`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShipmentCancellation {
    pub order_id: String,
    pub shipment_id: String,
    /// `true` when a carrier booking existed and was called off; `false` when the order id
    /// was only claimed.
    pub booked: bool,
}

/// What a carrier reports about a parcel, through the shipping service's webhook
/// (`POST /carrier/events`), which passes it on to the order's `ShipmentWorkflow` as the
/// signal `carrier_event`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CarrierEventKind {
    /// The carrier has picked the parcel up.
    Dispatched,
    /// On the van today.
    OutForDelivery,
    /// Nobody was there (or another failure): the carrier tries again.
    DeliveryFailed,
    /// Handed over. The journey ends.
    Delivered,
}

impl CarrierEventKind {
    pub const ALL: [Self; 4] = [Self::Dispatched, Self::OutForDelivery, Self::DeliveryFailed, Self::Delivered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::OutForDelivery => "out_for_delivery",
            Self::DeliveryFailed => "delivery_failed",
            Self::Delivered => "delivered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One carrier event. `event_id` is the carrier's: a redelivered webhook carries the same
/// one, and the shipping service and the workflow each take an event id once.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CarrierEvent {
    pub event_id: String,
    pub order_id: String,
    pub kind: CarrierEventKind,
    /// When the carrier says it happened (ms since the epoch).
    pub at_ms: i64,
    #[serde(default)]
    pub detail: Option<String>,
}

/// `POST /shipments/{order_id}/claims`: the parcel missed its delivery deadline; open a claim
/// with the carrier. Idempotent by order id: a repeat returns the same claim.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OpenClaimRequest {
    pub order_id: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub claim_id: String,
    pub order_id: String,
    pub carrier: String,
}

pub struct ShippingActivities;

#[activity_definitions]
impl ShippingActivities {
    #[activity(name = "shipping.create_shipment")]
    pub fn create_shipment(request: CreateShipmentRequest) -> Result<Shipment, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "shipping.cancel_shipment")]
    pub fn cancel_shipment(request: CancelShipmentRequest) -> Result<ShipmentCancellation, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "shipping.open_claim")]
    pub fn open_claim(request: OpenClaimRequest) -> Result<Claim, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::shipping_activities::*;
}
