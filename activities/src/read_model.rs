use crate::service_client::{ServiceClient, path};
use capstone_workflows::contracts::read_model::activity::RecordOrder;
use capstone_workflows::order::OrderSnapshot;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Projects the saga's state into the api's read model, over the api's internal endpoint:
/// the api owns that table, so nobody else writes it directly.
pub struct ReadModelActivities {
    api: ServiceClient,
}

impl ReadModelActivities {
    pub fn new(api: ServiceClient) -> Self {
        Self { api }
    }
}

#[activities]
impl ReadModelActivities {
    /// Outages and a refused key are retried (see `service_client`); a refusal of the record
    /// itself is final, and counted (`capstone_read_model_refusals_total`): the workflow notes
    /// it and goes on, an alert tells a person, and the reconciliation repairs the row.
    #[activity(definition = RecordOrder)]
    pub async fn record_order(
        self: Arc<Self>,
        _ctx: ActivityContext,
        snapshot: OrderSnapshot,
    ) -> Result<(), ActivityError> {
        let path = path(&["internal", "orders", &snapshot.order_id])?;
        let outcome: Result<serde_json::Value, ActivityError> = self.api.put(&path, &snapshot).await;
        if let Err(error) = &outcome
            && crate::service_client::is_final(error)
        {
            crate::metrics::read_model_refused();
            tracing::error!(order_id = %snapshot.order_id, "the read model refused a record: {error:?}");
        }
        outcome.map(|_| ())
    }
}
