//! Day 12: one order is one trace. The api's request span, the workflow and activity spans of
//! the Temporal SDK's OpenTelemetry plugin, and the payments service's request span (reached
//! through `traceparent` on the activity's HTTP call) all share a trace id, parent to child.
//!
//! Its own binary: the process's tracing subscriber must be the one with the exporter.

#[allow(dead_code)] // this binary uses a part of the shared harness
mod support;
use capstone_workflows::order::OrderStatus;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use support::{TestShop, orders};

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
}

/// The request span of `service` for `route`.
fn request_span<'a>(spans: &'a [SpanData], service: &str, route: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| {
            span.name == "request"
                && attribute(span, "service").as_deref() == Some(service)
                && attribute(span, "route").as_deref() == Some(route)
        })
        .unwrap_or_else(|| panic!("no request span of {service} {route} among {} spans", spans.len()))
}

/// Names from `span` up to the root, following parent span ids within one trace.
fn ancestry(spans: &[SpanData], span: &SpanData) -> Vec<String> {
    let mut names = vec![span.name.to_string()];
    let mut parent = span.parent_span_id;
    while parent != SpanId::INVALID {
        let Some(next) = spans.iter().find(|candidate| {
            candidate.span_context.span_id() == parent
                && candidate.span_context.trace_id() == span.span_context.trace_id()
        }) else {
            names.push(format!("<{parent} not exported>"));
            break;
        };
        names.push(next.name.to_string());
        parent = next.parent_span_id;
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn one_order_is_one_trace_from_the_api_to_the_payments_service() {
    let exporter = InMemorySpanExporter::default();
    let provider = capstone::telemetry::provider_builder().with_simple_exporter(exporter.clone()).build();
    capstone::telemetry::init_for_tests_with_traces(provider.clone());

    let shop = TestShop::start().await;
    let order = shop.place_and_finish(&orders::example()).await;
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    shop.stop().await;
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    let api = request_span(&spans, "api", "/orders");
    let charge = request_span(&spans, "payments", "/charges");
    let trace: TraceId = api.span_context.trace_id();
    assert_eq!(charge.span_context.trace_id(), trace, "the charge is in the order's trace");
    let chain = ancestry(&spans, charge);
    assert_eq!(chain.last().map(String::as_str), Some("request"), "the chain ends at the api's request: {chain:?}");
    for step in [
        "RunActivity:payments.card.charge",
        "StartActivity:payments.card.charge",
        "RunWorkflow:OrderWorkflow",
        "StartWorkflow:OrderWorkflow",
    ] {
        assert!(chain.iter().any(|name| name == step), "{step} is missing from {chain:?}");
    }
    // The worker's span around each activity names workflow and run in the logs only: it
    // would be a stray root here (the SDK's RunActivity stands for the activity).
    assert!(spans.iter().all(|span| span.name != "activity"), "a log-only span was exported");
    // The other services' handlers are in the same trace too.
    for (service, route) in [("inventory", "/reservations"), ("shipping", "/shipments"), ("notifications", "/emails")] {
        let span = request_span(&spans, service, route);
        assert_eq!(span.span_context.trace_id(), trace, "{service} {route}");
    }
}
