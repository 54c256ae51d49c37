//! Subscriptions: one long-running `SubscriptionWorkflow` each.
//!
//! | route                                   | message                              |
//! |-----------------------------------------|--------------------------------------|
//! | `POST /subscriptions`                   | start the workflow                   |
//! | `GET /subscriptions/{id}`               | query `status`                       |
//! | `POST /subscriptions/{id}/cancel`       | signal `cancel` (ends at period end) |
//! | `PUT /subscriptions/{id}/plan`          | update `change_plan` (validated)     |
//! | `PUT /subscriptions/{id}/payment-method`| signal `update_payment_method`       |

use super::idempotent_start::{self, Start};
use super::views::SubscriptionAccepted;
use super::{ApiState, api_keys::Caller, create_order, validation};
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use capstone_workflows::subscription::{
    CancelRequest, PLANS, PaymentMethod, PlanChange, SubscriptionInput, SubscriptionView, SubscriptionWorkflow,
    plan_price, subscription_workflow_id,
};
use serde::Deserialize;
use std::time::Duration;
use temporalio_client::{
    Client, RpcOptions, WorkflowExecuteUpdateOptions, WorkflowHandle, WorkflowQueryOptions, WorkflowSignalOptions,
    errors::{WorkflowQueryError, WorkflowUpdateError},
};

/// Lengths the api puts into every new subscription (configurable so that tests take
/// seconds, not months).
#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    pub period: Duration,
    /// One trial day.
    pub day: Duration,
    pub dunning_delays: Vec<Duration>,
    pub renewals_per_run: u32,
}

#[derive(Debug, Deserialize)]
pub(super) struct CardBody {
    pub card_token: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateSubscriptionRequest {
    pub customer_id: String,
    pub plan: String,
    #[serde(default)]
    pub trial_days: u32,
    pub payment: CardBody,
}

pub(super) async fn create_subscription(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CreateSubscriptionRequest>,
) -> ApiResult<(StatusCode, Json<SubscriptionAccepted>)> {
    let mut problems = Vec::new();
    let customer_id = request.customer_id.trim();
    if validation::validate_key("customer_id", customer_id, 64).is_err() {
        problems.push("customer_id must be 1 to 64 characters of letters, digits, '_', '-', '.' or ':'".to_owned());
    }
    if plan_price(&request.plan).is_none() {
        let known: Vec<&str> = PLANS.iter().map(|(name, _)| *name).collect();
        problems.push(format!("plan must be one of: {}", known.join(", ")));
    }
    if request.trial_days > 90 {
        problems.push("trial_days must be at most 90".to_owned());
    }
    if validation::validate_key("payment.card_token", &request.payment.card_token, 64).is_err() {
        problems.push("payment.card_token must be 1 to 64 characters of letters, digits or '_'".to_owned());
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_request(problems.join("; ")));
    }
    caller.require_customer(customer_id, "subscribe")?;
    let subscription_id = create_order::id_for("sub", customer_id, &headers)?;
    let workflow_id = subscription_workflow_id(&subscription_id);
    let settings = &state.settings.subscriptions;
    let queues = state.settings.task_queues.clone();
    let plan = request.plan.clone();
    let input = SubscriptionInput {
        subscription_id: subscription_id.clone(),
        customer_id: customer_id.to_owned(),
        plan: request.plan,
        card_token: request.payment.card_token,
        trial_secs: settings.day.as_secs() * u64::from(request.trial_days),
        // Whole seconds: the flags refuse anything under a second (`config::at_least_a_second`).
        period_secs: settings.period.as_secs(),
        dunning_delays_secs: settings.dunning_delays.iter().map(Duration::as_secs).collect(),
        renewals_per_run: settings.renewals_per_run,
        activity_task_queue: queues.activities,
        payments_task_queue: queues.payments,
        carried: None,
    };
    let options = idempotent_start::options(queues.subscriptions, workflow_id.clone());
    let started = state.temporal.start_workflow(SubscriptionWorkflow::run, input, options).await;
    if idempotent_start::settle(started, "the subscription", &subscription_id)? == Start::Running {
        crate::metrics::shop::subscription_started(&plan);
    }
    tracing::info!(%subscription_id, "subscription started");
    Ok((
        StatusCode::ACCEPTED,
        Json(SubscriptionAccepted {
            status_url: format!("/subscriptions/{subscription_id}"),
            subscription_id,
            workflow_id,
        }),
    ))
}

