//! The api's part of the scheduled operations (services only, `/internal/...`):
//!
//! | route                      | does                                                        |
//! |----------------------------|-------------------------------------------------------------|
//! | `POST /internal/reconcile` | compare the read model with the order workflows; repair rows |
//! | `POST /internal/purge`     | delete one batch of finished orders' rows past an age        |
//! | `POST /internal/totals`    | orders placed in a period, by status                         |
//!
//! Reconcile repairs only what the workflow can vouch for: a row is rewritten from the
//! workflow's own `status` query (the same write the workflow makes, revision-checked). What
//! needs a person (a row whose workflow does not exist, a charge with no order) is reported
//! and counted, never guessed at.

use super::{ApiState, read_model};
use crate::http::codes;
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{Json, extract::State};
use capstone_workflows::{
    contracts::operations::{
        DayTotals, Finding, FindingKind, PurgeRequest, PurgeTarget, Purged, ReconcileReport, ReconcileRequest,
        TotalsRequest,
    },
    order::{OrderStatus, OrderWorkflow, order_workflow_id, visibility::ORDER_STATUS},
    subscription::subscription_workflow_id,
};
use futures::StreamExt;
use std::time::Duration;
use temporalio_client::{
    RpcOptions, WorkflowDescribeOptions, WorkflowListOptions, WorkflowQueryOptions, errors::WorkflowInteractionError,
};

const MAX_LIMIT: i64 = 1000;

pub(super) async fn reconcile(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<ReconcileRequest>,
) -> ApiResult<Json<ReconcileReport>> {
    if request.settle_ms < 0 || request.lookback_ms <= 0 || !(1..=MAX_LIMIT).contains(&request.limit) {
        return Err(ApiError::invalid_request(format!(
            "settle_ms >= 0, lookback_ms > 0 and limit 1..={MAX_LIMIT} are required"
        )));
    }
    let now = crate::now_ms();
    let settled = now - request.settle_ms;
    let since = now - request.lookback_ms;
    let mut report = ReconcileReport::default();
    workflows_against_rows(&state, &request, since, settled, &mut report).await?;
    rows_against_workflows(&state, &request, since, settled, &mut report).await?;
    charges_against_orders(&state, &request, &mut report).await?;
    for finding in &report.findings {
        crate::metrics::reconcile::finding(finding.kind.as_str(), finding.repaired);
        tracing::warn!(order_id = %finding.order_id, kind = finding.kind.as_str(), repaired = finding.repaired, "{}", finding.detail);
    }
    crate::metrics::reconcile::run_finished(&report);
    Ok(Json(report))
}

/// Every order workflow started in the lookback and settled: has it a row, with its status?
async fn workflows_against_rows(
    state: &ApiState,
    request: &ReconcileRequest,
    since: i64,
    settled: i64,
    report: &mut ReconcileReport,
) -> ApiResult<()> {
    let query = format!(
        "WorkflowType = 'OrderWorkflow' AND StartTime > '{}' AND StartTime < '{}'",
        crate::rfc3339(since),
        crate::rfc3339(settled)
    );
    let options = WorkflowListOptions::builder().limit(request.limit as usize).rpc_options(rpc_options()).build();
    let mut executions = state.temporal.list_workflows(query, options);
    while let Some(execution) = executions.next().await {
        let execution = execution.map_err(unavailable)?;
        report.checked += 1;
        let Some(order_id) = execution.id().strip_prefix("order-").map(str::to_owned) else { continue };
        let visible_status = execution.search_attributes().get(&ORDER_STATUS).as_deref().and_then(OrderStatus::parse);
        let kind = match read_model::find(&state.db, &order_id).await? {
            None => FindingKind::WorkflowWithoutRow,
            Some(row) if row.updated_at_ms < settled && visible_status.is_some_and(|status| status != row.status) => {
                FindingKind::StatusMismatch
            }
            Some(_) => continue,
        };
        report.findings.push(rewrite_row(state, kind, &order_id).await?);
    }
    Ok(())
}

