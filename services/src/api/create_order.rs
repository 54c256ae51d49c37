//! `POST /orders`: validate, price, record, start the saga.
//!
//! Idempotency: the order id is the workflow id's root, and the shop chooses it. A client that
//! sends an `Idempotency-Key` header gets an order id derived from the key *and its customer*
//! (a UUID v5), so it gets the same order back on every repeat: the read-model insert is `ON
//! CONFLICT DO NOTHING` and the workflow start uses the `UseExisting` conflict policy, so a
//! repeat never starts a second workflow or charge. Reusing a key for a *different* request is
//! refused with 409. A client cannot name an order id: ids the client chose would share one
//! space with the ids the shop makes (a batch's children), and another customer's.

use super::{
    ApiState,
    api_keys::Caller,
    read_model::{self, NewOrder},
    validation::{self, CreateOrderRequest, ValidOrder},
    views::Accepted,
};
use crate::http::{ApiError, ApiResult, JsonBody};
use crate::metrics::order_steps::timed;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
};
use capstone_workflows::{
    contracts::inventory::CatalogItem,
    order::{
        OrderInput, OrderLine, OrderSnapshot, OrderStatus, OrderWorkflow, PaymentDetails, order_workflow_id, visibility,
    },
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use temporalio_client::{
    RpcOptions, WorkflowDescribeOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
    errors::WorkflowStartError,
};
use temporalio_common::{MemoValues, search_attributes::SearchAttributes};

/// Order ids derived from idempotency keys live in this UUID v5 namespace.
const ORDER_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f9b_2c1e_8d4a_4b7f_9e3c_5a1d_2b8e_7c40);

pub(super) async fn create_order(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateOrderRequest>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Accepted>)> {
    if request.order_id.is_some() {
        return Err(ApiError::invalid(
            "invalid_request",
            "order_id is chosen by the shop; to make a retry safe, send an `Idempotency-Key` header instead",
        ));
    }
    let order = validation::validate(&request)?;
    caller.require_customer(&order.customer_id, "place an order")?;
    let order_id = id_for("ord", &order.customer_id, &headers)?;
    let lines = timed("catalog", price(&state, &order)).await?;
    let total_cents = total(&lines)?;
    let workflow_id = order_workflow_id(&order_id);
    let fingerprint = fingerprint(&order);

    let (queues, settings) = state.placement(&order.shipping_address.country);
    let input = OrderInput {
        order_id: order_id.clone(),
        customer_id: order.customer_id.clone(),
        email: order.email.clone(),
        lines,
        shipping_address: order.shipping_address.clone(),
        payment: PaymentDetails { provider: order.provider.clone(), card_token: order.card_token.clone() },
        total_cents,
        settings,
    };
    let received = OrderSnapshot::received(&input, crate::now_ms());
    let new_order = NewOrder {
        order_id: &order_id,
        workflow_id: &workflow_id,
        customer_id: &order.customer_id,
        total_cents,
        request_fingerprint: &fingerprint,
        // What `GET /orders/{id}` shows until the workflow reports: the order as accepted.
        snapshot: &received,
    };
    let previous = timed("read_model", read_model::insert_received(&state.db, &new_order)).await?;
    if let Some(faults) = &state.faults {
        faults.maybe_crash_after_insert(&order_id);
    }
    if let Some(previous) = &previous
        && previous.request_fingerprint != fingerprint
    {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            format!("order {order_id} exists and was placed with a different request"),
        ));
    }

    // Started even for a repeat: a previous attempt may have recorded the order and then
    // failed to reach Temporal. `UseExisting` makes a start of a running order a no-op, and
    // `RejectDuplicate` makes a finished order answer `AlreadyStarted` instead of running its
    // saga a second time (the server's default would allow a new run of a closed id).
    // The search attributes and memo are set at the start too, so that a list query finds the
    // order before its first workflow task has run (the workflow upserts them from then on).
    let mut memo = MemoValues::new();
    memo.insert(visibility::SUMMARY_MEMO, visibility::summary(&input, &received));
    let options = WorkflowStartOptions::new(queues.workflows, workflow_id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(SearchAttributes::new(visibility::search_attributes(&input, OrderStatus::Received)))
        .memo(memo)
        .build();
    let region = visibility::region(&input).to_owned();
    // The workflow joins the request's trace: the SDK's plugin takes its parent from the
    // OpenTelemetry context current while the start runs.
    let trace = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    let start = state.temporal.start_workflow(OrderWorkflow::run, input, options);
    match timed("start_workflow", opentelemetry::trace::FutureExt::with_context(start, trace)).await {
        Ok(_) => crate::metrics::shop::order_started(&region),
        Err(WorkflowStartError::AlreadyStarted { .. }) => {}
        Err(error) => {
            // Ambiguous: the start may have reached the server and only its answer was lost.
            // Ask before answering. The row stays either way: a retry with the same key finds
            // it and starts the same workflow (never a second one), and a row whose workflow
            // never started is the reconciliation's to settle.
            tracing::warn!(%order_id, "starting the order workflow failed: {error}; asking the server");
            if workflow_exists(&state, &workflow_id).await {
                tracing::info!(%order_id, "the workflow had started after all");
                crate::metrics::shop::order_started(&region);
            } else {
                return Err(ApiError::unavailable(
                    "temporal_unavailable",
                    "the order could not be started; retry the same request (with the same Idempotency-Key)",
                ));
            }
        }
    }

    let mut response_headers = HeaderMap::new();
    if previous.is_some() {
        response_headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    } else {
        tracing::info!(%order_id, %workflow_id, total_cents, "order accepted");
    }
    let status = previous.as_ref().map(|row| row.status).unwrap_or(OrderStatus::Received);
    Ok((
        StatusCode::ACCEPTED,
        response_headers,
        Json(Accepted { status_url: format!("/orders/{order_id}"), order_id, workflow_id, status, total_cents }),
    ))
}

