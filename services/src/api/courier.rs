//! The courier view's routes (operators, the web console): the parcels in flight, and a
//! button per carrier event, which the api passes to the shipping service's webhook exactly as
//! a carrier would send it. For demos and for a carrier without a webhook of its own.

use super::ApiState;
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::shipping::{CarrierEvent, CarrierEventKind};
use serde::Deserialize;
use serde_json::Value;

/// `GET /shipments`: booked parcels not delivered yet, from the shipping service.
pub(super) async fn in_transit(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let url = format!("{}/shipments?in_transit=true", state.settings.shipping_url.trim_end_matches('/'));
    let response = state.http.get(&url).send().await.map_err(unavailable)?;
    if !response.status().is_success() {
        return Err(unavailable(format!("shipping answered {}", response.status())));
    }
    Ok(Json(response.json().await.map_err(unavailable)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourierEvent {
    pub kind: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// `POST /shipments/{order_id}/events {kind, detail}`: one carrier event, as a courier reports
/// it. Its event id comes from the `Idempotency-Key` header (a retried click is one event);
/// without one every request is a new event.
pub(super) async fn report(
    State(state): State<ApiState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CourierEvent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let kind = CarrierEventKind::parse(&body.kind).ok_or_else(|| {
        let kinds: Vec<&str> = CarrierEventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        ApiError::invalid_request(format!("kind must be one of {}", kinds.join(", ")))
    })?;
    super::validation::validate_key("order_id", &order_id, 64)?;
    if body.detail.as_ref().is_some_and(|detail| detail.chars().count() > 200) {
        return Err(ApiError::invalid_request("detail is at most 200 characters"));
    }
    let event_id = match headers.get("idempotency-key") {
        Some(key) => {
            let key = key.to_str().map_err(|_| ApiError::invalid_request("Idempotency-Key must be ASCII"))?;
            super::validation::validate_key("Idempotency-Key", key, 64)?;
            format!("courier-{order_id}-{key}")
        }
        None => format!("courier-{order_id}-{}", uuid::Uuid::new_v4().simple()),
    };
    let event = CarrierEvent { event_id, order_id, kind, at_ms: crate::now_ms(), detail: body.detail };
    let url = format!("{}/carrier/events", state.settings.shipping_url.trim_end_matches('/'));
    let response = state.http.post(&url).json(&event).send().await.map_err(unavailable)?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match status.as_u16() {
        200..=299 => Ok((StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::OK), Json(answer))),
        404 => Err(ApiError::not_found(
            codes::SHIPMENT_NOT_FOUND,
            answer["detail"].as_str().unwrap_or("no such shipment").to_owned(),
        )),
        409 => Err(ApiError::refused(
            refusals::SHIPMENT_CANCELLED,
            answer["detail"].as_str().unwrap_or("cancelled").to_owned(),
        )),
        _ => Err(unavailable(format!("shipping answered {status}: {answer}"))),
    }
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!("the shipping service could not be reached: {error}");
    ApiError::unavailable(codes::DEPENDENCY_UNAVAILABLE, "the shipping service is unavailable; retry")
}
