//! `ShipmentWorkflow`: the child workflow that gets one order's parcel to a carrier.

mod model;
mod workflow;

pub use model::{ShipmentInput, shipment_workflow_id};
pub use workflow::ShipmentWorkflow;