/// Whether the server has a workflow under this id (after a start whose answer was lost).
/// `false` also when the server cannot be asked: the caller is told to retry, which is safe.
async fn workflow_exists(state: &ApiState, workflow_id: &str) -> bool {
    let handle = state.temporal.get_workflow_handle::<OrderWorkflow>(workflow_id.to_owned());
    let options = WorkflowDescribeOptions::builder()
        .rpc_options(RpcOptions::builder().timeout(std::time::Duration::from_secs(5)).build())
        .build();
    handle.describe(options).await.is_ok()
}

/// `{prefix}-...`: derived from `Idempotency-Key` (within `scope`, e.g. the customer) when the
/// client sent one, so that a repeat names the same thing; random otherwise.
pub(super) fn id_for(prefix: &str, scope: &str, headers: &HeaderMap) -> ApiResult<String> {
    match headers.get("idempotency-key") {
        Some(key) => {
            let key =
                key.to_str().map_err(|_| ApiError::invalid("invalid_request", "Idempotency-Key must be ASCII"))?;
            validation::validate_key("Idempotency-Key", key, 128)?;
            let name = format!("{prefix}\n{scope}\n{key}");
            Ok(format!("{prefix}-{}", uuid::Uuid::new_v5(&ORDER_ID_NAMESPACE, name.as_bytes()).simple()))
        }
        None => Ok(format!("{prefix}-{}", uuid::Uuid::new_v4().simple())),
    }
}

#[derive(Deserialize)]
struct Catalog {
    items: Vec<CatalogItem>,
}

/// Prices every line from the inventory's catalog; unknown SKUs are a 422.
pub(super) async fn price(state: &ApiState, order: &ValidOrder) -> ApiResult<Vec<OrderLine>> {
    let skus: Vec<&str> = order.items.iter().map(|(sku, _)| sku.as_str()).collect();
    let url = format!("{}/skus", state.settings.inventory_url.trim_end_matches('/'));
    let unavailable = |error: String| {
        tracing::warn!("catalog lookup failed: {error}");
        ApiError::unavailable("dependency_unavailable", "the catalog is unavailable; retry the same request")
    };
    let response = state
        .http
        .get(&url)
        .query(&[("skus", skus.join(","))])
        .send()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("inventory answered {}", response.status())));
    }
    let catalog: Catalog = response.json().await.map_err(|error| unavailable(error.to_string()))?;
    let prices: HashMap<&str, i64> =
        catalog.items.iter().map(|item| (item.sku.as_str(), item.unit_price_cents)).collect();
    let unknown: Vec<&str> = skus.iter().copied().filter(|sku| !prices.contains_key(sku)).collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid("unknown_sku", format!("not in the catalog: {}", unknown.join(", "))));
    }
    Ok(order
        .items
        .iter()
        .map(|(sku, qty)| OrderLine { sku: sku.clone(), qty: *qty, unit_price_cents: prices[sku.as_str()] })
        .collect())
}

pub(super) fn total(lines: &[OrderLine]) -> ApiResult<i64> {
    lines
        .iter()
        .try_fold(0i64, |sum, line| line.unit_price_cents.checked_mul(i64::from(line.qty))?.checked_add(sum))
        .ok_or_else(|| ApiError::invalid("invalid_request", "the order total is too large"))
}

fn fingerprint(order: &ValidOrder) -> String {
    let canonical = serde_json::to_vec(order).expect("a validated order serializes");
    hex::encode(Sha256::digest(canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_refuse_to_overflow() {
        let line = |price| OrderLine { sku: "X".into(), qty: 100, unit_price_cents: price };
        assert_eq!(total(&[line(150), line(50)]).unwrap(), 20_000);
        assert!(total(&[line(i64::MAX / 10)]).is_err());
    }
}
