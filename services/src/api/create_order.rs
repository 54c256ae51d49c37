//! `POST /orders`: validate, price, start the saga, record.
//!
//! **Checkout in one round trip.** By default the api starts the order and asks it,
//! in the same call (update-with-start: the `checkout` update), whether the stock is there:
//! `201` once it is reserved, `409 out_of_stock` naming the SKU when it is not. A customer
//! learns at the checkout, not by polling. If the answer takes longer than `CHECKOUT_WAIT`
//! (workers down, a slow inventory), the order is started all the same and the api answers
//! `202`. A client that sends `Prefer: respond-async` gets `202` at once, without waiting.
//!
//! **Idempotency.** The order id is the workflow id's root, and the shop chooses it: a client
//! that sends an `Idempotency-Key` header gets an id derived from the key *and its customer*
//! (a UUID v5), so a repeat names the same order. The start uses `UseExisting` (a repeat joins
//! the running order) and `RejectDuplicate` (a finished order is never run again); the
//! checkout's update id is derived from the request's fingerprint, so the server answers a
//! repeat from the update it already ran, and a *different* request under the same key is
//! refused by the update's validator (`409 idempotency_key_reused`). A client cannot name an
//! order id: ids the client chose would share one space with the ids the shop makes.
//!
//! **Workflow first, then the row.** The read-model row is written after the workflow has
//! started, never before: a crash between the two leaves a workflow without its row for a
//! moment, and the workflow writes the row itself at its first record (the record is an
//! upsert). The reverse, a row whose workflow never started, cannot happen.

use super::{
    ApiState,
    api_keys::Caller,
    read_model::{self, NewOrder},
    validation::{self, CreateOrderRequest, ValidOrder},
    views::Accepted,
};
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use crate::metrics::order_steps::timed;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::{
    contracts::inventory::CatalogItem,
    order::{
        CheckoutAnswer, CheckoutRequest, OrderInput, OrderLine, OrderSnapshot, PaymentDetails,
        checkout::IDEMPOTENCY_KEY_REUSED, order_workflow_id,
    },
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

mod start;
use start::Started;

/// Order ids derived from idempotency keys live in this UUID v5 namespace.
const ORDER_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f9b_2c1e_8d4a_4b7f_9e3c_5a1d_2b8e_7c40);

pub(super) async fn create_order(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateOrderRequest>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Accepted>)> {
    if request.order_id.is_some() {
        return Err(ApiError::invalid_request(
            "order_id is chosen by the shop; to make a retry safe, send an `Idempotency-Key` header instead",
        ));
    }
    let order = validation::validate(&request)?;
    caller.require_customer(&order.customer_id, "place an order")?;
    let order_id = id_for("ord", &order.customer_id, &headers)?;
    let respond_async = wants_async(&headers);
    let lines = timed("catalog", price(&state, &order)).await?;
    let total_cents = total(&lines)?;
    let workflow_id = order_workflow_id(&order_id);
    let fingerprint = fingerprint(&order);

    // A repeat whose row is there: a different request under the same key is refused at once.
    let previous = timed("read_model", read_model::find(&state.db, &order_id)).await?;
    if let Some(previous) = &previous
        && !previous.request_fingerprint.is_empty()
        && previous.request_fingerprint != fingerprint
    {
        return Err(key_reused(&order_id));
    }

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
        request_fingerprint: fingerprint.clone(),
    };
    let received = OrderSnapshot::received(&input, crate::now_ms());
    let started = if respond_async {
        start::start(&state, input, &queues.workflows, &received).await?
    } else {
        start::check_out(
            &state,
            input,
            &queues.workflows,
            &received,
            CheckoutRequest { request_fingerprint: fingerprint.clone() },
        )
        .await?
    };
    if let Started::FinishedEarlier = started
        && previous
            .as_ref()
            .is_none_or(|row| !row.request_fingerprint.is_empty() && row.request_fingerprint != fingerprint)
    {
        // The key's order has finished, and it was another request (or there is no trace of
        // it at all: its row is written at the latest when it ends).
        return Err(key_reused(&order_id));
    }

    if let Some(faults) = &state.faults {
        faults.maybe_crash_after_start(&order_id);
    }
    let new_order = NewOrder {
        order_id: &order_id,
        workflow_id: &workflow_id,
        customer_id: &order.customer_id,
        total_cents,
        request_fingerprint: &fingerprint,
        // What `GET /orders/{id}` shows until the workflow reports: the order as accepted.
        snapshot: &received,
    };
    timed("read_model", read_model::insert_accepted(&state.db, &new_order)).await?;

    let mut response_headers = HeaderMap::new();
    if previous.is_some() {
        response_headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    } else {
        tracing::info!(%order_id, %workflow_id, total_cents, "order accepted");
    }
    let status_url = format!("/orders/{order_id}");
    let mut accepted =
        Accepted { status_url, order_id, workflow_id, status: received.status, total_cents, reservation_id: None };
    let code = match started {
        Started::CheckedOut(CheckoutAnswer { out_of_stock: Some(refusal), .. }) => {
            return Err(ApiError::conflict(
                "out_of_stock",
                format!("order {}: not enough stock: {refusal}", accepted.order_id),
            ));
        }
        Started::CheckedOut(answer) => {
            accepted.status = answer.status;
            accepted.reservation_id = answer.reservation_id;
            if let Ok(location) = HeaderValue::from_str(&accepted.status_url) {
                response_headers.insert(header::LOCATION, location);
            }
            StatusCode::CREATED
        }
        Started::Accepted | Started::FinishedEarlier => {
            if let Some(previous) = &previous {
                accepted.status = previous.status;
            }
            StatusCode::ACCEPTED
        }
    };
    Ok((code, response_headers, Json(accepted)))
}

/// `Prefer: respond-async` (RFC 7240): the client does not want to wait for the checkout.
fn wants_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| preference.trim().eq_ignore_ascii_case("respond-async"))
}

fn key_reused(order_id: &str) -> ApiError {
    ApiError::conflict(
        IDEMPOTENCY_KEY_REUSED,
        format!("order {order_id} exists and was placed with a different request"),
    )
}

/// `{prefix}-...`: derived from `Idempotency-Key` (within `scope`, e.g. the customer) when the
/// client sent one, so that a repeat names the same thing; random otherwise.
pub(super) fn id_for(prefix: &str, scope: &str, headers: &HeaderMap) -> ApiResult<String> {
    match headers.get("idempotency-key") {
        Some(key) => {
            let key = key.to_str().map_err(|_| ApiError::invalid_request("Idempotency-Key must be ASCII"))?;
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
        ApiError::unavailable(codes::DEPENDENCY_UNAVAILABLE, "the catalog is unavailable; retry the same request")
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
        return Err(ApiError::refused(refusals::UNKNOWN_SKU, format!("not in the catalog: {}", unknown.join(", "))));
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
        .ok_or_else(|| ApiError::invalid_request("the order total is too large"))
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
