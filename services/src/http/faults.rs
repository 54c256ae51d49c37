//! Fault injection: make a service fail, go down, answer slowly, or lose its answers, on
//! request.
//!
//! `POST /admin/faults` with any of the fields below; `GET /admin/faults` shows what is set;
//! `DELETE /admin/faults` clears it. Only mounted when the service runs with
//! `--fault-injection` (`capstone dev` and the tests turn it on), behind the service key.
//!
//! Before the request is handled (nothing happens):
//! - `fail_next`: the next N requests get a 503 (a flaky dependency).
//! - `outage_secs`: every request gets a 503 for that long (the service is down).
//! - `refuse_next`: the next N requests get a 422 (`injected_refusal`): a refusal that no
//!   retry can fix, as a business rule would give.
//! - `hold_next` with `hold_ms`: the next N writes wait `hold_ms` *before* they are handled:
//!   a request that arrives late, after the caller has given up and retried, so that the
//!   retry is handled first and the first attempt lands after it (out of order).
//!
//! After the request is handled (it took effect): the nasty cases for idempotency, where the
//! work is done but the caller may give up (or crash) before it hears so, and will retry.
//! - `delay_ms`: every answer is held back that long (the delay set when the request arrived).
//! - `lose_next`: the next N writes are handled and committed, then the connection is cut
//!   before the answer's body arrives: the caller sees a broken connection, not a refusal.
//! - `lose_for_secs`: every write in the next N seconds loses its answer that way.
//! - `late_next` with `late_ms`: the next N writes are handled and committed, and their answer
//!   is held back `late_ms` (longer than the activity's timeout: the attempt times out).
//!
//! "Writes" are `POST`, `PUT` and `DELETE`: the requests that change something (a catalog
//! read in between is left alone). `path` narrows every fault to requests whose path starts
//! with it (`"/refunds"`: lose the next refund's answer, not the charge's); `""` clears it.

use super::ApiError;
use axum::{
    Json, Router,
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use std::{
    sync::{
        Arc, Mutex,
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
    hold_next: AtomicU32,
    hold_ms: AtomicU64,
    delay_ms: AtomicU64,
    lose_next: AtomicU32,
    lose_until_ms: AtomicI64,
    late_next: AtomicU32,
    late_ms: AtomicU64,
    path: Mutex<String>,
}

/// Body of `POST /admin/faults`; absent fields are left as they are.
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    pub fail_next: Option<u32>,
    pub refuse_next: Option<u32>,
    pub outage_secs: Option<u64>,
    pub hold_next: Option<u32>,
    pub hold_ms: Option<u64>,
    pub delay_ms: Option<u64>,
    pub lose_next: Option<u32>,
    pub lose_for_secs: Option<u64>,
    pub late_next: Option<u32>,
    pub late_ms: Option<u64>,
    pub path: Option<String>,
}

/// What happens to one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Answered at once with this error, unhandled.
    refuse: Option<(StatusCode, &'static str, &'static str)>,
    /// Waits this long before it is handled.
    hold: Option<Duration>,
    /// Its answer is held back this long (the `delay_ms` window and `late_next`).
    late: Duration,
    /// Its answer is lost after it was handled.
    lost: bool,
}

impl Faults {
    pub fn set(&self, settings: &FaultSettings) {
        let state = &self.0;
        let store = |counter: &AtomicU32, value: Option<u32>| {
            if let Some(value) = value {
                counter.store(value, Ordering::SeqCst);
            }
        };
        let store_ms = |target: &AtomicU64, value: Option<u64>| {
            if let Some(value) = value {
                target.store(value, Ordering::SeqCst);
            }
        };
        let store_until = |target: &AtomicI64, secs: Option<u64>| {
            if let Some(secs) = secs {
                target.store(crate::now_ms() + (secs as i64) * 1000, Ordering::SeqCst);
            }
        };
        store(&state.fail_next, settings.fail_next);
        store(&state.refuse_next, settings.refuse_next);
        store_until(&state.outage_until_ms, settings.outage_secs);
        store_ms(&state.hold_ms, settings.hold_ms);
        store(&state.hold_next, settings.hold_next);
        store_ms(&state.delay_ms, settings.delay_ms);
        store(&state.lose_next, settings.lose_next);
        store_until(&state.lose_until_ms, settings.lose_for_secs);
        store_ms(&state.late_ms, settings.late_ms);
        store(&state.late_next, settings.late_next);
        if let Some(path) = &settings.path {
            *state.path.lock().expect("not poisoned") = path.clone();
        }
    }

    pub fn clear(&self) {
        self.set(&FaultSettings {
            fail_next: Some(0),
            refuse_next: Some(0),
            hold_next: Some(0),
            hold_ms: Some(0),
            delay_ms: Some(0),
            lose_next: Some(0),
            late_next: Some(0),
            late_ms: Some(0),
            path: Some(String::new()),
            ..Default::default()
        });
        self.0.outage_until_ms.store(0, Ordering::SeqCst);
        self.0.lose_until_ms.store(0, Ordering::SeqCst);
    }

    fn current(&self) -> FaultSettings {
        let state = &self.0;
        let secs_left = |until: &AtomicI64| {
            let left_ms = until.load(Ordering::SeqCst) - crate::now_ms();
            Some((left_ms.max(0) as u64).div_ceil(1000))
        };
        let count = |counter: &AtomicU32| Some(counter.load(Ordering::SeqCst));
        let ms = |value: &AtomicU64| Some(value.load(Ordering::SeqCst));
        FaultSettings {
            fail_next: count(&state.fail_next),
            refuse_next: count(&state.refuse_next),
            outage_secs: secs_left(&state.outage_until_ms),
            hold_next: count(&state.hold_next),
            hold_ms: ms(&state.hold_ms),
            delay_ms: ms(&state.delay_ms),
            lose_next: count(&state.lose_next),
            lose_for_secs: secs_left(&state.lose_until_ms),
            late_next: count(&state.late_next),
            late_ms: ms(&state.late_ms),
            path: Some(state.path.lock().expect("not poisoned").clone()),
        }
    }

