//! Inventory service: stock per SKU and reservations, idempotent by reservation id.

use super::StockLine;
use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /reservations`: hold stock for an order. Repeating it with the same
/// `reservation_id` returns the first reservation and holds nothing more.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReserveStockRequest {
    pub reservation_id: String,
    pub lines: Vec<StockLine>,
}

/// `POST /reservations/{id}/release`: give the held stock back (a compensation).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStockRequest {
    pub reservation_id: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Reserved,
    Released,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub reservation_id: String,
    pub status: ReservationStatus,
    pub lines: Vec<StockLine>,
}

/// One catalog entry, as `GET /skus` returns it. The api reads prices from here.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub available: i64,
}

pub struct InventoryActivities;

#[activity_definitions]
impl InventoryActivities {
    #[activity(name = "inventory.reserve_stock")]
    pub fn reserve_stock(request: ReserveStockRequest) -> Result<Reservation, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "inventory.release_stock")]
    pub fn release_stock(request: ReleaseStockRequest) -> Result<Reservation, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::inventory_activities::*;
}
