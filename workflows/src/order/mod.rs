//! `OrderWorkflow`: the order saga.
//!
//! reserve stock -> charge payment -> ship (child `ShipmentWorkflow`) -> e-mail confirmation
//! -> record the final state in the api's read model. A failure after a step runs the
//! compensations of the steps already done, newest first (refund, then release).

mod compensation;
mod model;
mod outcome;
pub mod retry_policies;
mod workflow;

pub use model::{
    OrderInput, OrderLine, OrderSettings, OrderSnapshot, OrderStatus, PaymentDetails, TimelineEntry, order_workflow_id,
};
pub use workflow::OrderWorkflow;
