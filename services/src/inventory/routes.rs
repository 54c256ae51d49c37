//! | route                              | does                                            |
//! |------------------------------------|-------------------------------------------------|
//! | `GET /skus[?skus=A,B]`             | the catalog (prices and stock), or some of it   |
//! | `GET /skus/{sku}`                  | one catalog entry                               |
//! | `POST /reservations`               | hold stock; idempotent by `reservation_id`      |
//! | `GET /reservations/{id}`           | a reservation                                   |
//! | `POST /reservations/{id}/release`  | give the stock back; idempotent                 |
//! | `POST /stock/receipts`             | add stock from a supplier file's rows; idempotent per row |

use super::store::{self, Reserved};
use crate::{
    db::Db,
    http::{ApiError, ApiResult, JsonBody},
};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::inventory::{
    CatalogItem, Reservation, ReserveStockRequest, StockReceiptBatch, StockReceiptResult,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/skus", get(list_skus))
        .route("/skus/{sku}", get(get_sku))
        .route("/reservations", post(reserve))
        .route("/reservations/{reservation_id}", get(get_reservation))
        .route("/reservations/{reservation_id}/release", post(release))
        .route("/stock/receipts", post(receive_stock))
        .with_state(db)
}

#[derive(Deserialize)]
struct SkuFilter {
    /// Comma-separated SKUs; all when absent.
    skus: Option<String>,
}

#[derive(Serialize)]
struct Catalog {
    items: Vec<CatalogItem>,
}

async fn list_skus(State(db): State<Db>, Query(filter): Query<SkuFilter>) -> ApiResult<Json<Catalog>> {
    let wanted: Option<Vec<String>> = filter
        .skus
        .map(|list| list.split(',').map(str::trim).filter(|sku| !sku.is_empty()).map(str::to_owned).collect());
    Ok(Json(Catalog { items: store::catalog(&db, wanted.as_deref()).await? }))
}

async fn get_sku(State(db): State<Db>, Path(sku): Path<String>) -> ApiResult<Json<CatalogItem>> {
    let mut items = store::catalog(&db, Some(std::slice::from_ref(&sku))).await?;
    items.pop().map(Json).ok_or_else(|| ApiError::not_found(refusals::UNKNOWN_SKU.code, format!("no SKU {sku}")))
}

async fn reserve(
    State(db): State<Db>,
    JsonBody(request): JsonBody<ReserveStockRequest>,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    validate(&request)?;
    match store::reserve(&db, &request).await? {
        Reserved::Created(reservation) => {
            tracing::info!(reservation_id = %reservation.reservation_id, "stock reserved");
            Ok((StatusCode::CREATED, Json(reservation)))
        }
        Reserved::Existing(reservation) => Ok((StatusCode::OK, Json(reservation))),
    }
}

async fn get_reservation(State(db): State<Db>, Path(reservation_id): Path<String>) -> ApiResult<Json<Reservation>> {
    store::find_reservation(&db, &reservation_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("reservation_not_found", format!("no reservation {reservation_id}")))
}

async fn release(State(db): State<Db>, Path(reservation_id): Path<String>) -> ApiResult<Json<Reservation>> {
    if reservation_id.is_empty() || reservation_id.len() > 128 {
        return Err(ApiError::invalid_request("reservation_id must be 1 to 128 characters"));
    }
    let reservation = store::release(&db, &reservation_id).await?;
    tracing::info!(%reservation_id, "reservation released");
    Ok(Json(reservation))
}

async fn receive_stock(
    State(db): State<Db>,
    JsonBody(batch): JsonBody<StockReceiptBatch>,
) -> ApiResult<Json<StockReceiptResult>> {
    if batch.ingestion_id.is_empty() || batch.ingestion_id.len() > 128 {
        return Err(ApiError::invalid_request("ingestion_id must be 1 to 128 characters"));
    }
    for (offset, line) in batch.lines.iter().enumerate() {
        let valid_sku = !line.sku.is_empty()
            && line.sku.len() <= 32
            && line.sku.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !valid_sku || line.qty == 0 || line.unit_price_cents <= 0 || line.name.trim().is_empty() {
            let row = batch.first_row + offset as u64 + 1;
            return Err(ApiError::invalid_request(format!(
                "row {row}: needs an A-Z/0-9 SKU, a name, a positive price and a positive qty"
            )));
        }
    }
    Ok(Json(store::receive(&db, &batch).await?))
}

fn validate(request: &ReserveStockRequest) -> ApiResult<()> {
    let invalid = |detail: String| Err(ApiError::invalid_request(detail));
    if request.reservation_id.is_empty() || request.reservation_id.len() > 128 {
        return invalid("reservation_id must be 1 to 128 characters".into());
    }
    if request.lines.is_empty() {
        return invalid("lines must not be empty".into());
    }
    let mut seen = HashSet::new();
    for line in &request.lines {
        if line.qty == 0 {
            return invalid(format!("{}: qty must be at least 1", line.sku));
        }
        if !seen.insert(&line.sku) {
            return invalid(format!("{} appears more than once", line.sku));
        }
    }
    Ok(())
}
