//! `POST /batches` and `GET /batches/{id}`: many orders as one `BatchWorkflow`.

use super::idempotent_start::{self, Start};
use super::views::{BatchAccepted, BatchView};
use super::{
    ApiState, create_order,
    validation::{self, CreateOrderRequest, ItemRequest, PaymentRequest},
};
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use capstone_workflows::{
    batch::{BatchInput, BatchProgress, BatchWorkflow, OrderTemplate, RollbackPolicy, batch_workflow_id},
    contracts::Address,
    order::PaymentDetails,
    payloads::Packed,
};
use serde::Deserialize;
use std::time::Duration;
use temporalio_client::{RpcOptions, WorkflowQueryOptions, errors::WorkflowQueryError};

pub const MAX_BATCH: u32 = 5_000;

/// The order every child places.
#[derive(Debug, Deserialize)]
pub(super) struct BatchOrder {
    pub items: Vec<ItemRequest>,
    pub shipping_address: Address,
    pub payment: PaymentRequest,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateBatchRequest {
    #[serde(default = "default_count")]
    pub count: u32,
    #[serde(default = "default_window")]
    pub window: u32,
    #[serde(default = "default_max_failure_percent")]
    pub max_failure_percent: u32,
    #[serde(default = "default_min_finished")]
    pub min_finished: u32,
    #[serde(default = "default_customer_prefix")]
    pub customer_prefix: String,
    /// Where every child's confirmation goes (checked like an order's `email`).
    #[serde(default)]
    pub email: String,
    pub order: BatchOrder,
}

fn default_count() -> u32 {
    100
}
fn default_window() -> u32 {
    10
}
fn default_max_failure_percent() -> u32 {
    50
}
fn default_min_finished() -> u32 {
    10
}
fn default_customer_prefix() -> String {
    "bulk".to_owned()
}

pub(super) async fn create_batch(
    State(state): State<ApiState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateBatchRequest>,
) -> ApiResult<(StatusCode, Json<BatchAccepted>)> {
    let mut problems = Vec::new();
    if !(1..=MAX_BATCH).contains(&request.count) {
        problems.push(format!("count must be between 1 and {MAX_BATCH}"));
    }
    if !(1..=100).contains(&request.window) {
        problems.push("window must be between 1 and 100".to_owned());
    }
    if request.max_failure_percent > 100 {
        problems.push("max_failure_percent must be between 0 and 100".to_owned());
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_request(problems.join("; ")));
    }
    // The children are ordinary orders: the same checks, once.
    let order = validation::validate(&CreateOrderRequest {
        order_id: None,
        customer_id: request.customer_prefix.clone(),
        email: request.email.clone(),
        items: request.order.items,
        shipping_address: request.order.shipping_address,
        payment: request.order.payment,
    })?;
    let lines = create_order::price(&state, &order).await?;
    let total_cents = create_order::total(&lines)?;
    let approval = &state.settings.approval;
    if approval.requires_approval(total_cents) {
        return Err(ApiError::invalid_request(format!(
            "each order of a batch must stay within {} cents: larger ones need an operator each",
            approval.threshold_cents
        )));
    }
    let batch_id = create_order::id_for("bat", &order.customer_id, &headers)?;
    let workflow_id = batch_workflow_id(&batch_id);
    let (queues, settings) = state.placement(&order.shipping_address.country);
    let input = BatchInput {
        batch_id: batch_id.clone(),
        count: request.count,
        template: OrderTemplate {
            customer_prefix: order.customer_id.clone(),
            email: order.email.clone(),
            lines,
            shipping_address: order.shipping_address.clone(),
            payment: PaymentDetails { provider: order.provider.clone(), card_token: order.card_token.clone() },
            total_cents,
            settings,
        },
        window: request.window,
        rollback: RollbackPolicy {
            max_failure_percent: request.max_failure_percent,
            min_finished: request.min_finished,
        },
        children_per_run: state.settings.batch_children_per_run,
        progress: BatchProgress::default(),
    };
    let options = idempotent_start::options(queues.workflows, workflow_id.clone());
    let started = state.temporal.start_workflow(BatchWorkflow::run, Packed(input), options).await;
    if idempotent_start::settle(started, "the batch", &batch_id)? == Start::Running {
        crate::metrics::shop::batch_started(request.count);
    }
    tracing::info!(%batch_id, count = request.count, window = request.window, "batch accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(BatchAccepted {
            status_url: format!("/batches/{batch_id}"),
            batch_id,
            workflow_id,
            count: request.count,
            total_cents_each: total_cents,
        }),
    ))
}

/// Answered by the `progress` query: while the batch runs, and after (a worker replays it).
pub(super) async fn get_batch(
    State(state): State<ApiState>,
    Path(batch_id): Path<String>,
) -> ApiResult<Json<BatchView>> {
    let workflow_id = batch_workflow_id(&batch_id);
    let handle = state.temporal.get_workflow_handle::<BatchWorkflow>(workflow_id.clone());
    let options = WorkflowQueryOptions::builder()
        .rpc_options(RpcOptions::builder().timeout(Duration::from_secs(10)).build())
        .build();
    let progress = handle.query(BatchWorkflow::progress, (), options).await.map_err(|error| match error {
        WorkflowQueryError::NotFound(_) => ApiError::not_found("batch_not_found", format!("no batch {batch_id}")),
        other => {
            tracing::warn!(%batch_id, "progress query failed: {other}");
            ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, "the batch could not be asked; retry")
        }
    })?;
    let temporal_ui_url = state.workflow_ui_url(&workflow_id);
    Ok(Json(BatchView { batch_id, workflow_id, progress, temporal_ui_url }))
}
