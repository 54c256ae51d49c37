//! Starting an order: with its checkout (update-with-start), or on its own.

use super::super::ApiState;
use crate::http::codes;
use crate::http::{ApiError, ApiResult};
use crate::metrics::order_steps::timed;
use capstone_workflows::order::{
    CheckoutAnswer, CheckoutRequest, OrderInput, OrderSnapshot, OrderStatus, OrderWorkflow,
    checkout::IDEMPOTENCY_KEY_REUSED, visibility,
};
use temporalio_client::{
    RpcOptions, WorkflowDescribeOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowUpdateWithStartOptions,
    errors::{WorkflowStartError, WorkflowUpdateError, WorkflowUpdateWithStartError},
};
use temporalio_common::{MemoValues, search_attributes::SearchAttributes};

pub(super) enum Started {
    /// The checkout answered: the reservation's outcome.
    CheckedOut(CheckoutAnswer),
    /// Started (or joined), and its checkout not awaited or not answered in time.
    Accepted,
    /// The id's order has finished and this request started nothing (`RejectDuplicate`).
    FinishedEarlier,
}

/// Starts the order and waits, up to `CHECKOUT_WAIT`, for its checkout: one round trip.
pub(super) async fn check_out(
    state: &ApiState,
    input: OrderInput,
    task_queue: &str,
    received: &OrderSnapshot,
    request: CheckoutRequest,
) -> ApiResult<Started> {
    let order_id = input.order_id.clone();
    let workflow_id = capstone_workflows::order::order_workflow_id(&order_id);
    let region = visibility::region(&input).to_owned();
    // The update id is the request's: a repeat gets the answer the server already has (even
    // after the order closed), another request under the same key meets the validator.
    let update_id = format!("checkout-{}", &request.request_fingerprint[..request.request_fingerprint.len().min(32)]);
    let options = WorkflowUpdateWithStartOptions::new(
        task_queue.to_owned(),
        workflow_id.clone(),
        WorkflowIdConflictPolicy::UseExisting,
    )
    .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
    .search_attributes(SearchAttributes::new(visibility::search_attributes(&input, OrderStatus::Received)))
    .memo(memo(&input, received))
    .update_id(update_id)
    .build();
    let trace = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    let call = state.temporal.execute_update_with_start_workflow(
        OrderWorkflow::run,
        input,
        OrderWorkflow::checkout,
        request,
        options,
    );
    let call = opentelemetry::trace::FutureExt::with_context(call, trace);
    let outcome = tokio::time::timeout(state.settings.limits.checkout_wait, timed("checkout", call)).await;
    match outcome {
        Ok(Ok(answer)) => {
            crate::metrics::shop::order_started(&region);
            Ok(Started::CheckedOut(answer))
        }
        Ok(Err(WorkflowUpdateWithStartError::Start(WorkflowStartError::AlreadyStarted { .. }))) => {
            Ok(Started::FinishedEarlier)
        }
        Ok(Err(WorkflowUpdateWithStartError::Update(WorkflowUpdateError::Failed(failure))))
            if failure.message.contains(IDEMPOTENCY_KEY_REUSED) =>
        {
            Err(ApiError::conflict(
                IDEMPOTENCY_KEY_REUSED,
                format!("order {order_id} exists and was placed with a different request"),
            ))
        }
        Ok(Err(error)) => settle_ambiguous(state, &order_id, &workflow_id, &region, &error.to_string()).await,
        Err(_elapsed) => {
            tracing::info!(%order_id, "no checkout answer within CHECKOUT_WAIT: answering 202");
            settle_ambiguous(state, &order_id, &workflow_id, &region, "the checkout took longer than CHECKOUT_WAIT")
                .await
        }
    }
}

/// Starts the order without waiting for anything (`Prefer: respond-async`).
pub(super) async fn start(
    state: &ApiState,
    input: OrderInput,
    task_queue: &str,
    received: &OrderSnapshot,
) -> ApiResult<Started> {
    let order_id = input.order_id.clone();
    let workflow_id = capstone_workflows::order::order_workflow_id(&order_id);
    let region = visibility::region(&input).to_owned();
    // A repeat cannot run the saga twice (`idempotent_start`). The search attributes and memo
    // are set at the start too, so that a list query finds the order before its first
    // workflow task has run (the workflow upserts them from then on).
    let mut options = super::super::idempotent_start::options(task_queue, workflow_id.clone());
    options.search_attributes =
        Some(SearchAttributes::new(visibility::search_attributes(&input, OrderStatus::Received)));
    options.memo = Some(memo(&input, received));
    // The workflow joins the request's trace: the SDK's plugin takes its parent from the
    // OpenTelemetry context current while the start runs.
    let trace = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    let start = state.temporal.start_workflow(OrderWorkflow::run, input, options);
    match timed("start_workflow", opentelemetry::trace::FutureExt::with_context(start, trace)).await {
        Ok(_) => {
            crate::metrics::shop::order_started(&region);
            Ok(Started::Accepted)
        }
        Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Started::FinishedEarlier),
        Err(error) => settle_ambiguous(state, &order_id, &workflow_id, &region, &error.to_string()).await,
    }
}

/// A start whose outcome is unknown: it may have reached the server and only its answer was
/// lost. Ask before answering. Nothing was written yet: if the server has no such workflow,
/// the client's retry with the same key starts the one order.
async fn settle_ambiguous(
    state: &ApiState,
    order_id: &str,
    workflow_id: &str,
    region: &str,
    error: &str,
) -> ApiResult<Started> {
    tracing::warn!(%order_id, "starting the order workflow failed: {error}; asking the server");
    if workflow_exists(state, workflow_id).await {
        tracing::info!(%order_id, "the workflow had started after all");
        crate::metrics::shop::order_started(region);
        Ok(Started::Accepted)
    } else {
        Err(ApiError::unavailable(
            codes::TEMPORAL_UNAVAILABLE,
            "the order could not be started; retry the same request (with the same Idempotency-Key)",
        ))
    }
}

fn memo(input: &OrderInput, received: &OrderSnapshot) -> MemoValues {
    let mut memo = MemoValues::new();
    memo.insert(visibility::SUMMARY_MEMO, visibility::summary(input, received));
    memo
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
