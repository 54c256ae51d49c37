//! `OrderWorkflow`: the order saga.
//!
//! reserve stock -> approval gate (large orders) -> charge payment -> ship (child
//! `ShipmentWorkflow`) -> e-mail confirmation -> record the final state in the api's read
//! model. A failure, a rejection or a cancellation after a step runs the compensations of the
//! steps already done, newest first (cancel the shipment, refund, release), then e-mails the
//! customer a notice. Changes made while orders were running are behind patches (`patches.rs`).

mod approval;
pub mod checkout;
mod compensation;
mod emails;
mod model;
mod outcome;
mod patches;
pub mod retry_policies;
mod steps;
pub mod visibility;
mod workflow;

pub use approval::{ApprovalPolicy, ApprovalState, ApprovalView, Decision, OperatorDecision, SignalPayload};
pub use checkout::{CheckoutAnswer, CheckoutRequest};
pub use model::{
    DeliverySettings, DeliveryView, OrderInput, OrderLine, OrderSettings, OrderSnapshot, OrderStatus, PaymentDetails,
    TimelineEntry, order_workflow_id,
};
pub(crate) use outcome::RootCause;
pub use patches::{OUTCOME_NOTICE_PATCH, SHIPMENT_JOURNEY_PATCH, SHIPMENT_UNDO_PATCH};
pub use workflow::{OrderWorkflow, messages};
