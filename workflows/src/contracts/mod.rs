//! The typed contract between workflows, activities and services.
//!
//! Each module declares one service's activities with `#[activity_definitions]` (name, input,
//! output; no body) plus the request and response types. Workflows call these definitions;
//! `capstone-activities` implements them with `#[activity(definition = ...)]`, which fails to
//! compile if an implementation's types drift from the contract; the services use the same
//! types as their HTTP bodies. Activity names are explicit and stable (`service.verb_noun`),
//! because they are recorded in workflow histories and must survive refactors.

pub mod failures;
pub mod inventory;
pub mod notifications;
pub mod operations;
pub mod payments;
pub mod read_model;
pub mod shipping;

use serde::{Deserialize, Serialize};

/// A quantity of one SKU. Used for reservations and shipments.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    pub sku: String,
    pub qty: u32,
}

/// Where a parcel goes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `DE`.
    pub country: String,
}
