//! What an operator (or the customer) can do to a running order: approve, reject, cancel,
//! change the shipping address. Each is a message to the order's workflow:
//!
//! | route                                  | message                    | why that kind                 |
//! |----------------------------------------|----------------------------|-------------------------------|
//! | `POST /orders/{id}/approve`, `/reject` | update `decide`            | the caller learns at once whether the decision counted; the validator refuses bad ones without touching history |
//! | `PUT /orders/{id}/shipping-address`    | update `change_address`    | refused once shipping has started |
//! | `POST /orders/{id}/cancel`             | workflow cancellation      | Temporal's own request; the saga undoes what it did |
//!
//! The signals `approve` and `reject` do the same as `decide`, fire and forget: see
//! `docs/day-05.md` for sending them with `temporal workflow signal`.

use super::{ApiState, api_keys::Caller, read_model, validation, views::OrderView};
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use capstone_workflows::{
    contracts::Address,
    order::{Decision, OrderStatus, OrderWorkflow},
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_client::{
    Client, RpcOptions, WorkflowCancelOptions, WorkflowExecuteUpdateOptions, WorkflowHandle, WorkflowQueryOptions,
    errors::WorkflowUpdateError,
};

/// The operator is the key's (`Caller::deciding_operator`): a body may name it, and is
/// refused when it names another.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionBody {
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CancelBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub(super) struct CancellationRequested {
    pub order_id: String,
    pub status: &'static str,
    pub status_url: String,
}

pub(super) async fn approve(
    state: State<ApiState>,
    caller: Caller,
    path: Path<String>,
    body: JsonBody<DecisionBody>,
) -> ApiResult<Json<OrderView>> {
    decide(state, caller, path, body, true).await
}

pub(super) async fn reject(
    state: State<ApiState>,
    caller: Caller,
    path: Path<String>,
    body: JsonBody<DecisionBody>,
) -> ApiResult<Json<OrderView>> {
    decide(state, caller, path, body, false).await
}

async fn decide(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
    approve: bool,
) -> ApiResult<Json<OrderView>> {
    let operator = caller.deciding_operator(body.operator.as_deref())?;
    validation::validate_key("operator", &operator, 64)?;
    if body.reason.chars().count() > 500 {
        return Err(ApiError::invalid_request("reason must be at most 500 characters"));
    }
    let row = find(&state, &order_id).await?;
    let decision = Decision { approve, operator: operator.clone(), reason: body.reason };
    // One update id per (decision, operator): a retried request gets the first answer back
    // instead of "already decided".
    let options = WorkflowExecuteUpdateOptions::builder()
        .update_id(format!("decide-{}-{operator}", if approve { "approve" } else { "reject" }))
        .rpc_options(rpc_timeout())
        .build();
    let snapshot = handle(&state, &row.workflow_id)
        .execute_update(OrderWorkflow::decide, decision, options)
        .await
        .map_err(|error| update_refused(&order_id, error))?;
    Ok(Json(OrderView::live(&row, snapshot, state.workflow_ui_url(&row.workflow_id))))
}

pub(super) async fn change_address(
    State(state): State<ApiState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    JsonBody(address): JsonBody<Address>,
) -> ApiResult<Json<Address>> {
    let problems = validation::address_problems("shipping_address", &address);
    if !problems.is_empty() {
        return Err(ApiError::invalid_request(problems.join("; ")));
    }
    let row = find(&state, &order_id).await?;
    let address = validation::trimmed_address(&address);
    let options = WorkflowExecuteUpdateOptions::builder()
        .maybe_update_id(update_id(&headers, "address")?)
        .rpc_options(rpc_timeout())
        .build();
    let address = handle(&state, &row.workflow_id)
        .execute_update(OrderWorkflow::change_address, address, options)
        .await
        .map_err(|error| update_refused(&order_id, error))?;
    Ok(Json(address))
}

/// Asks Temporal to cancel the order's workflow. The workflow decides what that means: before
/// shipping it undoes every step and ends `CANCELLED`; from shipping on it is too late. This
/// handler checks first, so that a request that cannot succeed is refused with a reason.
pub(super) async fn cancel(
    State(state): State<ApiState>,
    Path(order_id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CancellationRequested>)> {
    // The body is optional: `curl -X POST .../cancel` is enough.
    let reason = if body.is_empty() {
        String::new()
    } else {
        serde_json::from_slice::<CancelBody>(&body)
            .map_err(|error| {
                ApiError::invalid(codes::INVALID_BODY, format!("expected {{\"reason\": \"...\"}}: {error}"))
            })?
            .reason
    };
    if reason.chars().count() > 500 {
        return Err(ApiError::invalid_request("reason must be at most 500 characters"));
    }
    let row = find(&state, &order_id).await?;
    let handle = handle(&state, &row.workflow_id);
    let query = WorkflowQueryOptions::builder().rpc_options(rpc_timeout()).build();
    let status = match handle.query(OrderWorkflow::status, (), query).await {
        Ok(snapshot) => snapshot.status,
        Err(_) => row.status,
    };
    if status.is_terminal() || status == OrderStatus::Compensating {
        return Err(ApiError::conflict(codes::ORDER_FINISHED, format!("order {order_id} is {}", status.as_str())));
    }
    if matches!(status, OrderStatus::Shipping | OrderStatus::SendingConfirmation) {
        return Err(ApiError::conflict("too_late_to_cancel", format!("order {order_id} is already shipping")));
    }
    let reason = if reason.trim().is_empty() { "cancelled through the api".to_owned() } else { reason };
    handle.cancel(WorkflowCancelOptions::builder().reason(reason).build()).await.map_err(|error| {
        tracing::warn!(%order_id, "cancelling failed: {error}");
        ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, "the cancellation could not be sent; retry")
    })?;
    tracing::info!(%order_id, "cancellation requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(CancellationRequested {
            status_url: format!("/orders/{order_id}"),
            order_id,
            status: "CANCELLATION_REQUESTED",
        }),
    ))
}

