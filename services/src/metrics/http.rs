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
/// request. Paths are never used as labels: they carry ids (and, for the codec, keys). Every
/// label comes from a fixed set, so that no request, authenticated or not, can add a series:
/// the route template or `unmatched`, a standard method or `other`.
pub async fn track(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    DURATION.with_label_values(&[service, &route, &method]).observe(started.elapsed().as_secs_f64());
    REQUESTS.with_label_values(&[service, &route, &method, response.status().as_str()]).inc();
    response
}

/// A made-up method (`FOO1`, anything a client sends) is `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"FOO1").unwrap()), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }
}
