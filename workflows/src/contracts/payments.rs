//! Payments service: charges and refunds in a ledger, idempotent by idempotency key.
//!
//! Two ways to charge (day 10, dynamic activity choice):
//! * `payments.{provider}.charge`, one activity per provider. The order workflow builds the
//!   name from the order at run time and calls it untyped (`UntypedActivity`); each provider
//!   then has its own row in the Web UI, its own metrics and its own failures. A name that no
//!   worker registered fails with the SDK's `NotFoundError`.
//! * `payments.charge`, one router activity keyed by `request.provider`. The Rust SDK has no
//!   dynamic (catch-all) activity registration, so a router is how one registered name serves
//!   any provider; an unknown provider is a non-retryable `UnknownProvider` failure.

use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /charges`. The `idempotency_key` is derived from the workflow id and the step, so a
/// retried or duplicated activity finds the first charge instead of charging again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub idempotency_key: String,
    /// The order, or the subscription, being paid for.
    pub order_id: String,
    pub amount_cents: i64,
    pub provider: String,
    pub card_token: String,
    /// What the money is for: the payments service counts subscription renewals apart
    /// (absent in older histories: an order).
    #[serde(default)]
    pub purpose: ChargePurpose,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChargePurpose {
    #[default]
    Order,
    SubscriptionRenewal,
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

/// The payment providers the shop offers (the payments service simulates each of them).
pub const PROVIDERS: [&str; 3] = ["card", "wallet", "invoice"];

/// The activity that charges through `provider`: `payments.card.charge`, ...
pub fn charge_activity_name(provider: &str) -> String {
    format!("payments.{provider}.charge")
}

pub struct PaymentActivities;

#[activity_definitions]
impl PaymentActivities {
    /// The router: charges through the provider named in the request.
    #[activity(name = "payments.charge")]
    pub fn charge(request: ChargeRequest) -> Result<Charge, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "payments.refund")]
    pub fn refund(request: RefundRequest) -> Result<Refund, ActivityError> {
        unimplemented!()
    }
}

/// One activity per provider, named `charge_activity_name(provider)`. The workflow calls them
/// by name; these definitions fix the names and types that the implementations register.
pub struct ProviderActivities;

#[activity_definitions]
impl ProviderActivities {
    #[activity(name = "payments.card.charge")]
    pub fn charge_card(request: ChargeRequest) -> Result<Charge, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "payments.wallet.charge")]
    pub fn charge_wallet(request: ChargeRequest) -> Result<Charge, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "payments.invoice.charge")]
    pub fn charge_invoice(request: ChargeRequest) -> Result<Charge, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::payment_activities::*;
    pub use super::provider_activities::*;
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::ActivityDefinition;

    #[test]
    fn every_provider_has_an_activity_of_the_name_the_workflow_builds() {
        let registered = [activity::ChargeCard.name(), activity::ChargeWallet.name(), activity::ChargeInvoice.name()];
        let built: Vec<String> = PROVIDERS.iter().map(|provider| charge_activity_name(provider)).collect();
        assert_eq!(built, registered);
    }
}