async fn find(state: &ApiState, order_id: &str) -> ApiResult<read_model::OrderRow> {
    read_model::find(&state.db, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(codes::ORDER_NOT_FOUND, format!("no order {order_id}")))
}

fn handle(state: &ApiState, workflow_id: &str) -> WorkflowHandle<Client, OrderWorkflow> {
    state.temporal.get_workflow_handle::<OrderWorkflow>(workflow_id.to_owned())
}

/// An update id from the client's `Idempotency-Key`: a retried request with the same key gets
/// the first answer back instead of changing things twice. Without a key every request is a
/// new change (an id derived from the content would wrongly swallow a later change back).
pub(super) fn update_id(headers: &HeaderMap, kind: &str) -> ApiResult<Option<String>> {
    let Some(key) = headers.get("idempotency-key") else { return Ok(None) };
    let key = key.to_str().map_err(|_| ApiError::invalid_request("Idempotency-Key must be ASCII"))?;
    validation::validate_key("Idempotency-Key", key, 128)?;
    Ok(Some(format!("{kind}-{key}")))
}

fn rpc_timeout() -> RpcOptions {
    RpcOptions::builder().timeout(Duration::from_secs(10)).build()
}

/// A refused update is the workflow saying no (409, with its reason); anything else means we
/// could not ask (503).
fn update_refused(order_id: &str, error: WorkflowUpdateError) -> ApiError {
    match error {
        WorkflowUpdateError::Failed(failure) => ApiError::conflict(codes::UPDATE_REFUSED, failure.message.clone()),
        WorkflowUpdateError::NotFound(_) => {
            ApiError::conflict(codes::ORDER_FINISHED, format!("order {order_id} has finished"))
        }
        other => {
            let message = other.to_string();
            if message.contains("already completed") || message.contains("workflow execution already") {
                return ApiError::conflict(codes::ORDER_FINISHED, format!("order {order_id} has finished"));
            }
            tracing::warn!(%order_id, "update failed: {message}");
            ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, "the order could not be reached; retry")
        }
    }
}
