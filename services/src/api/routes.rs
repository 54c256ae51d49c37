//! | route                          | does                                                   |
//! |--------------------------------|--------------------------------------------------------|
//! | `POST /orders`                 | accept an order, start its saga (202); idempotent      |
//! | `GET /orders`                  | list orders from the read model                        |
//! | `GET /orders/{id}`             | one order: live from the workflow, or from the read model |
//! | `POST /orders/{id}/approve`, `/reject` | an operator decides (see `actions.rs`)     |
//! | `POST /orders/{id}/cancel`     | cancel before shipping; the saga undoes what it did    |
//! | `PUT /orders/{id}/shipping-address` | change the address before shipping             |
//! | `POST /batches`, `GET /batches/{id}` | many orders as one batch workflow (see `batches.rs`) |
//! | `/subscriptions...`            | subscriptions (see `subscriptions.rs`)                 |
//! | `PUT /internal/orders/{id}`    | the workflow records the order's state (an activity)   |

use super::{
    ApiState, actions, batches, create_order, read_model, subscriptions,
    views::{OrderList, OrderView},
};
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{get, post, put},
};
use capstone_workflows::order::{OrderSnapshot, OrderStatus, OrderWorkflow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{RpcOptions, WorkflowQueryOptions};

pub(super) fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/orders", get(list_orders).post(create_order::create_order))
        .route("/orders/{order_id}", get(get_order))
        .route("/orders/{order_id}/approve", post(actions::approve))
        .route("/orders/{order_id}/reject", post(actions::reject))
        .route("/orders/{order_id}/cancel", post(actions::cancel))
        .route("/orders/{order_id}/shipping-address", put(actions::change_address))
        .route("/batches", post(batches::create_batch))
        .route("/batches/{batch_id}", get(batches::get_batch))
        .route("/subscriptions", post(subscriptions::create_subscription))
        .route("/subscriptions/{subscription_id}", get(subscriptions::get_subscription))
        .route("/subscriptions/{subscription_id}/cancel", post(subscriptions::cancel_subscription))
        .route("/subscriptions/{subscription_id}/plan", put(subscriptions::change_plan))
        .route("/subscriptions/{subscription_id}/payment-method", put(subscriptions::update_payment_method))
        .route("/internal/orders/{order_id}", put(record_order))
        .with_state(state)
}

#[derive(Deserialize)]
struct ListFilter {
    customer_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

async fn list_orders(State(state): State<ApiState>, Query(filter): Query<ListFilter>) -> ApiResult<Json<OrderList>> {
    let status = match filter.status.as_deref() {
        None => None,
        Some(name) => Some(
            OrderStatus::parse(name)
                .ok_or_else(|| ApiError::invalid("invalid_query", format!("unknown status {name:?}")))?,
        ),
    };
    let limit = filter.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("invalid_query", "limit must be between 1 and 200"));
    }
    let rows = read_model::list(&state.db, filter.customer_id.as_deref(), status, limit).await?;
    Ok(Json(OrderList::new(rows)))
}

async fn get_order(State(state): State<ApiState>, Path(order_id): Path<String>) -> ApiResult<Json<OrderView>> {
    let row = read_model::find(&state.db, &order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order_not_found", format!("no order {order_id}")))?;
    let ui_url = state.workflow_ui_url(&row.workflow_id);
    if !row.status.is_terminal() {
        // Still running: ask the workflow itself (a query runs on a worker, against the
        // workflow's in-memory state, without changing its history).
        let handle = state.temporal.get_workflow_handle::<OrderWorkflow>(row.workflow_id.clone());
        let options = WorkflowQueryOptions::builder()
            .rpc_options(RpcOptions::builder().timeout(Duration::from_secs(5)).build())
            .build();
        match handle.query(OrderWorkflow::status, (), options).await {
            Ok(snapshot) => return Ok(Json(OrderView::live(&row, snapshot, ui_url))),
            Err(error) => tracing::warn!(%order_id, "status query failed, answering from the read model: {error}"),
        }
    }
    Ok(Json(OrderView::recorded(&row, ui_url)))
}

async fn record_order(
    State(state): State<ApiState>,
    Path(order_id): Path<String>,
    JsonBody(snapshot): JsonBody<OrderSnapshot>,
) -> ApiResult<Json<Value>> {
    if snapshot.order_id != order_id {
        return Err(ApiError::invalid("invalid_request", "the snapshot's order_id does not match the path"));
    }
    read_model::record(&state.db, &snapshot).await?;
    tracing::info!(%order_id, status = snapshot.status.as_str(), "order recorded in the read model");
    Ok(Json(json!({ "recorded": snapshot.status.as_str() })))
}
