//! | route                          | does                                                   |
//! |--------------------------------|--------------------------------------------------------|
//! | `POST /orders`                 | start an order's saga with its checkout (201, or 202); idempotent (`create_order.rs`) |
//! | `GET /orders`, `/orders/count` | find orders: visibility or read model (`order_list.rs`) |
//! | `GET /orders/{id}`             | one order: live from the workflow, or from the read model (`?source=read_model`, which can wait for a change: `order_changes.rs`) |
//! | `POST /orders/{id}/approve`, `/reject` | an operator decides (see `actions.rs`)     |
//! | `POST /orders/{id}/cancel`     | cancel before shipping; the saga undoes what it did    |
//! | `PUT /orders/{id}/shipping-address` | change the address before shipping             |
//! | `POST /batches`, `GET /batches/{id}` | many orders as one batch workflow (see `batches.rs`) |
//! | `GET /shipments`, `POST /shipments/{order_id}/events` | the courier view: parcels in flight, carrier events (`courier.rs`) |
//! | `/subscriptions...`            | subscriptions (see `subscriptions.rs`)                 |
//! | `PUT /internal/orders/{id}`    | the workflow records the order's state (an activity)   |
//! | `POST /internal/reconcile`, `/purge`, `/totals` | the scheduled operations (`operations.rs`) |
//! | `POST /codec/encode`, `/decode` | the Web UI's codec endpoint (`codec/endpoint.rs`)     |
//! | `GET /`, `/console/config`     | the web console (`console/`): a static page, no key    |
//!
//! Every route but the console's page needs an API key; `access.rs` says which role may call
//! which, and `limits.rs` how much.

use super::order_changes::MAX_WAIT_SECS;
use super::{
    ApiState, access, actions,
    api_keys::Caller,
    batches, console, create_order, order_list, read_model, subscriptions,
    views::{OrderView, ReadSource},
};
use crate::http::codes;
use crate::{
    codec::endpoint,
    http::{ApiError, ApiResult, JsonBody},
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{
        Method,
        header::{AUTHORIZATION, CONTENT_TYPE, HeaderName},
    },
    middleware,
    routing::{get, post, put},
};
use capstone_workflows::order::{OrderSnapshot, OrderStatus, OrderWorkflow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{RpcOptions, WorkflowQueryOptions};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub(super) fn routes(state: ApiState) -> Router {
    // Checked inside the handlers, against the key's customer id.
    let per_customer = Router::new()
        .route("/orders", get(order_list::list_orders).post(create_order::create_order))
        .route("/orders/count", get(order_list::count_orders))
        .route("/orders/{order_id}", get(get_order))
        .route("/subscriptions", post(subscriptions::create_subscription));
    let operators_only = Router::new()
        .route("/orders/{order_id}/approve", post(actions::approve))
        .route("/orders/{order_id}/reject", post(actions::reject))
        .route("/orders/{order_id}/cancel", post(actions::cancel))
        .route("/orders/{order_id}/shipping-address", put(actions::change_address))
        .route("/shipments", get(super::courier::in_transit))
        .route("/shipments/{order_id}/events", post(super::courier::report))
        .route("/batches", post(batches::create_batch))
        .route("/batches/{batch_id}", get(batches::get_batch))
        .route("/subscriptions/{subscription_id}", get(subscriptions::get_subscription))
        .route("/subscriptions/{subscription_id}/cancel", post(subscriptions::cancel_subscription))
        .route("/subscriptions/{subscription_id}/plan", put(subscriptions::change_plan))
        .route("/subscriptions/{subscription_id}/payment-method", put(subscriptions::update_payment_method));
    let operators_only = match state.faults {
        Some(_) => operators_only.route("/admin/faults", post(super::faults::set)),
        None => operators_only,
    }
    .route_layer(middleware::from_fn(access::operators_only));
    let services_only = Router::new()
        .route("/internal/orders/{order_id}", put(record_order))
        .route("/internal/reconcile", post(super::operations::reconcile))
        .route("/internal/purge", post(super::operations::purge))
        .route("/internal/totals", post(super::operations::totals))
        // A snapshot is bounded (`OrderSnapshot::timeline`), but larger than an order request.
        .layer(DefaultBodyLimit::max(RECORD_MAX_BODY_BYTES))
        .route_layer(middleware::from_fn(access::services_only));
    per_customer
        .merge(operators_only)
        .merge(services_only)
        .route_layer(middleware::from_fn_with_state(state.clone(), access::authenticate))
        .with_state(state.clone())
        .merge(codec_routes(state.clone()))
        .merge(console::routes(state.clone()))
        .layer(middleware::from_fn_with_state(state, access::admit))
}

/// The largest order snapshot a worker may record.
const RECORD_MAX_BODY_BYTES: usize = 256 * 1024;

/// The Web UI's codec endpoint: operator keys, as a header or (for the UI, which cannot send
/// one) in the path: `/codec/k/{key}/decode`. CORS lets the UI's origin call it from the
/// browser; the preflight needs no key, so the CORS layer sits outside the key check.
fn codec_routes(state: ApiState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(state.settings.ui_origins.iter().filter_map(|origin| origin.parse().ok())))
        .allow_methods([Method::POST])
        .allow_headers([
            CONTENT_TYPE,
            AUTHORIZATION,
            HeaderName::from_static("x-namespace"),
            HeaderName::from_static(access::API_KEY_HEADER),
        ])
        .allow_credentials(true);
    Router::new()
        .route("/codec/encode", post(endpoint::encode))
        .route("/codec/decode", post(endpoint::decode))
        .route("/codec/k/{key}/encode", post(endpoint::encode))
        .route("/codec/k/{key}/decode", post(endpoint::decode))
        .route_layer(middleware::from_fn(access::operators_only))
        .route_layer(middleware::from_fn_with_state(state.clone(), access::authenticate_codec))
        .with_state(state.settings.codec.clone())
        .layer(DefaultBodyLimit::max(CODEC_MAX_BODY_BYTES))
        .layer(cors)
}

