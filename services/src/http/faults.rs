//! Fault injection: make a service fail, go down, or answer slowly, on request (day 7).
//!
//! `POST /admin/faults` with any of `{"fail_next": 3, "outage_secs": 5, "delay_ms": 2000}`;
//! `GET /admin/faults` shows what is set; `DELETE /admin/faults` clears it. Only mounted when
//! the service runs with `--fault-injection` (`capstone dev` and the tests turn it on).
//!
//! - `fail_next`: the next N requests get a 503 (a flaky dependency).
//! - `outage_secs`: every request gets a 503 for that long (the service is down).
//! - `refuse_next`: the next N requests get a 422 (`injected_refusal`): a refusal that no
//!   retry can fix, as a business rule would give.
//! - `delay_ms`: requests are handled, then the answer is held back that long (the delay set when the request arrived). This is the
//!   nasty case for idempotency: the work is done, but the caller may give up (or crash)
//!   before it hears so, and will retry.

use super::ApiError;
use axum::{
    Json, Router,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

#[derive(Clone, Default)]
pub struct Faults(Arc<FaultState>);

#[derive(Default)]
struct FaultState {
    fail_next: AtomicU32,
    refuse_next: AtomicU32,
    outage_until_ms: AtomicI64,
    delay_ms: AtomicU64,
}

/// Body of `POST /admin/faults`; absent fields are left as they are.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct FaultSettings {
    pub fail_next: Option<u32>,
    pub refuse_next: Option<u32>,
    pub outage_secs: Option<u64>,
    pub delay_ms: Option<u64>,
}

impl Faults {
    pub fn set(&self, settings: &FaultSettings) {
        if let Some(fail_next) = settings.fail_next {
            self.0.fail_next.store(fail_next, Ordering::SeqCst);
        }
        if let Some(refuse_next) = settings.refuse_next {
            self.0.refuse_next.store(refuse_next, Ordering::SeqCst);
        }
        if let Some(outage_secs) = settings.outage_secs {
            let until = crate::now_ms() + (outage_secs as i64) * 1000;
            self.0.outage_until_ms.store(until, Ordering::SeqCst);
        }
        if let Some(delay_ms) = settings.delay_ms {
            self.0.delay_ms.store(delay_ms, Ordering::SeqCst);
        }
    }

    pub fn clear(&self) {
        self.0.fail_next.store(0, Ordering::SeqCst);
        self.0.refuse_next.store(0, Ordering::SeqCst);
        self.0.outage_until_ms.store(0, Ordering::SeqCst);
        self.0.delay_ms.store(0, Ordering::SeqCst);
    }

    fn current(&self) -> FaultSettings {
        let outage_left_ms = self.0.outage_until_ms.load(Ordering::SeqCst) - crate::now_ms();
        FaultSettings {
            fail_next: Some(self.0.fail_next.load(Ordering::SeqCst)),
            refuse_next: Some(self.0.refuse_next.load(Ordering::SeqCst)),
            outage_secs: Some((outage_left_ms.max(0) as u64).div_ceil(1000)),
            delay_ms: Some(self.0.delay_ms.load(Ordering::SeqCst)),
        }
    }

    /// Takes one injected failure, if any are left.
    fn take_failure(&self) -> bool {
        Self::take(&self.0.fail_next)
    }

    fn take(counter: &AtomicU32) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
    }

    /// `/admin/faults`.
    pub fn routes(&self) -> Router {
        Router::new()
            .route(
                "/admin/faults",
                get(|State(faults): State<Faults>| async move { Json(faults.current()) })
                    .post(|State(faults): State<Faults>, super::JsonBody(settings): super::JsonBody<FaultSettings>| async move {
                        tracing::warn!(?settings, "fault injection set");
                        faults.set(&settings);
                        Json(faults.current())
                    })
                    .delete(|State(faults): State<Faults>| async move {
                        faults.clear();
                        Json(faults.current())
                    }),
            )
            .with_state(self.clone())
    }
}

/// Middleware for a service's own routes (not `/healthz`, not `/admin`).
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let down = faults.0.outage_until_ms.load(Ordering::SeqCst) > crate::now_ms();
    if down || faults.take_failure() {
        let detail = if down { "injected outage" } else { "injected failure" };
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", detail).into_response();
    }
    if Faults::take(&faults.0.refuse_next) {
        return ApiError::invalid("injected_refusal", "injected refusal").into_response();
    }
    // The delay in force when the request arrived applies to it: a test that clears the delay
    // as soon as it sees the request's effect (a ledger row) must not race the handler's return.
    let delay_ms = faults.0.delay_ms.load(Ordering::SeqCst);
    let response = next.run(request).await;
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_counts_down_to_zero() {
        let faults = Faults::default();
        faults.set(&FaultSettings { fail_next: Some(2), ..Default::default() });
        assert!(faults.take_failure());
        assert!(faults.take_failure());
        assert!(!faults.take_failure());
    }
}
