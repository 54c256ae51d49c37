//! Places orders through the HTTP API and follows each one to its end, as a client would:
//! the same idempotency key on every retry (so a retried POST is the same order), an
//! operator approving large orders, cancellations right after acceptance.

use super::plan::{self, OrderKind, Pace, Stop};
use crate::api::views::{Accepted, OrderView};
use capstone_workflows::order::OrderStatus;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::{Value, json};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub api_url: String,
    /// Sent with every call: an operator key (it approves and cancels).
    pub api_key: String,
    pub pace: Pace,
    pub stop: Stop,
    pub mix: plan::Mix,
    /// Makes this run's idempotency keys unique.
    pub run_id: String,
    /// How long one order may take, from its first POST to its final status, before it
    /// counts as lost.
    pub order_timeout: Duration,
    /// Send `Prefer: respond-async`: `202` at once instead of waiting for the checkout.
    pub respond_async: bool,
}

/// How an order of the run ended, as the report counts it: its final status, or one of the
/// two ways a client loses sight of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No `POST /orders` attempt was accepted before the order's timeout.
    NotAccepted,
    /// Accepted, but not final within the order's timeout.
    TimedOut,
    Ended(OrderStatus),
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAccepted => "NOT_ACCEPTED",
            Self::TimedOut => "TIMED_OUT",
            Self::Ended(status) => status.as_str(),
        }
    }

    /// Whether the client lost sight of the order (what a run must not have).
    pub fn is_lost(self) -> bool {
        matches!(self, Self::NotAccepted | Self::TimedOut)
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How one order ended, as the client saw it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRecord {
    pub index: u64,
    pub kind: OrderKind,
    pub order_id: Option<String>,
    /// The final status (`COMPLETED`, ...), or `NOT_ACCEPTED` / `TIMED_OUT`.
    pub outcome: Outcome,
    /// The last error seen, if any (kept for the report).
    pub error: Option<String>,
    /// From the first POST attempt to its `201` or `202` (retries included).
    pub accepted_after: Option<Duration>,
    /// From the first POST attempt to seeing the final status in the read model.
    pub finished_after: Option<Duration>,
    /// POST attempts (more than one when the api was down or answered 5xx).
    pub attempts: u32,
    /// Total of the order as the api priced it.
    pub total_cents: i64,
}

/// How long one look at an order may wait for it to change (a long poll: the api answers at
/// the change). Plain polling was the client's main cost on the api (the figures are in
/// docs/performance.md, "What changed after the first recorded run").
const WAIT_FOR_CHANGE: Duration = Duration::from_secs(10);

/// Before looking again after an error (the api restarting, say).
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// Runs `plan`, ticking `progress` once per finished order; answers every order's record, in
/// order of index.
pub async fn drive(plan: &LoadPlan, progress: &ProgressBar) -> anyhow::Result<Vec<OrderRecord>> {
    let http = crate::api::api_keys::client_with_key(&plan.api_key)?;
    let plan = Arc::new(plan.clone());
    let started = Instant::now();
    let (per_second, concurrency) = match plan.pace {
        Pace::PerSecond(rate) => {
            anyhow::ensure!(rate > 0.0, "--rate must be above 0");
            (Some(rate), None)
        }
        Pace::Concurrency(clients) => {
            anyhow::ensure!(clients > 0, "--concurrency must be at least 1");
            (None, Some(Arc::new(Semaphore::new(clients))))
        }
    };
    let mut tasks = JoinSet::new();
    let mut index = 0u64;
    loop {
        let more = match plan.stop {
            Stop::Count(count) => index < count,
            Stop::After(duration) => started.elapsed() < duration,
        };
        if !more {
            break;
        }
        let permit = match &concurrency {
            Some(slots) => Some(slots.clone().acquire_owned().await?),
            None => {
                // Open loop: order `index` leaves at `index / rate`, whether or not earlier ones
                // have finished (a slow system does not slow the arrivals down).
                let due = started + Duration::from_secs_f64(index as f64 / per_second.unwrap_or(1.0));
                tokio::time::sleep_until(due.into()).await;
                None
            }
        };
        let (plan, http, progress) = (plan.clone(), http.clone(), progress.clone());
        tasks.spawn(async move {
            let record = follow_one(&plan, &http, index).await;
            progress.inc(1);
            drop(permit);
            record
        });
        index += 1;
    }
    let mut records = Vec::with_capacity(index as usize);
    while let Some(record) = tasks.join_next().await {
        records.push(record?);
    }
    records.sort_by_key(|record| record.index);
    Ok(records)
}

async fn follow_one(plan: &LoadPlan, http: &reqwest::Client, index: u64) -> OrderRecord {
    let kind = plan.mix.kind_of(index);
    let started = Instant::now();
    let deadline = started + plan.order_timeout;
    let mut record = OrderRecord {
        index,
        kind,
        order_id: None,
        outcome: Outcome::NotAccepted,
        error: None,
        accepted_after: None,
        finished_after: None,
        attempts: 0,
        total_cents: 0,
    };
    let api = plan.api_url.trim_end_matches('/');
    let body = plan::order_body(index, kind);
    let key = plan::idempotency_key(&plan.run_id, index);

    // Accepted: retried with the same key until the api takes it (it may be restarting).
    let accepted = loop {
        record.attempts += 1;
        let mut request = http.post(format!("{api}/orders")).header("Idempotency-Key", &key).json(&body);
        if plan.respond_async {
            request = request.header("Prefer", "respond-async");
        }
        let sent = request.send().await;
        match sent {
            Ok(response) if response.status().is_success() => match response.json::<Accepted>().await {
                Ok(accepted) => break accepted,
                Err(error) => record.error = Some(format!("unreadable answer to POST /orders: {error}")),
            },
            Ok(response)
                if response.status().is_client_error() && response.status() != 408 && response.status() != 429 =>
            {
                // Our request is wrong: retrying cannot help.
                let status = response.status();
                record.error = Some(format!("{status}: {}", response.text().await.unwrap_or_default()));
                return record;
            }
            Ok(response) => record.error = Some(format!("POST /orders answered {}", response.status())),
            Err(error) => record.error = Some(format!("POST /orders: {error}")),
        }
        if Instant::now() >= deadline {
            return record;
        }
        tokio::time::sleep(backoff(record.attempts)).await;
    };
    record.accepted_after = Some(started.elapsed());
    let order_id = accepted.order_id;
    record.total_cents = accepted.total_cents;
    record.order_id = Some(order_id.clone());
    let order_url = format!("{api}/orders/{order_id}");

    if kind == OrderKind::Cancelled {
        // Too late (already shipping) is an answer too: the order then completes.
        let _ = http.post(format!("{order_url}/cancel")).json(&json!({ "reason": "load test" })).send().await;
    }
    let mut approved = false;
    let mut last_status = accepted.status;
    loop {
        // The read model is written at the approval gate and at the end: the two moments a
        // client needs, without a query to the workflow per look. Each look waits for the
        // status to change (up to WAIT_FOR_CHANGE), so an order costs the api a look or two.
        // Not while an approval of ours is still to be sent: that look answers at once.
        let url = if last_status == OrderStatus::AwaitingApproval && !approved {
            format!("{order_url}?source=read_model")
        } else {
            let wait = WAIT_FOR_CHANGE.min(deadline.saturating_duration_since(Instant::now()));
            // At least a second: the api's long poll counts in whole seconds.
            let wait_secs = wait.as_secs().max(1);
            format!("{order_url}?source=read_model&changed_from={}&wait_secs={wait_secs}", last_status.as_str())
        };
        let look = http.get(url).timeout(WAIT_FOR_CHANGE + Duration::from_secs(10)).send().await;
        let mut failed = true;
        match look {
            Ok(response) if response.status().is_success() => {
                failed = false;
                if let Ok(order) = response.json::<OrderView>().await {
                    last_status = order.status;
                    if last_status.is_terminal() {
                        record.finished_after = Some(started.elapsed());
                        record.outcome = Outcome::Ended(last_status);
                        return record;
                    }
                    if last_status == OrderStatus::AwaitingApproval && !approved {
                        // In the name of the key's operator: the api takes it from the key.
                        let decision = json!({ "reason": "approved by the load generator" });
                        match http.post(format!("{order_url}/approve")).json(&decision).send().await {
                            // 409: decided already (a retry of ours that got through).
                            Ok(answer) if answer.status().is_success() || answer.status() == 409 => approved = true,
                            Ok(answer) => {
                                record.error = Some(format!("approve answered {}", answer.status()));
                                failed = true;
                            }
                            Err(error) => {
                                record.error = Some(format!("approve: {error}"));
                                failed = true;
                            }
                        }
                    }
                }
            }
            Ok(response) => record.error = Some(format!("GET answered {}", response.status())),
            Err(error) => record.error = Some(format!("GET: {error}")),
        }
        if Instant::now() >= deadline {
            record.outcome = Outcome::TimedOut;
            record.error = Some(format!("still {} after {:?}", last_status.as_str(), plan.order_timeout));
            return record;
        }
        if failed {
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

/// 100 ms, 200 ms, ... up to 2 s between POST attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100 * u64::from(attempt)).min(2_000))
}

/// Before a run: the api answers, and takes this key as an operator's. Fails with the fix.
pub async fn check_api(plan: &LoadPlan) -> anyhow::Result<()> {
    let api = plan.api_url.trim_end_matches('/');
    let http = crate::api::api_keys::client_with_key(&plan.api_key)?;
    let answer = http.get(format!("{api}/orders?limit=1&source=read_model")).send().await.map_err(|error| {
        anyhow::anyhow!(
            "the api at {api} does not answer ({error}); start the shop with `capstone dev`, or pass --api-url"
        )
    })?;
    match answer.status().as_u16() {
        200 => Ok(()),
        401 => anyhow::bail!(
            "the api refused the key (401): pass an operator key in CAPSTONE_API_KEY or --api-key (`capstone dev` prints one; `capstone create-api-key --role operator --operator NAME`)"
        ),
        403 => anyhow::bail!(
            "this key is not an operator's (403): the load generator approves and cancels orders, which needs an operator key"
        ),
        other => {
            anyhow::bail!("the api answered {other} to a test request: {}", answer.text().await.unwrap_or_default())
        }
    }
}

/// Stocks the load generator's SKUs with `qty` each (idempotent per run), so that no order is
/// rejected for want of stock. The inventory is internal: this needs the service key.
pub async fn stock_skus(inventory_url: &str, service_key: &str, run_id: &str, qty: u64) -> anyhow::Result<()> {
    let receipt = json!({
        "ingestion_id": format!("loadgen-{run_id}"),
        "first_row": 0,
        "lines": [
            { "sku": plan::STANDARD_SKU, "name": "Load test item", "unit_price_cents": plan::STANDARD_PRICE_CENTS, "qty": qty },
            { "sku": plan::LARGE_SKU, "name": "Load test item (large)", "unit_price_cents": plan::LARGE_PRICE_CENTS, "qty": qty },
        ],
    });
    receive_stock(inventory_url, service_key, &receipt).await
}

/// Posts a stock receipt to the inventory (idempotent per `ingestion_id`).
pub async fn receive_stock(inventory_url: &str, service_key: &str, receipt: &Value) -> anyhow::Result<()> {
    let url = format!("{}/stock/receipts", inventory_url.trim_end_matches('/'));
    let answer =
        reqwest::Client::new().post(&url).bearer_auth(service_key).json(receipt).send().await.map_err(|error| {
            anyhow::anyhow!("the inventory at {inventory_url} does not answer ({error}); pass --inventory-url")
        })?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
        anyhow::bail!(
            "the inventory refused the service key (401): pass the shop's SERVICE_KEY (or --service-key-file; `capstone dev` keeps it in .data/service-key)"
        );
    }
    anyhow::ensure!(answer.status().is_success(), "stocking failed: {}", answer.text().await?);
    Ok(())
}
