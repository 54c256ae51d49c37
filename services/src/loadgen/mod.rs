//! `capstone loadgen`: drives orders through the HTTP API at a rate or a concurrency, for a
//! count or a duration, with a mix of large (approved by an operator), declined, refunded and
//! cancelled orders; prints throughput, latency percentiles and outcomes (`--json` for
//! machines). The fault suite (tests/faults.rs) and `capstone bench` drive load with it too.

pub mod driver;
pub mod plan;
pub mod report;

pub use driver::{LoadPlan, OrderRecord, Outcome, check_api, drive, receive_stock, stock_skus};
pub use plan::{Mix, OrderKind, Pace, Stop};
pub use report::{Latency, LoadReport};

use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// How a client command reaches a running shop (`loadgen`, `bench-batch`).
#[derive(clap::Args, Debug, Clone)]
pub struct ShopClientArgs {
    #[arg(long, env = "API_URL", default_value = "http://127.0.0.1:8080")]
    pub api_url: String,
    /// The inventory, to stock the SKUs the orders use first.
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8081")]
    pub inventory_url: String,
    /// An operator API key (`capstone dev` prints one; `capstone create-api-key --role
    /// operator --operator NAME`); large orders are approved in its operator's name.
    #[arg(long, env = "CAPSTONE_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// The shop's service key: the inventory is internal, and stocking it needs one.
    #[command(flatten)]
    pub service_key: crate::config::ServiceKeyArgs,
}

#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {
    #[command(flatten)]
    pub shop: ShopClientArgs,
    /// Orders per second (open loop: arrivals do not wait for earlier orders). Instead of --concurrency.
    #[arg(long, conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Clients, each placing an order and following it to its end before the next.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Orders to place. Instead of --duration.
    #[arg(long, conflicts_with = "duration")]
    pub count: Option<u64>,
    /// How long to place orders (e.g. `30s`, `5m`); the run then waits for the last ones.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Percent of large orders (above the approval threshold), approved by the key's operator.
    #[arg(long, default_value_t = 10)]
    pub large_percent: u32,
    /// Percent of orders whose card is declined.
    #[arg(long, default_value_t = 5)]
    pub declined_percent: u32,
    /// Percent of orders to a country no carrier serves (charged, then refunded).
    #[arg(long, default_value_t = 5)]
    pub shipping_fails_percent: u32,
    /// Percent of orders cancelled right after they are accepted.
    #[arg(long, default_value_t = 5)]
    pub cancelled_percent: u32,
    /// How long one order may take before it counts as lost.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub order_timeout: Duration,
    /// Print the report as JSON (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Ask for `202` at once (`Prefer: respond-async`) instead of the checkout's `201`.
    #[arg(long)]
    pub respond_async: bool,
}

impl LoadgenArgs {
    pub fn plan(&self, run_id: &str) -> anyhow::Result<LoadPlan> {
        let mix = Mix {
            large: self.large_percent,
            declined: self.declined_percent,
            shipping_fails: self.shipping_fails_percent,
            cancelled: self.cancelled_percent,
        };
        mix.validate()?;
        anyhow::ensure!(self.rate.is_none_or(|rate| rate > 0.0), "--rate must be above 0 (orders per second)");
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        let stop = match (self.count, self.duration) {
            (Some(count), _) => Stop::Count(count),
            (None, Some(duration)) => Stop::After(duration),
            (None, None) => Stop::Count(100),
        };
        let pace = match self.rate {
            Some(rate) => Pace::PerSecond(rate),
            None => Pace::Concurrency(self.concurrency),
        };
        Ok(LoadPlan {
            api_url: self.shop.api_url.clone(),
            api_key: self.shop.api_key.clone(),
            pace,
            stop,
            mix,
            run_id: run_id.to_owned(),
            order_timeout: self.order_timeout,
            respond_async: self.respond_async,
        })
    }
}

/// A progress line on stderr: orders finished, and the rate.
pub fn progress_bar(stop: Stop) -> ProgressBar {
    let (bar, template) = match stop {
        Stop::Count(count) => {
            (ProgressBar::new(count), "{prefix} {bar:30} {pos}/{len} finished, {per_sec} ({elapsed})")
        }
        Stop::After(_) => (ProgressBar::new_spinner(), "{prefix} {spinner} {pos} finished, {per_sec} ({elapsed})"),
    };
    bar.set_style(ProgressStyle::with_template(template).expect("a template"));
    bar.set_prefix("loadgen");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let plan = args.plan(&run_id)?;
    let planned = match plan.stop {
        Stop::Count(count) => count,
        // Enough for the longest run this rate could make, and some.
        Stop::After(duration) => match plan.pace {
            Pace::PerSecond(rate) => (rate * duration.as_secs_f64()).ceil() as u64 + 100,
            Pace::Concurrency(_) => 1_000_000,
        },
    };
    driver::check_api(&plan).await?;
    let service_key = args.shop.service_key.keys()?.remove(0);
    driver::stock_skus(&args.shop.inventory_url, &service_key, &run_id, planned).await?;
    let progress = progress_bar(plan.stop);
    let started = Instant::now();
    let records = drive(&plan, &progress).await?;
    progress.finish_and_clear();
    let report = LoadReport::new(&records, started.elapsed());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print();
    }
    anyhow::ensure!(report.nothing_lost(), "some orders did not reach a final status (see the report)");
    Ok(())
}
