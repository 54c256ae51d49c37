//! | route                         | does                                                     |
//! |-------------------------------|----------------------------------------------------------|
//! | `POST /shipments`             | book a carrier; idempotent by `order_id`; 422 `destination_blocked` for refused countries; 409 `shipment_cancelled` once cancelled |
//! | `POST /shipments/{order_id}/cancel` | call the booking off (the saga's undo); idempotent; claims the order id when nothing is booked yet |
//! | `GET /shipments/{order_id}`   | the order's shipment (`booked` or `cancelled`)           |
//! | `GET /shipments?in_transit=true` | booked parcels not delivered yet (the courier view)   |
//! | `POST /shipments/{order_id}/claims` | open a claim for a parcel past its delivery deadline; idempotent by order id |
//! | `POST /carrier/events`        | the carriers' webhook: one event, taken once per `event_id`, passed on to the shipment workflow |

use super::{journey_store, store, webhook};
use crate::http::codes;
use crate::{
    db::Db,
    http::{ApiError, ApiResult, JsonBody},
};
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::shipping::{
    CancelShipmentRequest, Claim, CreateShipmentRequest, OpenClaimRequest, Shipment, ShipmentCancellation,
    ShipmentStatus,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone)]
pub(super) struct ShippingState {
    pub db: Db,
    pub blocked_countries: Arc<Vec<String>>,
    /// Passes carrier events on to the shipment workflows (`None`: the webhook only stores
    /// them; a shipping service without Temporal, as in the tests of the services alone).
    pub temporal: Option<temporalio_client::Client>,
}

pub(super) fn routes(state: ShippingState) -> Router {
    Router::new()
        .route("/shipments", post(create_shipment).get(list_in_transit))
        .route("/shipments/{order_id}", get(get_shipment))
        .route("/shipments/{order_id}/cancel", post(cancel_shipment))
        .route("/shipments/{order_id}/claims", post(open_claim))
        .route("/carrier/events", post(webhook::receive))
        .route("/internal/purge", post(purge))
        .with_state(state)
}

async fn create_shipment(
    State(state): State<ShippingState>,
    JsonBody(request): JsonBody<CreateShipmentRequest>,
) -> ApiResult<(StatusCode, Json<Shipment>)> {
    if request.order_id.is_empty() || request.lines.is_empty() {
        return Err(ApiError::invalid_request("order_id and lines are required"));
    }
    let country = request.address.country.to_ascii_uppercase();
    if country.len() != 2 {
        return Err(ApiError::invalid_request("address.country must be a two-letter code"));
    }
    if state.blocked_countries.contains(&country) {
        tracing::info!(order_id = %request.order_id, %country, "shipment refused");
        return Err(ApiError::refused(refusals::DESTINATION_BLOCKED, format!("no carrier delivers to {country}")));
    }
    let (created, shipment) = store::create(&state.db, &request).await?;
    if created {
        tracing::info!(order_id = %shipment.order_id, carrier = %shipment.carrier, "shipment booked");
    }
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(shipment)))
}

async fn cancel_shipment(
    State(state): State<ShippingState>,
    Path(order_id): Path<String>,
    JsonBody(request): JsonBody<CancelShipmentRequest>,
) -> ApiResult<(StatusCode, Json<ShipmentCancellation>)> {
    if request.order_id != order_id {
        return Err(ApiError::invalid_request("the body's order_id does not match the path"));
    }
    let (changed, cancellation) = store::cancel(&state.db, &request).await?;
    if changed {
        tracing::info!(%order_id, booked = cancellation.booked, reason = %request.reason, "shipment cancelled");
    }
    Ok((if changed { StatusCode::CREATED } else { StatusCode::OK }, Json(cancellation)))
}

async fn get_shipment(State(state): State<ShippingState>, Path(order_id): Path<String>) -> ApiResult<Json<Shipment>> {
    store::find(&state.db, &order_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(codes::SHIPMENT_NOT_FOUND, format!("no shipment for order {order_id}")))
}

#[derive(Deserialize)]
struct InTransitQuery {
    #[serde(default)]
    in_transit: bool,
}

#[derive(Serialize)]
struct InTransitList {
    shipments: Vec<journey_store::InTransit>,
}

/// Booked parcels not delivered yet, oldest first (at most 200).
async fn list_in_transit(
    State(state): State<ShippingState>,
    axum::extract::Query(query): axum::extract::Query<InTransitQuery>,
) -> ApiResult<Json<InTransitList>> {
    if !query.in_transit {
        return Err(ApiError::invalid_request("only `?in_transit=true` is listed"));
    }
    Ok(Json(InTransitList { shipments: journey_store::in_transit(&state.db, 200).await? }))
}

async fn open_claim(
    State(state): State<ShippingState>,
    Path(order_id): Path<String>,
    JsonBody(request): JsonBody<OpenClaimRequest>,
) -> ApiResult<(StatusCode, Json<Claim>)> {
    if request.order_id != order_id {
        return Err(ApiError::invalid_request("the body's order_id does not match the path"));
    }
    let shipment = store::find(&state.db, &order_id)
        .await?
        .filter(|shipment| shipment.status == ShipmentStatus::Booked)
        .ok_or_else(|| {
            ApiError::not_found(codes::SHIPMENT_NOT_FOUND, format!("no booked shipment for order {order_id}"))
        })?;
    let (opened, claim) = journey_store::open_claim(&state.db, &order_id, &shipment.carrier, &request.reason).await?;
    if opened {
        crate::metrics::delivery::claim_opened(&shipment.carrier);
        tracing::info!(%order_id, claim_id = %claim.claim_id, carrier = %shipment.carrier, "claim opened");
    }
    Ok((if opened { StatusCode::CREATED } else { StatusCode::OK }, Json(claim)))
}

/// The retention schedule's batch: carrier events of parcels delivered before the cut-off.
async fn purge(
    State(state): State<ShippingState>,
    JsonBody(request): JsonBody<capstone_workflows::contracts::operations::PurgeRequest>,
) -> ApiResult<Json<capstone_workflows::contracts::operations::Purged>> {
    use capstone_workflows::contracts::operations::{PurgeTarget, Purged};
    request.check(PurgeTarget::CarrierEvents).map_err(ApiError::invalid_request)?;
    let deleted = journey_store::purge_delivered(&state.db, request.older_than_ms, request.batch).await?;
    Ok(Json(Purged { target: request.target, deleted }))
}
