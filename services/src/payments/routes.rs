//! | route                  | does                                                        |
//! |------------------------|-------------------------------------------------------------|
//! | `POST /charges`        | take money; idempotent by `idempotency_key`                 |
//! | `POST /refunds`        | give a charge back (or void its key); idempotent            |
//! | `GET /ledger?order_id=`| the ledger rows of an order (all rows when absent)          |

use super::{DECLINED_TOKEN_PREFIX, PROVIDERS, store};
use crate::{
    db::Db,
    http::{ApiError, ApiResult, JsonBody},
};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::{get, post},
};
use capstone_workflows::contracts::payments::{Charge, ChargeRequest, Refund, RefundRequest};
use serde::{Deserialize, Serialize};

pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/charges", post(charge))
        .route("/refunds", post(refund))
        .route("/ledger", get(ledger))
        .with_state(db)
}

async fn charge(
    State(db): State<Db>,
    JsonBody(request): JsonBody<ChargeRequest>,
) -> ApiResult<(StatusCode, Json<Charge>)> {
    require_key(&request.idempotency_key)?;
    if request.amount_cents <= 0 {
        return Err(ApiError::invalid("invalid_request", "amount_cents must be positive"));
    }
    if !PROVIDERS.contains(&request.provider.as_str()) {
        return Err(ApiError::invalid("unknown_provider", format!("no payment provider {:?}", request.provider)));
    }
    if request.card_token.starts_with(DECLINED_TOKEN_PREFIX) {
        tracing::info!(order_id = %request.order_id, "charge declined");
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "card_declined",
            "the card was declined by the issuer",
        ));
    }
    let (created, charge) = store::charge(&db, &request).await?;
    if created {
        tracing::info!(order_id = %charge.order_id, charge_id = %charge.charge_id, amount_cents = charge.amount_cents, "charged");
    }
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(charge)))
}

async fn refund(
    State(db): State<Db>,
    JsonBody(request): JsonBody<RefundRequest>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    require_key(&request.idempotency_key)?;
    require_key(&request.charge_idempotency_key)?;
    let (created, refund) = store::refund(&db, &request).await?;
    if created {
        tracing::info!(order_id = %request.order_id, refund_id = %refund.refund_id, amount_cents = refund.amount_cents, "refunded");
    }
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(refund)))
}

#[derive(Deserialize)]
struct LedgerFilter {
    order_id: Option<String>,
}

#[derive(Serialize)]
struct Ledger {
    entries: Vec<store::LedgerEntry>,
}

async fn ledger(State(db): State<Db>, Query(filter): Query<LedgerFilter>) -> ApiResult<Json<Ledger>> {
    Ok(Json(Ledger { entries: store::entries(&db, filter.order_id.as_deref()).await? }))
}

fn require_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::invalid("invalid_request", "idempotency keys must be 1 to 200 characters"));
    }
    Ok(())
}
