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

/// One row of a supplier's stock file: add `qty` of `sku` (creating the SKU if it is new).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StockReceiptLine {
    pub sku: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub qty: u32,
}

/// `POST /stock/receipts`: rows `first_row ..` of ingestion `ingestion_id`. Idempotent per
/// row: a row applied before is skipped, so a resumed ingestion never adds stock twice.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StockReceiptBatch {
    pub ingestion_id: String,
    pub first_row: u64,
    pub lines: Vec<StockReceiptLine>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StockReceiptResult {
    pub applied: u64,
    pub already_applied: u64,
}

/// Input of `inventory.ingest_stock_csv`: a CSV file (`sku,name,unit_price_cents,qty`) that the
/// activity worker can read.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IngestStockRequest {
    pub ingestion_id: String,
    pub path: String,
    pub batch_size: u32,
}

/// What one attempt of the ingestion did.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IngestionReport {
    pub ingestion_id: String,
    /// Data rows in the file.
    pub rows: u64,
    /// Where this attempt started: 0, or the progress a previous attempt heartbeated.
    pub resumed_from_row: u64,
    /// The attempt that finished the ingestion (1 unless a worker crashed or timed out).
    pub attempt: u32,
    pub applied: u64,
    pub already_applied: u64,
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

    /// Long-running: heartbeats its progress (rows done) and resumes from it on a retry.
    #[activity(name = "inventory.ingest_stock_csv")]
    pub fn ingest_stock_csv(request: IngestStockRequest) -> Result<IngestionReport, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::inventory_activities::*;
}
