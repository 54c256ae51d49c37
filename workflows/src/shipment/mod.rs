//! `ShipmentWorkflow`: the child workflow that gets one order's parcel to a carrier and, for
//! orders that follow it, to the customer's door: carrier events arrive as signals (through
//! the shipping service's webhook), each is reported to the order, and a missed delivery
//! deadline opens a claim (day 6 and day 8).

mod journey;
mod model;
mod workflow;

pub use model::{Journey, JourneyStep, ShipmentInput, ShipmentProgress, shipment_workflow_id};
pub use workflow::{ShipmentWorkflow, messages};
