use super::{ShipmentInput, journey};
use crate::contracts::shipping::{CarrierEvent, CreateShipmentRequest, Shipment, ShippingActivities};
use crate::order::retry_policies;
use std::collections::VecDeque;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// Signal and query names, as the shipping service's webhook and the CLI use them.
pub mod messages {
    pub const CARRIER_EVENT: &str = "carrier_event";
}

/// At most this many carrier event ids are remembered (a parcel has a handful of events; a
/// carrier that sends thousands cannot grow the workflow's state without end).
const MAX_EVENT_IDS: usize = 200;

#[workflow]
pub struct ShipmentWorkflow {
    pub(super) input: ShipmentInput,
    pub(super) shipment: Option<Shipment>,
    /// Carrier events received and not handled yet, in arrival order.
    pub(super) pending: VecDeque<CarrierEvent>,
    /// Event ids already taken: a redelivered event is ignored.
    pub(super) seen: VecDeque<String>,
    pub(super) journey: journey::JourneyView,
}

#[workflow_methods]
impl ShipmentWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: ShipmentInput) -> Self {
        Self { input, shipment: None, pending: VecDeque::new(), seen: VecDeque::new(), journey: Default::default() }
    }

    #[run(name = "ShipmentWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Shipment> {
        let input = ctx.state(|s| s.input.clone());
        let request = CreateShipmentRequest {
            order_id: input.order_id.clone(),
            address: input.address.clone(),
            lines: input.lines.clone(),
        };
        // Booking a carrier is a quick HTTP call: 10 s per attempt is generous, and the
        // service is idempotent by order id, so retrying a timed-out attempt is safe.
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.activity_task_queue.clone())
            .retry_policy(retry_policies::service_call())
            .build();
        let shipment = ctx.execute_activity(ShippingActivities::create_shipment, request, options).await?;
        ctx.state_mut(|s| s.shipment = Some(shipment.clone()));
        if let Some(journey) = &input.journey {
            journey::follow(ctx, &input, journey, &shipment).await;
        }
        Ok(shipment)
    }

    /// A carrier event, from the shipping service's webhook. Taken once per event id, and
    /// only for this shipment's order.
    #[signal(name = "carrier_event")]
    pub fn carrier_event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, event: CarrierEvent) {
        if event.order_id != self.input.order_id || self.seen.contains(&event.event_id) {
            return;
        }
        if self.seen.len() == MAX_EVENT_IDS {
            self.seen.pop_front();
        }
        self.seen.push_back(event.event_id.clone());
        self.pending.push_back(event);
    }

    /// The booked shipment, once there is one.
    #[query]
    pub fn shipment(&self, _ctx: &WorkflowContextView) -> Option<Shipment> {
        self.shipment.clone()
    }

    /// Where the parcel is: its last step, the claim if one was opened, the events taken.
    #[query]
    pub fn journey(&self, _ctx: &WorkflowContextView) -> journey::JourneyView {
        self.journey.clone()
    }
}
