//! The api's own fault, mounted with `--fault-injection`: crash the process right after
//! an order's workflow has started and before its read-model row is written, the one moment
//! where the api holds half of an order. `POST /admin/faults {"crash_after_order_start": 1}`
//! (operators only). In `capstone dev` everything runs in the api's process: it all stops.

use super::ApiState;
use crate::http::{ApiResult, JsonBody};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Default)]
pub struct ApiFaults {
    crash_after_order_start: AtomicU32,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFaultSettings {
    pub crash_after_order_start: Option<u32>,
}

impl ApiFaults {
    /// Called between the start and the row: aborts the process when a crash is due.
    pub fn maybe_crash_after_start(&self, order_id: &str) {
        let due = self
            .crash_after_order_start
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok();
        if due {
            tracing::error!(%order_id, "injected fault: the api crashes between the order's workflow and its row");
            std::process::abort();
        }
    }
}

pub(super) async fn set(
    State(state): State<ApiState>,
    JsonBody(settings): JsonBody<ApiFaultSettings>,
) -> ApiResult<Json<ApiFaultSettings>> {
    let faults = state.faults.as_ref().expect("the route exists only with fault injection");
    if let Some(count) = settings.crash_after_order_start {
        tracing::warn!(count, "fault injection set: crash after the next order starts");
        faults.crash_after_order_start.store(count, Ordering::SeqCst);
    }
    Ok(Json(ApiFaultSettings { crash_after_order_start: Some(faults.crash_after_order_start.load(Ordering::SeqCst)) }))
}
