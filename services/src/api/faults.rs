//! The api's own fault (day 7), mounted with `--fault-injection`: crash the process right after
//! an order's read-model row is written and before its workflow is started, the one moment
//! where the api holds half of an order. `POST /admin/faults {"crash_after_order_insert": 1}`
//! (operators only). In `capstone dev` everything runs in the api's process: it all stops.

use super::ApiState;
use crate::http::{ApiResult, JsonBody};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Default)]
pub struct ApiFaults {
    crash_after_order_insert: AtomicU32,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFaultSettings {
    pub crash_after_order_insert: Option<u32>,
}

impl ApiFaults {
    /// Called between the insert and the start: aborts the process when a crash is due.
    pub fn maybe_crash_after_insert(&self, order_id: &str) {
        let due = self
            .crash_after_order_insert
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok();
        if due {
            tracing::error!(%order_id, "injected fault: the api crashes between the order's row and its workflow");
            std::process::abort();
        }
    }
}

pub(super) async fn set(
    State(state): State<ApiState>,
    JsonBody(settings): JsonBody<ApiFaultSettings>,
) -> ApiResult<Json<ApiFaultSettings>> {
    let faults = state.faults.as_ref().expect("the route exists only with fault injection");
    if let Some(count) = settings.crash_after_order_insert {
        tracing::warn!(count, "fault injection set: crash after the next order inserts");
        faults.crash_after_order_insert.store(count, Ordering::SeqCst);
    }
    Ok(Json(ApiFaultSettings {
        crash_after_order_insert: Some(faults.crash_after_order_insert.load(Ordering::SeqCst)),
    }))
}
