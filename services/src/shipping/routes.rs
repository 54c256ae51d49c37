//! | route                         | does                                           |
//! |-------------------------------|------------------------------------------------|
//! | `POST /shipments`             | book a carrier; idempotent by `order_id`       |
//! | `GET /shipments/{order_id}`   | the order's shipment                           |

use super::store;
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
use capstone_workflows::contracts::shipping::{CreateShipmentRequest, Shipment};

pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/shipments", post(create_shipment))
        .route("/shipments/{order_id}", get(get_shipment))
        .with_state(db)
}

async fn create_shipment(
    State(db): State<Db>,
    JsonBody(request): JsonBody<CreateShipmentRequest>,
) -> ApiResult<(StatusCode, Json<Shipment>)> {
    if request.order_id.is_empty() || request.lines.is_empty() {
        return Err(ApiError::invalid("invalid_request", "order_id and lines are required"));
    }
    if request.address.country.len() != 2 {
        return Err(ApiError::invalid("invalid_request", "address.country must be a two-letter code"));
    }
    let (created, shipment) = store::create(&db, &request).await?;
    if created {
        tracing::info!(order_id = %shipment.order_id, carrier = %shipment.carrier, "shipment booked");
    }
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(shipment)))
}

async fn get_shipment(State(db): State<Db>, Path(order_id): Path<String>) -> ApiResult<Json<Shipment>> {
    store::find(&db, &order_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("shipment_not_found", format!("no shipment for order {order_id}")))
}
