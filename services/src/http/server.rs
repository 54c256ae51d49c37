//! Starting a service: the shared routes and layers, binding, graceful shutdown.

use super::{ApiError, Faults, ServiceKeys};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, MatchedPath},
    http::StatusCode,
    middleware,
    routing::get,
};
use serde_json::json;
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

/// No request to any of our services needs more than this; larger bodies get a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What stands in front of a backend service's own routes: the service key, and (in `dev`
/// and the tests) fault injection.
#[derive(Clone)]
pub struct BackendEdge {
    pub service_keys: ServiceKeys,
    pub faults: Option<Faults>,
}

/// A service's routes plus what every service has: `/healthz`, `/metrics`, a JSON 404, a body
/// limit, a request timeout, request metrics and request tracing. A backend service's `edge`
/// adds the service key in front of everything but `/healthz` and `/metrics`, and with faults
/// on, `/admin/faults` and the fault injection in front of its routes.
pub fn service_router(service: &'static str, routes: Router, edge: Option<&BackendEdge>) -> Router {
    crate::metrics::shop::register_all();
    let routes = match edge {
        Some(edge) => {
            let routes = match &edge.faults {
                Some(faults) => routes
                    .layer(middleware::from_fn_with_state(faults.clone(), super::faults::inject))
                    .merge(faults.routes()),
                None => routes,
            };
            // Outermost: a request without the key never reaches the faults or the handler.
            routes.route_layer(middleware::from_fn_with_state(edge.service_keys.clone(), super::service_auth::require))
        }
        None => routes,
    };
    routes
        .layer(middleware::from_fn_with_state(service, crate::metrics::http::track))
        .route("/healthz", get(move || async move { Json(json!({ "status": "ok", "service": service })) }))
        .route("/metrics", get(crate::metrics::handler))
        .fallback(|| async { ApiError::not_found("not_found", "no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &axum::http::Request<axum::body::Body>| request_span(service, request)),
        )
}

/// The request's span names the route *template* (`/orders/{order_id}`), not the URI: paths
/// can carry secrets (`/codec/k/{key}/decode`) and personal data, and headers (API keys) are
/// never recorded.
///
/// The span continues the caller's trace when the request carries a W3C `traceparent` (an
/// activity calling us), so one order is one trace across every service.
fn request_span(service: &'static str, request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("unmatched");
    let span = tracing::info_span!("request", service, method = %request.method(), route);
    let _ = span.set_parent(super::trace_context::extract(request.headers()));
    span
}

/// A service that is accepting connections.
pub struct RunningService {
    pub name: &'static str,
    pub addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningService {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server has stopped (after its shutdown token was cancelled).
    pub async fn stopped(self) -> anyhow::Result<()> {
        self.task.await??;
        tracing::info!(service = self.name, "stopped");
        Ok(())
    }
}

/// Binds `addr` (port 0 picks a free port) and serves `router` until `shutdown` is cancelled.
pub async fn start_service(
    name: &'static str,
    router: Router,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<RunningService> {
    let listener = TcpListener::bind(addr).await.map_err(|error| {
        // Workers listen for /metrics only; the services have one flag each.
        let flag = if name.ends_with("-worker") { "--metrics-addr".to_owned() } else { format!("--{name}-addr") };
        anyhow::anyhow!(
            "{name}: cannot listen on {addr}: {error} (is another process using the port? pick another with {flag})"
        )
    })?;
    let addr = listener.local_addr()?;
    tracing::info!(service = name, %addr, "listening");
    // With the peer's address in every request (`ConnectInfo`): the api limits key lookups per address.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let task =
        tokio::spawn(
            async move { axum::serve(listener, service).with_graceful_shutdown(shutdown.cancelled_owned()).await },
        );
    Ok(RunningService { name, addr, task })
}
