//! `POST /carrier/events`: the carriers' webhook. Each event is stored once (by the
//! carrier's `event_id`), then passed on to the order's `ShipmentWorkflow` as the signal
//! `carrier_event`. Stored is what the carrier is told (`202`): the shipping service owes the
//! workflow the signal from then on. It tries at once; if Temporal cannot be reached, or an
//! earlier event of the parcel is still waiting, the relay ([`relay`]) passes it on, in the
//! order the events came, until it gets through. A redelivered event is recognised (`200`,
//! `duplicate`) and not passed on again; the workflow, too, takes an event id once.

use super::{journey_store, routes::ShippingState, store};
use crate::db::Db;
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{Json, extract::State, http::StatusCode};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::{
    contracts::shipping::{CarrierEvent, CarrierEventKind, ShipmentStatus},
    order::order_workflow_id,
    shipment::{ShipmentWorkflow, shipment_workflow_id},
};
use serde::Serialize;
use temporalio_client::Client;
use temporalio_client::{WorkflowSignalOptions, errors::WorkflowInteractionError};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Serialize)]
pub(super) struct EventReceived {
    pub event_id: String,
    /// `true` when this event id had been received before: nothing changed.
    pub duplicate: bool,
}

pub(super) async fn receive(
    State(state): State<ShippingState>,
    JsonBody(event): JsonBody<CarrierEvent>,
) -> ApiResult<(StatusCode, Json<EventReceived>)> {
    let safe = |text: &str| {
        !text.is_empty() && text.len() <= 128 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    };
    if !safe(&event.event_id) || !safe(&event.order_id) {
        return Err(ApiError::invalid_request(
            "event_id and order_id are required: 1 to 128 letters, digits, '-', '_', '.' or ':'",
        ));
    }
    if let Some(order_id) = journey_store::order_of_event(&state.db, &event.event_id).await?
        && order_id != event.order_id
    {
        return Err(ApiError::conflict(
            "event_id_reused",
            format!("event {} was received for order {order_id}", event.event_id),
        ));
    }
    let shipment = store::find(&state.db, &event.order_id).await?.ok_or_else(|| {
        ApiError::not_found(codes::SHIPMENT_NOT_FOUND, format!("no shipment for order {}", event.order_id))
    })?;
    if shipment.status == ShipmentStatus::Cancelled {
        return Err(ApiError::refused(
            refusals::SHIPMENT_CANCELLED,
            format!("the shipment of order {} was cancelled", event.order_id),
        ));
    }
    let received = journey_store::receive(&state.db, &event).await?;
    crate::metrics::delivery::carrier_event(event.kind.as_str(), received.new);
    if received.new && event.kind == CarrierEventKind::Delivered {
        crate::metrics::delivery::delivered(&shipment.carrier);
    }
    if !received.signalled
        && !journey_store::has_earlier_unsignalled(&state.db, &event.order_id, &event.event_id).await?
    {
        // Best effort now; the relay retries whatever did not get through.
        if let Some(temporal) = &state.temporal
            && signal(temporal, &event).await.is_ok()
        {
            journey_store::mark_signalled(&state.db, &event.event_id).await?;
        }
    }
    if received.new {
        tracing::info!(order_id = %event.order_id, kind = event.kind.as_str(), event_id = %event.event_id, "carrier event");
    }
    let code = if received.new { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((code, Json(EventReceived { event_id: event.event_id, duplicate: !received.new })))
}

/// Tells the shipment workflow. `Ok` also when there is no one to tell: a workflow that has
/// ended (its parcel delivered already, or an order that never followed its parcel).
async fn signal(temporal: &Client, event: &CarrierEvent) -> Result<(), WorkflowInteractionError> {
    let workflow_id = shipment_workflow_id(&order_workflow_id(&event.order_id));
    let handle = temporal.get_workflow_handle::<ShipmentWorkflow>(workflow_id);
    match handle.signal(ShipmentWorkflow::carrier_event, event.clone(), WorkflowSignalOptions::default()).await {
        Ok(()) | Err(WorkflowInteractionError::NotFound(_)) => Ok(()),
        Err(error) if error.to_string().contains("already completed") => Ok(()),
        Err(error) => {
            tracing::warn!(order_id = %event.order_id, "the carrier event could not be passed on yet: {error}");
            Err(error)
        }
    }
}

/// How long the relay leaves a new event to the webhook's own attempt. Without it, the relay
/// could signal an event the webhook is signalling at that moment: harmless (the workflow takes
/// an event id once) but a second signal in the history for nothing.
const RELAY_GRACE_MS: i64 = 2_000;

/// Until `shutdown`: passes on every stored event its workflow has not been told of yet,
/// oldest first, once a second. An event whose order's earlier event is still waiting waits
/// too, so a parcel's events reach its workflow in the order they came.
pub(super) fn relay(db: Db, temporal: Client, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            let Ok(waiting) = journey_store::unsignalled(&db, crate::now_ms() - RELAY_GRACE_MS, 100).await else {
                continue;
            };
            let mut stuck: Vec<String> = Vec::new();
            for event in waiting {
                if stuck.contains(&event.order_id) {
                    continue;
                }
                if signal(&temporal, &event).await.is_ok() {
                    let _ = journey_store::mark_signalled(&db, &event.event_id).await;
                } else {
                    stuck.push(event.order_id.clone());
                }
            }
        }
    });
}
