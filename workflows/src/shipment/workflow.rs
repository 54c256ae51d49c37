use super::ShipmentInput;
use crate::contracts::shipping::{CreateShipmentRequest, Shipment, ShippingActivities};
use crate::order::retry_policies;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult};

#[workflow]
pub struct ShipmentWorkflow {
    input: ShipmentInput,
    shipment: Option<Shipment>,
}

#[workflow_methods]
impl ShipmentWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: ShipmentInput) -> Self {
        Self { input, shipment: None }
    }

    #[run(name = "ShipmentWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Shipment> {
        let input = ctx.state(|s| s.input.clone());
        let request = CreateShipmentRequest { order_id: input.order_id, address: input.address, lines: input.lines };
        // Booking a carrier is a quick HTTP call: 10 s per attempt is generous, and the
        // service is idempotent by order id, so retrying a timed-out attempt is safe.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.activity_task_queue)
            .retry_policy(retry_policies::service_call())
            .build();
        let shipment = ctx.execute_activity(ShippingActivities::create_shipment, request, options).await?;
        ctx.state_mut(|s| s.shipment = Some(shipment.clone()));
        Ok(shipment)
    }

    /// The booked shipment, once there is one.
    #[query]
    pub fn shipment(&self, _ctx: &WorkflowContextView) -> Option<Shipment> {
        self.shipment.clone()
    }
}
