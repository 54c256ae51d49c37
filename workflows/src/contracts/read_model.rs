//! The api's order read model: the workflow reports the order's state there, so that lists
//! and finished orders are answered from the api's own table instead of from Temporal.

use crate::order::OrderSnapshot;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

pub struct ReadModelActivities;

#[activity_definitions]
impl ReadModelActivities {
    /// `PUT /internal/orders/{order_id}` on the api. Idempotent: it overwrites the row.
    #[activity(name = "orders.record_order")]
    pub fn record_order(snapshot: OrderSnapshot) -> Result<(), ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::read_model_activities::*;
}
