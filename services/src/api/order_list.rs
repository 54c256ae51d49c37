//! `GET /orders` and `GET /orders/count`: find orders by status, customer and total.
//!
//! Two sources answer the same filter:
//! - `source=visibility` (the default) asks Temporal's visibility store with a list query over
//!   the custom search attributes the workflow upserts (`order/visibility.rs`). It needs no
//!   table of ours and sees every order the cluster knows, but it is *eventually consistent*:
//!   an order that changed a moment ago may still show its old status.
//! - `source=read_model` reads the api's own `api_orders` table, written by the workflow's
//!   record activity. It is ours to index and join, and consistent with what that activity
//!   wrote; it only knows orders placed through this api (not workflows started directly).

use super::{
    ApiState,
    access::forbidden,
    api_keys::Caller,
    read_model,
    validation::validate_key,
    views::{OrderList, OrderSummary, ReadSource},
};
use crate::{
    http::{ApiError, ApiResult},
    rfc3339,
};
use axum::{
    Json,
    extract::{Query, State},
};
use capstone_workflows::order::{
    OrderStatus,
    visibility::{CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL, REGION, SUMMARY_MEMO},
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use temporalio_client::{NamespacedClient, RpcOptions, WorkflowCountOptions, WorkflowExecution, WorkflowListOptions};
use temporalio_common::data_converters::{SerializationContextData, WorkflowSerializationContext};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// The query string, all text so that every mistake gets our own JSON error.
#[derive(Deserialize)]
pub(super) struct ListParams {
    status: Option<String>,
    /// `customer` in the words; `customer_id` as the field is called elsewhere.
    customer: Option<String>,
    customer_id: Option<String>,
    min_total: Option<String>,
    limit: Option<String>,
    source: Option<String>,
}

/// A checked filter.
#[derive(Debug, Default, PartialEq)]
pub(super) struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<String>,
    pub min_total: Option<i64>,
}

struct Parsed {
    filter: OrderFilter,
    limit: usize,
    source: ReadSource,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_query", detail)
}

fn parse(params: ListParams) -> Result<Parsed, ApiError> {
    let status = match params.status.as_deref() {
        None => None,
        Some(name) => Some(OrderStatus::parse(name).ok_or_else(|| {
            invalid(format!(
                "unknown status {name:?}; use one of {}",
                OrderStatus::ALL.map(OrderStatus::as_str).join(", ")
            ))
        })?),
    };
    let customer_id = match (params.customer, params.customer_id) {
        (Some(_), Some(_)) => return Err(invalid("give `customer` or `customer_id`, not both")),
        (customer, customer_id) => customer.or(customer_id),
    };
    if let Some(customer_id) = &customer_id {
        // The same rule as ids everywhere, which also keeps quotes out of the list query.
        validate_key("customer", customer_id, 64)
            .map_err(|_| invalid("customer must be 1 to 64 characters of letters, digits, '_', '-', '.' or ':'"))?;
    }
    let min_total = match params.min_total.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|cents| *cents >= 0)
                .ok_or_else(|| invalid(format!("min_total must be a whole number of cents >= 0, got {text:?}")))?,
        ),
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| invalid(format!("limit must be between 1 and {MAX_LIMIT}, got {text:?}")))?,
    };
    let source = match params.source.as_deref().map(ReadSource::parse) {
        None | Some(Some(ReadSource::Visibility)) => ReadSource::Visibility,
        Some(Some(ReadSource::ReadModel)) => ReadSource::ReadModel,
        Some(_) => {
            let other = params.source.as_deref().unwrap_or_default();
            return Err(invalid(format!("source must be `visibility` or `read_model`, got {other:?}")));
        }
    };
    Ok(Parsed { filter: OrderFilter { status, customer_id, min_total }, limit, source })
}

/// The list query for `filter`: `WorkflowType = 'OrderWorkflow' AND OrderStatus = 'COMPLETED' ...`.
pub(super) fn visibility_query(filter: &OrderFilter) -> String {
    let mut clauses = vec!["WorkflowType = 'OrderWorkflow'".to_owned()];
    if let Some(status) = filter.status {
        clauses.push(format!("{} = '{}'", ORDER_STATUS.name(), status.as_str()));
    }
    if let Some(customer_id) = &filter.customer_id {
        clauses.push(format!("{} = '{}'", CUSTOMER_ID.name(), customer_id.replace('\'', "")));
    }
    if let Some(min_total) = filter.min_total {
        clauses.push(format!("{} >= {min_total}", ORDER_TOTAL.name()));
    }
    clauses.join(" AND ")
}

