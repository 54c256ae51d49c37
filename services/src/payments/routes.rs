//! | route                  | does                                                        |
//! |------------------------|-------------------------------------------------------------|
//! | `POST /charges`        | take money; idempotent by `idempotency_key`                 |
//! | `POST /refunds`        | give a charge back (or void its key); idempotent            |
//! | `GET /ledger?order_id=`| the ledger rows of an order (all rows when absent)          |
//! | `POST /ledger/charged-orders` | orders charged since a time (the reconcile schedule) |
//! | `POST /ledger/totals`  | cents charged and refunded in a period (the daily report)   |

use super::{
    providers::{BusyOnFirstAttempt, Provider},
    store,
};
use crate::metrics;
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
use capstone_workflows::contracts::payments::{Charge, ChargePurpose, ChargeRequest, Refund, RefundRequest};
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct PaymentsState {
    db: Db,
    busy: BusyOnFirstAttempt,
}

pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/charges", post(charge))
        .route("/refunds", post(refund))
        .route("/ledger", get(ledger))
        .route("/ledger/charged-orders", post(charged_orders))
        .route("/ledger/totals", post(totals))
        .with_state(PaymentsState { db, busy: BusyOnFirstAttempt::default() })
}

async fn charge(
    State(state): State<PaymentsState>,
    JsonBody(request): JsonBody<ChargeRequest>,
) -> ApiResult<(StatusCode, Json<Charge>)> {
    require_key(&request.idempotency_key)?;
    if request.amount_cents <= 0 {
        return Err(ApiError::invalid_request("amount_cents must be positive"));
    }
    let provider = Provider::named(&request.provider)?;
    tokio::time::sleep(provider.latency()).await;
    state.busy.check(provider, &request.idempotency_key)?;
    let renewal = request.purpose == ChargePurpose::SubscriptionRenewal;
    if let Some(decline) = provider.decline(&request) {
        tracing::info!(order_id = %request.order_id, provider = %request.provider, "charge declined");
        if renewal {
            metrics::shop::renewal_charge("declined");
        }
        return Err(decline);
    }
    let (created, charge) = store::charge(&state.db, &request).await?;
    if created {
        tracing::info!(order_id = %charge.order_id, charge_id = %charge.charge_id, amount_cents = charge.amount_cents, "charged");
        metrics::shop::ledger_entry("charge", &charge.provider, charge.amount_cents);
        if renewal {
            metrics::shop::renewal_charge("charged");
        }
    }
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(charge)))
}

async fn refund(
    State(PaymentsState { db, .. }): State<PaymentsState>,
    JsonBody(request): JsonBody<RefundRequest>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    require_key(&request.idempotency_key)?;
    require_key(&request.charge_idempotency_key)?;
    let (created, refund) = store::refund(&db, &request).await?;
    if created {
        tracing::info!(order_id = %request.order_id, refund_id = %refund.refund_id, amount_cents = refund.amount_cents, "refunded");
        // A refund that found no charge voided its key instead: nothing moved.
        let kind = if refund.charge_id.is_some() { "refund" } else { "void" };
        metrics::shop::ledger_entry(kind, "", refund.amount_cents);
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

async fn ledger(
    State(PaymentsState { db, .. }): State<PaymentsState>,
    Query(filter): Query<LedgerFilter>,
) -> ApiResult<Json<Ledger>> {
    Ok(Json(Ledger { entries: store::entries(&db, filter.order_id.as_deref()).await? }))
}

fn require_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::invalid_request("idempotency keys must be 1 to 200 characters"));
    }
    Ok(())
}

async fn charged_orders(
    State(state): State<PaymentsState>,
    JsonBody(request): JsonBody<capstone_workflows::contracts::operations::ChargedOrdersRequest>,
) -> ApiResult<Json<capstone_workflows::contracts::operations::ChargedOrders>> {
    if !(1..=1000).contains(&request.limit) {
        return Err(ApiError::invalid_request("limit must be 1..=1000"));
    }
    let order_ids = store::charged_orders(&state.db, request.since_ms, request.limit).await?;
    Ok(Json(capstone_workflows::contracts::operations::ChargedOrders { order_ids }))
}

async fn totals(
    State(state): State<PaymentsState>,
    JsonBody(request): JsonBody<capstone_workflows::contracts::operations::TotalsRequest>,
) -> ApiResult<Json<capstone_workflows::contracts::operations::LedgerTotals>> {
    if request.from_ms >= request.to_ms {
        return Err(ApiError::invalid_request("from_ms must be before to_ms"));
    }
    Ok(Json(store::totals(&state.db, request.from_ms, request.to_ms).await?))
}