    /// Decides what happens to a request (and takes one of each counted fault it uses).
    fn plan(&self, method: &Method, path: &str) -> Plan {
        let state = &self.0;
        if !path.starts_with(state.path.lock().expect("not poisoned").as_str()) {
            return Plan::default();
        }
        let now = crate::now_ms();
        if state.outage_until_ms.load(Ordering::SeqCst) > now {
            return Plan { refuse: Some(UNAVAILABLE_OUTAGE), ..Plan::default() };
        }
        if Self::take(&state.fail_next) {
            return Plan { refuse: Some(UNAVAILABLE_FAILURE), ..Plan::default() };
        }
        if Self::take(&state.refuse_next) {
            return Plan { refuse: Some(REFUSAL), ..Plan::default() };
        }
        // The delay in force when the request arrives is the one it gets: a test that clears
        // the delay as soon as it sees the request's effect must not race the handler's return.
        let mut plan = Plan { late: Duration::from_millis(state.delay_ms.load(Ordering::SeqCst)), ..Plan::default() };
        let is_write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !is_write {
            return plan;
        }
        if Self::take(&state.hold_next) {
            plan.hold = Some(Duration::from_millis(state.hold_ms.load(Ordering::SeqCst)));
        }
        if state.lose_until_ms.load(Ordering::SeqCst) > now || Self::take(&state.lose_next) {
            plan.lost = true;
        } else if Self::take(&state.late_next) {
            plan.late += Duration::from_millis(state.late_ms.load(Ordering::SeqCst));
        }
        plan
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

const UNAVAILABLE_OUTAGE: (StatusCode, &str, &str) =
    (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "injected outage");
const UNAVAILABLE_FAILURE: (StatusCode, &str, &str) =
    (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "injected failure");
const REFUSAL: (StatusCode, &str, &str) = (StatusCode::UNPROCESSABLE_ENTITY, "injected_refusal", "injected refusal");

/// Middleware for a service's own routes (not `/healthz`, not `/admin`).
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let plan = faults.plan(request.method(), request.uri().path());
    if let Some((status, error, detail)) = plan.refuse {
        return ApiError::new(status, error, detail).into_response();
    }
    if let Some(hold) = plan.hold {
        tracing::warn!(?hold, "injected fault: this request arrives late");
        tokio::time::sleep(hold).await;
    }
    // The handler runs to the end: whatever it commits is committed.
    let response = next.run(request).await;
    if !plan.late.is_zero() {
        tokio::time::sleep(plan.late).await;
    }
    if plan.lost {
        tracing::warn!("injected fault: the answer of a committed write is lost");
        return lost_answer(response.status());
    }
    response
}

/// The status line goes out, then the connection breaks before the body: the caller cannot
/// tell whether the request took effect (it did).
fn lost_answer(status: StatusCode) -> Response {
    let broken = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("injected fault: connection lost"))
    });
    Response::builder()
        .status(status)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from_stream(broken))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(faults: &Faults, method: Method, path: &str) -> Plan {
        faults.plan(&method, path)
    }

    #[test]
    fn counted_faults_count_down_to_zero() {
        let faults = Faults::default();
        faults.set(&FaultSettings { fail_next: Some(2), ..Default::default() });
        assert!(plan(&faults, Method::GET, "/skus").refuse.is_some());
        assert!(plan(&faults, Method::GET, "/skus").refuse.is_some());
        assert_eq!(plan(&faults, Method::GET, "/skus"), Plan::default());
    }

    #[test]
    fn answers_are_lost_or_late_for_writes_only_and_a_loss_comes_first() {
        let faults = Faults::default();
        faults.set(&FaultSettings { lose_next: Some(1), late_next: Some(1), late_ms: Some(5), ..Default::default() });
        assert_eq!(plan(&faults, Method::GET, "/skus"), Plan::default(), "reads are left alone");
        assert!(plan(&faults, Method::POST, "/charges").lost);
        let late = plan(&faults, Method::POST, "/charges");
        assert_eq!((late.lost, late.late), (false, Duration::from_millis(5)));
        assert_eq!(plan(&faults, Method::POST, "/charges"), Plan::default());
        faults.set(&FaultSettings { lose_for_secs: Some(60), ..Default::default() });
        assert!((0..3).all(|_| plan(&faults, Method::PUT, "/x").lost));
        faults.clear();
        assert_eq!(plan(&faults, Method::POST, "/x"), Plan::default());
    }

    #[test]
    fn a_path_narrows_every_fault_and_a_held_request_is_handled_later() {
        let faults = Faults::default();
        faults.set(&FaultSettings {
            lose_next: Some(1),
            hold_next: Some(1),
            hold_ms: Some(7),
            path: Some("/refunds".into()),
            ..Default::default()
        });
        assert_eq!(plan(&faults, Method::POST, "/charges"), Plan::default(), "another path");
        let refund = plan(&faults, Method::POST, "/refunds");
        assert!(refund.lost && refund.hold == Some(Duration::from_millis(7)));
        faults.set(&FaultSettings { path: Some(String::new()), fail_next: Some(1), ..Default::default() });
        assert!(plan(&faults, Method::POST, "/charges").refuse.is_some(), "an empty path matches everything");
    }
}
