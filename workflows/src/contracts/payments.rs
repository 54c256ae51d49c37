//! Payments service: charges and refunds in a ledger, idempotent by idempotency key.

use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /charges`. The `idempotency_key` is derived from the workflow id and the step, so a
/// retried or duplicated activity finds the first charge instead of charging again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub idempotency_key: String,
    pub order_id: String,
    pub amount_cents: i64,
    pub provider: String,
    pub card_token: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub charge_id: String,
    pub order_id: String,
    pub amount_cents: i64,
    pub provider: String,
}

/// `POST /refunds`: give a charge back (a compensation), idempotent by `idempotency_key`.
///
/// The charge is named by its *idempotency key*, not its id, so the refund works even when the
/// charge's response was lost and the workflow never learned the id. When no charge exists
/// the key is voided instead, and a charge request arriving later with it is refused.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub charge_idempotency_key: String,
    pub order_id: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: String,
    /// The charge given back; `None` when there was no charge and its key was voided.
    pub charge_id: Option<String>,
    pub amount_cents: i64,
}

pub struct PaymentActivities;

#[activity_definitions]
impl PaymentActivities {
    #[activity(name = "payments.charge")]
    pub fn charge(request: ChargeRequest) -> Result<Charge, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "payments.refund")]
    pub fn refund(request: RefundRequest) -> Result<Refund, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::payment_activities::*;
}
