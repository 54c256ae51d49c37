//! HTTP server metrics, per service, route template, method and status.

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};
use std::{sync::LazyLock, time::Instant};

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_http_server_requests_total",
        "HTTP requests answered, by service, route template, method and status code.",
        &["service", "route", "method", "status"]
    )
    .expect("a valid metric")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "capstone_http_server_request_duration_seconds",
        "Time to answer an HTTP request, by service, route template and method.",
        &["service", "route", "method"],
        vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
    )
    .expect("a valid metric")
});

/// Middleware (a route layer, so that the route template is known): counts and times every
/// request. Paths are never used as labels: they carry ids (and, for the codec, keys).
pub async fn track(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    DURATION.with_label_values(&[service, &route, &method]).observe(started.elapsed().as_secs_f64());
    REQUESTS.with_label_values(&[service, &route, &method, response.status().as_str()]).inc();
    response
}