/// Writes the row from the workflow's own account of the order.
async fn rewrite_row(state: &ApiState, kind: FindingKind, order_id: &str) -> ApiResult<Finding> {
    let handle = state.temporal.get_workflow_handle::<OrderWorkflow>(order_workflow_id(order_id));
    let options = WorkflowQueryOptions::builder().rpc_options(rpc_options()).build();
    let finding = |repaired, detail: String| Finding { kind, order_id: order_id.to_owned(), repaired, detail };
    match handle.query(OrderWorkflow::status, (), options).await {
        Ok(snapshot) => {
            if !read_model::record(&state.db, &snapshot).await? {
                // The row holds a later revision than the workflow knows (a restored Temporal
                // database?): nothing is overwritten, and a person should look.
                return Ok(finding(
                    false,
                    format!("the row is newer than the workflow's revision {}", snapshot.revision),
                ));
            }
            state.order_changes.changed(order_id);
            Ok(finding(true, format!("row rewritten from the workflow: {}", snapshot.status.as_str())))
        }
        Err(error) => Ok(finding(false, format!("the workflow did not answer its status query: {error}"))),
    }
}

/// Every row that is not final, settled and in the lookback: does its workflow exist?
async fn rows_against_workflows(
    state: &ApiState,
    request: &ReconcileRequest,
    since: i64,
    settled: i64,
    report: &mut ReconcileReport,
) -> ApiResult<()> {
    for row in read_model::open_and_settled(&state.db, since, settled, request.limit).await? {
        report.checked += 1;
        if !workflow_exists(state, &row.workflow_id).await? {
            report.findings.push(Finding {
                kind: FindingKind::RowWithoutWorkflow,
                order_id: row.order_id,
                repaired: false,
                detail: format!("the row says {} but there is no workflow {}", row.status.as_str(), row.workflow_id),
            });
        }
    }
    Ok(())
}

/// Every order the ledger charged in the lookback: is there a row or a workflow (an order's, or
/// a subscription's for a renewal)?
async fn charges_against_orders(
    state: &ApiState,
    request: &ReconcileRequest,
    report: &mut ReconcileReport,
) -> ApiResult<()> {
    for order_id in request.charged_orders.iter().take(request.limit as usize) {
        // A renewal's charge carries its subscription's id.
        if read_model::find(&state.db, order_id).await?.is_some()
            || workflow_exists(state, &order_workflow_id(order_id)).await?
            || workflow_exists(state, &subscription_workflow_id(order_id)).await?
        {
            continue;
        }
        report.findings.push(Finding {
            kind: FindingKind::ChargeWithoutOrder,
            order_id: order_id.clone(),
            repaired: false,
            detail: "the ledger has a charge for an order with neither a row nor a workflow".to_owned(),
        });
    }
    Ok(())
}

/// `Ok(false)` only when the server says there is no such workflow; any other failure is an
/// error (a run that cannot ask must not report a finding).
async fn workflow_exists(state: &ApiState, workflow_id: &str) -> ApiResult<bool> {
    let handle = state.temporal.get_workflow_handle::<OrderWorkflow>(workflow_id.to_owned());
    let options = WorkflowDescribeOptions::builder().rpc_options(rpc_options()).build();
    match handle.describe(options).await {
        Ok(_) => Ok(true),
        Err(WorkflowInteractionError::NotFound(_)) => Ok(false),
        Err(error) => Err(unavailable(error)),
    }
}

pub(super) async fn purge(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<PurgeRequest>,
) -> ApiResult<Json<Purged>> {
    request.check(PurgeTarget::FinishedOrders).map_err(ApiError::invalid_request)?;
    let deleted = read_model::purge_finished(&state.db, request.older_than_ms, request.batch).await?;
    Ok(Json(Purged { target: request.target, deleted }))
}

pub(super) async fn totals(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<TotalsRequest>,
) -> ApiResult<Json<DayTotals>> {
    if request.from_ms >= request.to_ms {
        return Err(ApiError::invalid_request("from_ms must be before to_ms"));
    }
    let orders_by_status = read_model::count_by_status(&state.db, request.from_ms, request.to_ms).await?;
    Ok(Json(DayTotals { from_ms: request.from_ms, to_ms: request.to_ms, orders_by_status, ..Default::default() }))
}

fn rpc_options() -> RpcOptions {
    RpcOptions::builder().timeout(Duration::from_secs(5)).build()
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!("reconcile could not ask Temporal: {error}");
    ApiError::unavailable(codes::TEMPORAL_UNAVAILABLE, "Temporal did not answer; the next run tries again")
}