pub(super) async fn get_subscription(
    State(state): State<ApiState>,
    Path(subscription_id): Path<String>,
) -> ApiResult<Json<SubscriptionView>> {
    let options = WorkflowQueryOptions::builder().rpc_options(rpc_timeout()).build();
    let view =
        handle(&state, &subscription_id).query(SubscriptionWorkflow::status, (), options).await.map_err(|error| {
            match error {
                WorkflowQueryError::NotFound(_) => not_found(&subscription_id),
                other => unavailable(&subscription_id, other),
            }
        })?;
    Ok(Json(view))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CancelBody {
    #[serde(default)]
    pub reason: String,
}

pub(super) async fn cancel_subscription(
    State(state): State<ApiState>,
    Path(subscription_id): Path<String>,
    JsonBody(body): JsonBody<CancelBody>,
) -> ApiResult<StatusCode> {
    let reason = if body.reason.trim().is_empty() { "cancelled through the api".to_owned() } else { body.reason };
    handle(&state, &subscription_id)
        .signal(SubscriptionWorkflow::cancel, CancelRequest { reason }.into(), WorkflowSignalOptions::default())
        .await
        .map_err(|error| signal_failed(&subscription_id, error))?;
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn update_payment_method(
    State(state): State<ApiState>,
    Path(subscription_id): Path<String>,
    JsonBody(body): JsonBody<CardBody>,
) -> ApiResult<StatusCode> {
    validation::validate_key("card_token", &body.card_token, 64)?;
    let method = PaymentMethod { card_token: body.card_token };
    handle(&state, &subscription_id)
        .signal(SubscriptionWorkflow::update_payment_method, method.into(), WorkflowSignalOptions::default())
        .await
        .map_err(|error| signal_failed(&subscription_id, error))?;
    Ok(StatusCode::ACCEPTED)
}

pub(super) async fn change_plan(
    State(state): State<ApiState>,
    Path(subscription_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PlanChange>,
) -> ApiResult<Json<SubscriptionView>> {
    let options = WorkflowExecuteUpdateOptions::builder()
        .maybe_update_id(super::actions::update_id(&headers, "plan")?)
        .rpc_options(rpc_timeout())
        .build();
    let view = handle(&state, &subscription_id)
        .execute_update(SubscriptionWorkflow::change_plan, body, options)
        .await
        .map_err(|error| match error {
            WorkflowUpdateError::Failed(failure) => ApiError::conflict(codes::UPDATE_REFUSED, failure.message.clone()),
            WorkflowUpdateError::NotFound(_) => not_found(&subscription_id),
            other => unavailable(&subscription_id, other),
        })?;
    Ok(Json(view))
}

fn handle(state: &ApiState, subscription_id: &str) -> WorkflowHandle<Client, SubscriptionWorkflow> {
    state.temporal.get_workflow_handle::<SubscriptionWorkflow>(subscription_workflow_id(subscription_id))
}

fn rpc_timeout() -> RpcOptions {
    RpcOptions::builder().timeout(Duration::from_secs(10)).build()
}

fn not_found(subscription_id: &str) -> ApiError {
    ApiError::not_found("subscription_not_found", format!("no subscription {subscription_id}"))
}

fn unavailable(subscription_id: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%subscription_id, "subscription call failed: {error}");
    ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, "the subscription could not be reached; retry")
}

fn signal_failed(subscription_id: &str, error: impl std::fmt::Display) -> ApiError {
    let message = error.to_string();
    if message.to_lowercase().contains("not found") || message.contains("already completed") {
        return ApiError::conflict(
            "subscription_ended",
            format!("subscription {subscription_id} has ended or does not exist"),
        );
    }
    unavailable(subscription_id, message)
}