pub(super) async fn list_orders(
    State(state): State<ApiState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<OrderList>> {
    let Parsed { mut filter, limit, source } = parse(params)?;
    restrict_to_caller(&caller, &mut filter)?;
    match source {
        ReadSource::ReadModel => {
            let rows = read_model::list(&state.db, &filter, limit as i64).await?;
            Ok(Json(OrderList::from_read_model(rows)))
        }
        // `parse` gives visibility or read_model; a running workflow knows only itself.
        ReadSource::Visibility | ReadSource::Workflow => {
            let query = visibility_query(&filter);
            let options = WorkflowListOptions::builder().limit(limit).rpc_options(rpc_options()).build();
            let mut executions = state.temporal.list_workflows(query.clone(), options);
            let mut orders = Vec::new();
            while let Some(execution) = executions.next().await {
                let execution = execution.map_err(visibility_unavailable)?;
                orders.push(summary_of(&state, &execution).await);
            }
            Ok(Json(OrderList { source: ReadSource::Visibility, query: Some(query), orders }))
        }
    }
}

#[derive(Serialize)]
pub(super) struct OrderCount {
    source: ReadSource,
    query: String,
    count: usize,
}

/// `GET /orders/count`: the same filter, counted by the visibility store.
pub(super) async fn count_orders(
    State(state): State<ApiState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<OrderCount>> {
    let Parsed { mut filter, source, .. } = parse(params)?;
    restrict_to_caller(&caller, &mut filter)?;
    if source != ReadSource::Visibility {
        return Err(invalid("counting is answered by visibility only; drop `source`"));
    }
    let query = visibility_query(&filter);
    let options = WorkflowCountOptions::builder().rpc_options(rpc_options()).build();
    let count = state.temporal.count_workflows(query.clone(), options).await.map_err(visibility_unavailable)?.count();
    Ok(Json(OrderCount { source: ReadSource::Visibility, query, count }))
}

/// Operators see every order; a customer key sees its own customer's orders only.
fn restrict_to_caller(caller: &Caller, filter: &mut OrderFilter) -> Result<(), ApiError> {
    if caller.is_operator() {
        return Ok(());
    }
    let own = caller.customer_id.clone().ok_or_else(|| forbidden("listing orders needs a customer or operator key"))?;
    match &filter.customer_id {
        Some(asked) if *asked != own => Err(forbidden("a customer key lists its own orders only")),
        _ => {
            filter.customer_id = Some(own);
            Ok(())
        }
    }
}

fn rpc_options() -> RpcOptions {
    RpcOptions::builder().timeout(Duration::from_secs(5)).build()
}

fn visibility_unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!("visibility query failed: {error}");
    ApiError::unavailable("visibility_unavailable", "Temporal's visibility store did not answer; try source=read_model")
}

/// One order as visibility knows it: its search attributes and the memo's summary.
async fn summary_of(state: &ApiState, execution: &WorkflowExecution) -> OrderSummary {
    let attributes = execution.search_attributes();
    let workflow_id = execution.id().to_owned();
    let started = execution.start_time().map(millis).unwrap_or_default();
    let updated = execution.close_time().map(millis).unwrap_or(started);
    OrderSummary {
        order_id: workflow_id.strip_prefix("order-").unwrap_or(&workflow_id).to_owned(),
        customer_id: attributes.get(&CUSTOMER_ID).unwrap_or_default(),
        status: attributes.get(&ORDER_STATUS).as_deref().and_then(OrderStatus::parse),
        total_cents: attributes.get(&ORDER_TOTAL).unwrap_or_default(),
        region: attributes.get(&REGION),
        summary: memo_summary(state, execution).await,
        execution_status: Some(format!("{:?}", execution.status())),
        created_at: rfc3339(started),
        updated_at: rfc3339(updated),
        workflow_id,
    }
}

/// The memo goes through the client's data converter, codec included: memo payloads are
/// encrypted like any other payload.
async fn memo_summary(state: &ApiState, execution: &WorkflowExecution) -> Option<String> {
    let payload = execution.raw().memo.as_ref()?.fields.get(SUMMARY_MEMO)?.clone();
    let context = SerializationContextData::Workflow(WorkflowSerializationContext::new());
    match state.temporal.data_converter().from_payload::<String>(&context, payload).await {
        Ok(summary) => Some(summary),
        Err(error) => {
            tracing::warn!(workflow_id = execution.id(), "unreadable order memo: {error}");
            None
        }
    }
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        let query = pairs.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&");
        serde_urlencoded_from(&query)
    }

    fn serde_urlencoded_from(query: &str) -> ListParams {
        let uri: axum::http::Uri = format!("/orders?{query}").parse().unwrap();
        Query::<ListParams>::try_from_uri(&uri).unwrap().0
    }

    #[test]
    fn a_full_filter_becomes_one_visibility_query() {
        let parsed = parse(params(&[("status", "COMPLETED"), ("customer", "cust-7"), ("min_total", "10000")])).unwrap();
        assert_eq!(parsed.source, ReadSource::Visibility);
        assert_eq!(parsed.limit, DEFAULT_LIMIT);
        assert_eq!(
            visibility_query(&parsed.filter),
            "WorkflowType = 'OrderWorkflow' AND OrderStatus = 'COMPLETED' AND CustomerId = 'cust-7' AND OrderTotal >= 10000"
        );
        assert_eq!(visibility_query(&OrderFilter::default()), "WorkflowType = 'OrderWorkflow'");
    }

    #[test]
    fn bad_parameters_are_named_in_the_error() {
        for (pairs, word) in [
            (vec![("status", "LOST")], "status"),
            (vec![("min_total", "-1")], "min_total"),
            (vec![("min_total", "ten")], "min_total"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "201")], "limit"),
            (vec![("source", "cache")], "source"),
            (vec![("customer", "x'OR'1")], "customer"),
            (vec![("customer", "a"), ("customer_id", "b")], "customer"),
        ] {
            let Err(error) = parse(params(&pairs)) else { panic!("{pairs:?} was accepted") };
            assert!(error.detail.contains(word), "{pairs:?}: {}", error.detail);
        }
    }
}
