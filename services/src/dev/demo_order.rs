//! The demo order of `capstone dev --demo-order`: placed through the real HTTP API and
//! followed until its saga ends, so a first run ends with a completed order in the Web UI.

use crate::api::views::{Accepted, OrderView, ReadSource};
use anyhow::Context;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The same body as `docs/examples/order.json`, which the README's curl command sends.
const DEMO_ORDER: &str = include_str!("../../../docs/examples/order.json");

/// The customer the demo order is for: the demo customer key acts for it.
pub fn customer_id() -> anyhow::Result<String> {
    let body: Value = serde_json::from_str(DEMO_ORDER)?;
    Ok(body["customer_id"].as_str().context("docs/examples/order.json has no customer_id")?.to_owned())
}

pub async fn place_and_follow(api_url: &str, api_key: &str, ui_url: &str, namespace: &str) -> anyhow::Result<()> {
    let http = crate::api::api_keys::client_with_key(api_key)?;
    let body: Value = serde_json::from_str(DEMO_ORDER)?;
    let response = http.post(format!("{api_url}/orders")).json(&body).send().await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "POST /orders answered {status}: {}", response.text().await?);
    let Accepted { order_id, workflow_id, .. } = response.json().await.context("the answer to POST /orders")?;
    println!("Demo order {order_id} placed; following its saga ...");

    let started = Instant::now();
    let order = loop {
        let order: OrderView = http.get(format!("{api_url}/orders/{order_id}")).send().await?.json().await?;
        // Final once the workflow has written its outcome to the read model (its last step).
        if order.status.is_terminal() && order.source == ReadSource::ReadModel {
            break order;
        }
        let status = order.status.as_str();
        anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "still {status} after two minutes");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!("Demo order {order_id} is {} after {:.1?}:", order.status.as_str(), started.elapsed());
    for step in &order.timeline {
        println!("  {}  {:<20} {}", step.at, step.status.as_str(), step.note);
    }
    println!("  in the Web UI:  {}/namespaces/{namespace}/workflows/{workflow_id}", ui_url.trim_end_matches('/'));
    println!("  over HTTP:      curl -s {api_url}/orders/{order_id}");
    Ok(())
}