/// The UI sends a whole event's payloads at once.
const CODEC_MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
struct GetOrderParams {
    /// `read_model`: answer from the read model only, without asking the workflow (cheap:
    /// one row; what a client polling many orders wants, e.g. `capstone loadgen`).
    source: Option<String>,
    /// With `source=read_model`: answer once the recorded status is not this one...
    changed_from: Option<String>,
    /// ...or after this many seconds (1 to `MAX_WAIT_SECS`), with the order unchanged.
    wait_secs: Option<u64>,
}

impl GetOrderParams {
    /// The long poll asked for, if any: the status to leave, and how long to wait for it.
    fn long_poll(&self) -> ApiResult<Option<(OrderStatus, Duration)>> {
        let (changed_from, wait_secs) = match (&self.changed_from, self.wait_secs) {
            (None, None) => return Ok(None),
            (Some(status), Some(secs)) => (status, secs),
            _ => return Err(ApiError::invalid_request("changed_from and wait_secs go together")),
        };
        if self.source.as_deref().and_then(ReadSource::parse) != Some(ReadSource::ReadModel) {
            return Err(ApiError::invalid_request("waiting for a change needs source=read_model"));
        }
        let status = OrderStatus::parse(changed_from).ok_or_else(|| {
            ApiError::invalid_request(format!("changed_from must be an order status, got {changed_from:?}"))
        })?;
        if !(1..=MAX_WAIT_SECS).contains(&wait_secs) {
            return Err(ApiError::invalid_request(format!("wait_secs must be 1 to {MAX_WAIT_SECS}, got {wait_secs}")));
        }
        Ok(Some((status, Duration::from_secs(wait_secs))))
    }
}

async fn get_order(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
    Query(params): Query<GetOrderParams>,
) -> ApiResult<Json<OrderView>> {
    let ask_the_workflow = match params.source.as_deref() {
        None => true,
        Some(text) if ReadSource::parse(text) == Some(ReadSource::Workflow) => true,
        Some(text) if ReadSource::parse(text) == Some(ReadSource::ReadModel) => false,
        Some(other) => {
            return Err(ApiError::invalid_request(format!("source must be `workflow` or `read_model`, got {other:?}")));
        }
    };
    let long_poll = params.long_poll()?;
    // Counted while it waits: a key holds at most so many requests open this way.
    let _open_poll = long_poll.map(|_| state.limits.start_long_poll(&caller)).transpose()?;
    // Another customer's order is answered as unknown: its existence is not theirs to learn.
    let mut row = read_model::find(&state.db, &order_id)
        .await?
        .filter(|row| caller.may_act_for(&row.customer_id))
        .ok_or_else(|| ApiError::not_found(codes::ORDER_NOT_FOUND, format!("no order {order_id}")))?;
    if let Some((changed_from, wait)) = long_poll
        && row.status == changed_from
    {
        let changed = state
            .order_changes
            .wait_for(&order_id, wait, || async {
                Ok::<_, ApiError>(
                    read_model::find(&state.db, &order_id).await?.filter(|row| row.status != changed_from),
                )
            })
            .await?;
        row = changed.unwrap_or(row);
    }
    let ui_url = state.workflow_ui_url(&row.workflow_id);
    if ask_the_workflow && !row.status.is_terminal() {
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
        return Err(ApiError::invalid_request("the snapshot's order_id does not match the path"));
    }
    let previous = read_model::find(&state.db, &order_id).await?.map(|row| row.status);
    if !read_model::record(&state.db, &snapshot).await? {
        // A late retry of an earlier write: the row already has something newer. Success for
        // the activity (there is nothing to retry), and the row does not go back.
        tracing::info!(%order_id, status = snapshot.status.as_str(), revision = snapshot.revision, "stale record ignored");
        return Ok(Json(json!({ "recorded": false, "status": previous.map(OrderStatus::as_str) })));
    }
    state.order_changes.changed(&order_id);
    crate::metrics::shop::order_recorded(previous, &snapshot);
    tracing::info!(%order_id, status = snapshot.status.as_str(), "order recorded in the read model");
    Ok(Json(json!({ "recorded": true, "status": snapshot.status.as_str() })))
}
