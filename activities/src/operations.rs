//! The operations activities the Schedules run (reconcile, retention, the daily report): each
//! asks the service that owns the data.

use crate::service_client::ServiceClient;
use capstone_workflows::contracts::operations::{
    ChargedOrders, ChargedOrdersRequest, DayTotals, LedgerTotals, PurgeRequest, PurgeTarget, Purged, ReconcileReport,
    ReconcileRequest, TotalsRequest,
    activity::{DayTotals as DayTotalsActivity, Purge, ReconcileOrders},
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct OperationsActivities {
    api: ServiceClient,
    payments: ServiceClient,
    shipping: ServiceClient,
    notifications: ServiceClient,
}

impl OperationsActivities {
    pub fn new(
        api: ServiceClient,
        payments: ServiceClient,
        shipping: ServiceClient,
        notifications: ServiceClient,
    ) -> Self {
        Self { api, payments, shipping, notifications }
    }

    fn owner(&self, target: PurgeTarget) -> &ServiceClient {
        match target {
            PurgeTarget::FinishedOrders => &self.api,
            PurgeTarget::SentEmails => &self.notifications,
            PurgeTarget::CarrierEvents => &self.shipping,
        }
    }
}

#[activities]
impl OperationsActivities {
    #[activity(definition = ReconcileOrders)]
    pub async fn reconcile_orders(
        self: Arc<Self>,
        _ctx: ActivityContext,
        mut request: ReconcileRequest,
    ) -> Result<ReconcileReport, ActivityError> {
        // The ledger's orders come along, so the api can look for charges without an order.
        let since_ms = crate::now_ms() - request.lookback_ms;
        let charged: ChargedOrders = self
            .payments
            .post("/ledger/charged-orders", &ChargedOrdersRequest { since_ms, limit: request.limit })
            .await?;
        request.charged_orders = charged.order_ids;
        self.api.post("/internal/reconcile", &request).await
    }

    /// Batch after batch until one comes back short; the running count is the heartbeat, so a
    /// retry after a dead worker reports the whole total.
    #[activity(definition = Purge)]
    pub async fn purge(self: Arc<Self>, ctx: ActivityContext, request: PurgeRequest) -> Result<Purged, ActivityError> {
        let mut deleted: i64 = ctx.heartbeat_details().deserialize()?.unwrap_or(0);
        loop {
            let batch: Purged = self.owner(request.target).post("/internal/purge", &request).await?;
            deleted += batch.deleted;
            ctx.record_heartbeat(deleted).await?;
            if batch.deleted < request.batch {
                tracing::info!(target = request.target.as_str(), deleted, "purged");
                return Ok(Purged { target: request.target, deleted });
            }
            if ctx.is_cancelled() {
                return Err(ActivityError::cancelled());
            }
        }
    }

    #[activity(definition = DayTotalsActivity)]
    pub async fn day_totals(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: TotalsRequest,
    ) -> Result<DayTotals, ActivityError> {
        let mut totals: DayTotals = self.api.post("/internal/totals", &request).await?;
        let ledger: LedgerTotals = self.payments.post("/ledger/totals", &request).await?;
        totals.charged_cents = ledger.charged_cents;
        totals.refunded_cents = ledger.refunded_cents;
        Ok(totals)
    }
}
