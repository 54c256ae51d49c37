use crate::service_client::ServiceClient;
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
    #[activity(definition = RecordOrder)]
    pub async fn record_order(
        self: Arc<Self>,
        _ctx: ActivityContext,
        snapshot: OrderSnapshot,
    ) -> Result<(), ActivityError> {
        let path = format!("/internal/orders/{}", snapshot.order_id);
        let _: serde_json::Value = self.api.put(&path, &snapshot).await?;
        Ok(())
    }
}
