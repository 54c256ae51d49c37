//! Payment activities: the router `payments.charge`, one `payments.{provider}.charge` per
//! provider (thin wrappers over the same call), and the refund.

use crate::{heartbeat, service_client::ServiceClient};
use capstone_workflows::contracts::payments::{
    Charge, ChargeRequest, Refund, RefundRequest,
    activity::{Charge as ChargeActivity, ChargeCard, ChargeInvoice, ChargeWallet, Refund as RefundActivity},
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct PaymentActivities {
    payments: ServiceClient,
}

impl PaymentActivities {
    pub fn new(payments: ServiceClient) -> Self {
        Self { payments }
    }

    /// Idempotent by `idempotency_key` (unique in the ledger): a retry after a lost response
    /// gets the first charge back instead of a second charge. Heartbeats while the provider
    /// thinks, so that a crashed worker is noticed quickly. The payments service refuses a
    /// provider it does not know (`UnknownProvider`, non-retryable).
    async fn charge_through(&self, ctx: &ActivityContext, request: &ChargeRequest) -> Result<Charge, ActivityError> {
        heartbeat::while_waiting(ctx, self.payments.post("/charges", request)).await
    }

    /// The provider comes from the activity's name, not from the request: a call to
    /// `payments.wallet.charge` charges the wallet whatever the body says.
    async fn charge_with(
        &self,
        ctx: ActivityContext,
        provider: &str,
        mut request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        request.provider = provider.to_owned();
        self.charge_through(&ctx, &request).await
    }
}

#[activities]
impl PaymentActivities {
    /// The router: one registered name for every provider, keyed by `request.provider` (the
    /// Rust SDK's substitute for a dynamic, catch-all activity).
    #[activity(definition = ChargeActivity)]
    pub async fn charge(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.charge_through(&ctx, &request).await
    }

    #[activity(definition = ChargeCard)]
    pub async fn charge_card(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.charge_with(ctx, "card", request).await
    }

    #[activity(definition = ChargeWallet)]
    pub async fn charge_wallet(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.charge_with(ctx, "wallet", request).await
    }

    #[activity(definition = ChargeInvoice)]
    pub async fn charge_invoice(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.charge_with(ctx, "invoice", request).await
    }

    #[activity(definition = RefundActivity)]
    pub async fn refund(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: RefundRequest,
    ) -> Result<Refund, ActivityError> {
        self.payments.post("/refunds", &request).await
    }
}
