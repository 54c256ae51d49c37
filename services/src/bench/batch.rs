//! `capstone bench-batch`: a benchmark, not a test. Against a running system (`capstone dev`),
//! times N orders as one `BatchWorkflow` against N independent orders placed by the client
//! with the same concurrency, in one run, and prints both and their ratio.

use crate::api::views::{BatchAccepted, BatchView};
use crate::loadgen::{self, LoadPlan, Mix, OrderKind, Outcome, Pace, ShopClientArgs, Stop};
use capstone_workflows::{batch::BatchState, order::OrderStatus};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchBatchArgs {
    /// Orders in the batch, and independent orders.
    #[arg(long, default_value_t = 1000)]
    pub count: u32,
    /// Children in flight for the batch, and concurrent clients for the independent orders.
    #[arg(long, default_value_t = 50)]
    pub window: u32,
    #[command(flatten)]
    pub shop: ShopClientArgs,
}

fn bar(count: u32, what: &str) -> ProgressBar {
    ProgressBar::new(u64::from(count)).with_style(
        ProgressStyle::with_template(&format!("{what:>12} {{bar:40}} {{pos}}/{{len}} ({{elapsed}})"))
            .expect("a template"),
    )
}

/// The two timings of one comparison.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BatchComparison {
    pub count: u32,
    pub window: u32,
    pub batch_secs: f64,
    pub batch_completed: u64,
    pub independent_secs: f64,
    pub independent_completed: u64,
}

impl BatchComparison {
    pub fn ratio(&self) -> f64 {
        self.batch_secs / self.independent_secs
    }
}

pub async fn run(args: BenchBatchArgs) -> anyhow::Result<()> {
    let result = compare(&args.shop, args.count, args.window).await?;
    println!();
    println!("batch of {}: {:.1} s ({} completed)", result.count, result.batch_secs, result.batch_completed);
    println!(
        "{} independent orders: {:.1} s ({} completed)",
        result.count, result.independent_secs, result.independent_completed
    );
    println!("ratio batch / independent: {:.2}", result.ratio());
    Ok(())
}

/// Times `count` orders as one batch (`window` children in flight), then the same orders
/// placed one by one by `window` concurrent clients: the load generator's plain orders, each
/// followed to its end as a client would.
pub async fn compare(shop: &ShopClientArgs, count: u32, window: u32) -> anyhow::Result<BatchComparison> {
    let http = crate::api::api_keys::client_with_key(&shop.api_key)?;
    let api = shop.api_url.trim_end_matches('/');
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    // Enough stock for both halves, so that no order is rejected for want of it.
    let service_key = shop.service_key.keys()?.remove(0);
    loadgen::stock_skus(&shop.inventory_url, &service_key, &format!("bench-{run_id}"), u64::from(count) * 2).await?;
    let order = loadgen::plan::order_body(0, OrderKind::Standard);

    // 1. One batch.
    let started = Instant::now();
    let body = json!({
        "count": count,
        "window": window,
        "customer_prefix": format!("bench-batch-{}", &run_id[..8]),
        "max_failure_percent": 100,
        "email": "bench@example.com",
        "order": { "items": order["items"], "shipping_address": order["shipping_address"], "payment": order["payment"] },
    });
    let accepted: BatchAccepted =
        http.post(format!("{api}/batches")).json(&body).send().await?.error_for_status()?.json().await?;
    let batch_id = accepted.batch_id;
    let progress = bar(count, "batch");
    let batch = loop {
        let batch: BatchView = http.get(format!("{api}/batches/{batch_id}")).send().await?.json().await?;
        progress.set_position(u64::from(batch.progress.finished));
        if batch.progress.state != BatchState::Running {
            break batch;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    progress.finish();
    let batch_time = started.elapsed();

    // 2. The same orders, placed one by one by `window` concurrent clients.
    let plan = LoadPlan {
        api_url: api.to_owned(),
        api_key: shop.api_key.clone(),
        pace: Pace::Concurrency(window as usize),
        stop: Stop::Count(u64::from(count)),
        mix: Mix::default(),
        run_id: format!("bench-solo-{}", &run_id[..8]),
        order_timeout: Duration::from_secs(300),
        respond_async: false,
    };
    let progress = loadgen::progress_bar(plan.stop);
    progress.set_prefix("independent");
    let started = Instant::now();
    let records = loadgen::drive(&plan, &progress).await?;
    progress.finish();
    let independent_time = started.elapsed();
    let completed = records.iter().filter(|record| record.outcome == Outcome::Ended(OrderStatus::Completed)).count();
    Ok(BatchComparison {
        count,
        window,
        batch_secs: batch_time.as_secs_f64(),
        batch_completed: batch.progress.by_status.get(OrderStatus::Completed.as_str()).copied().map_or(0, u64::from),
        independent_secs: independent_time.as_secs_f64(),
        independent_completed: completed as u64,
    })
}
