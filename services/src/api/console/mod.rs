//! The web console (day 13's demo, and every day's "see it run"): one static page served by
//! the api at `/`, calling the same JSON API as everyone else. No build step: the HTML,
//! script and stylesheet are compiled into the binary.
//!
//! The page itself needs no key (it holds no data); every call it makes sends the key the
//! user typed (kept in the browser's localStorage), so the console can do exactly what that
//! key may do: a customer key places and reads its own orders, an operator key approves.

use super::ApiState;
use crate::http::ApiResult;
use axum::{
    Json, Router,
    extract::State,
    http::header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY_HEADER, CONTENT_TYPE, REFERRER_POLICY,
        X_CONTENT_TYPE_OPTIONS,
    },
    response::IntoResponse,
    routing::get,
};
use capstone_workflows::{order::OrderStatus, subscription::PLANS};
use serde_json::{Value, json};
use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// The console's page load asks for the catalog; a few seconds' old catalog is as good, and
/// anyone can load the page, so the inventory is asked at most once per [`CATALOG_TTL`].
const CATALOG_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct CatalogCache(Mutex<Option<(Instant, Value)>>);

const INDEX_HTML: &str = include_str!("index.html");
const CONSOLE_JS: &str = include_str!("console.js");
const CONSOLE_CSS: &str = include_str!("console.css");

pub(super) fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX_HTML)))
        .route("/console.js", get(|| asset("text/javascript; charset=utf-8", CONSOLE_JS)))
        .route("/console.css", get(|| asset("text/css; charset=utf-8", CONSOLE_CSS)))
        .route("/console/config", get(config))
        .with_state(state)
}

/// What the browser may do with the console. Its own files only (no inline script, no other
/// origin); never inside a frame, so another site cannot overlay it and lure an operator into
/// clicking Approve with the key the page holds; no referrer, so no URL of ours leaks.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    // `no-cache`: a rebuilt binary's page is picked up at the next load.
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY_HEADER, CONTENT_SECURITY_POLICY),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
}

/// What the page needs to draw its forms and links: nothing secret (the same facts the
/// api's answers and the docs already give).
async fn config(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let settings = &state.settings;
    Ok(Json(json!({
        "temporal_ui_url": settings.temporal_ui_url.trim_end_matches('/'),
        "namespace": settings.namespace,
        "approval_threshold_cents": settings.approval.threshold_cents,
        "operators": settings.approval.operators,
        "providers": super::validation::PAYMENT_PROVIDERS,
        // The statuses in their order, and which are final: from `OrderStatus`, not copied.
        "statuses": OrderStatus::ALL.map(OrderStatus::as_str),
        "terminal_statuses": OrderStatus::ALL.into_iter().filter(|status| status.is_terminal()).map(OrderStatus::as_str).collect::<Vec<_>>(),
        "plans": PLANS.iter().map(|(plan, cents)| json!({ "plan": plan, "price_cents": cents })).collect::<Vec<_>>(),
        "catalog": catalog(&state).await,
    })))
}

/// The inventory's catalog, for the order and batch forms' SKU lists; empty when the inventory
/// does not answer (the page then has nothing to order, and says nothing worse).
async fn catalog(state: &ApiState) -> Value {
    let cache = &state.console_catalog.0;
    if let Some((at, items)) = cache.lock().expect("not poisoned").as_ref()
        && at.elapsed() < CATALOG_TTL
    {
        return items.clone();
    }
    let url = format!("{}/skus", state.settings.inventory_url.trim_end_matches('/'));
    let answer = async { state.http.get(&url).send().await?.error_for_status()?.json::<Value>().await };
    match answer.await {
        Ok(catalog) => {
            let items = catalog["items"].clone();
            *cache.lock().expect("not poisoned") = Some((Instant::now(), items.clone()));
            items
        }
        Err(error) => {
            tracing::warn!("the console's catalog lookup failed: {error}");
            json!([])
        }
    }
}
