use crate::{heartbeat, service_client::ServiceClient};
use capstone_workflows::contracts::payments::{
    Charge, ChargeRequest, Refund, RefundRequest,
    activity::{Charge as ChargeActivity, Refund as RefundActivity},
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
}

#[activities]
impl PaymentActivities {
    /// Idempotent by `idempotency_key` (unique in the ledger): a retry after a lost response
    /// gets the first charge back instead of a second charge. Heartbeats while the provider
    /// thinks, so that a crashed worker is noticed quickly.
    #[activity(definition = ChargeActivity)]
    pub async fn charge(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        heartbeat::while_waiting(&ctx, self.payments.post("/charges", &request)).await
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
