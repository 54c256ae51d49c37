//! `capstone bench`: a benchmark, not a test. Starts one fresh Temporal dev server and the
//! whole shop as separate processes, drives it, and prints every figure with the ratios
//! docs/performance.md records (all measured in this one run, because the machine is shared):
//!
//! - the server's CPU per order, and the ceiling it implies: cores / server CPU per order;
//! - full-saga orders per second at saturation, as a ratio to that ceiling;
//! - the CPU per order of everything that is ours, as a ratio to the server's;
//! - no-op and one-activity workflows per second, for reference;
//! - a batch of N children against N independent orders;
//! - the workers' resident memory, idle and at peak;
//! - `POST /orders` p50 and p99 at half the peak rate, the checkout's `201` and the `202` of
//!   `Prefer: respond-async`.
//!
//! `capstone bench-batch` (batch.rs) runs the batch comparison alone against a running system.

pub mod batch;
pub mod minimal;
pub mod procfs;
pub mod saturation;
pub mod steps;
pub mod targets;

pub use batch::BenchBatchArgs;

use crate::{
    api::api_keys::{self, Role},
    codec::{KeyRing, keys},
    loadgen::{self, LoadPlan, LoadReport, Mix, Pace, Stop},
    temporal::{
        cli_binary,
        dev_server::{DevServer, DevServerConfig},
    },
};
use capstone_processes::{ProcessSystem, SERVICES, WORKERS};
use capstone_workflows::order::OrderStatus;
use indicatif::ProgressBar;
use saturation::{Measured, SaturationRun, Window};
use serde::Serialize;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Orders of each saturation run (at least 4 per client: its steady state is measured,
    /// between the ramp-up and the drain).
    #[arg(long, default_value_t = 300)]
    pub orders: u64,
    /// Clients of the first saturation run (each follows its order to the end); the runs
    /// after it double them while that still adds 5% or more orders per second.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Orders of the run at half the peak rate (for the `POST /orders` p99: with 400, the p99
    /// is the 4th slowest request rather than the 2nd, so one stall moves it less).
    #[arg(long, default_value_t = 400)]
    pub half_peak_orders: u64,
    /// No-op and one-activity workflows, each.
    #[arg(long, default_value_t = 500)]
    pub minimal: u32,
    /// Children of the batch compared with as many independent orders; 0 skips it.
    #[arg(long, default_value_t = 1000)]
    pub batch: u32,
    /// Children in flight for the batch, and clients for the independent orders.
    #[arg(long, default_value_t = 50)]
    pub batch_window: u32,
    /// The `temporal` CLI (else the project-local one from `make setup`, else PATH).
    #[arg(long, env = "TEMPORAL_CLI")]
    pub temporal_cli: Option<PathBuf>,
    /// Print the figures as JSON (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Figures {
    cores: usize,
    concurrency: usize,
    /// The fastest saturation run, whole (latencies, outcomes; its throughput counts the
    /// ramp-up and the drain).
    saturation: LoadReport,
    /// Its steady state: every per-order figure and the saturation ratio come from here.
    saturation_window: Window,
    server_cpu_ms_per_order: f64,
    ours_cpu_ms_per_order: f64,
    /// Our CPU per order, by role (ms).
    ours_cpu_ms_by_role: Vec<(String, f64)>,
    /// This process (the load generator's clients) per order: it shares the machine too.
    load_generator_cpu_ms_per_order: f64,
    ceiling_orders_per_sec: f64,
    saturation_to_ceiling: f64,
    ours_to_server_cpu: f64,
    /// At half the peak rate, the default `POST /orders` (the checkout: `201` once reserved)...
    half_peak: LoadReport,
    /// ...and the same rate with `Prefer: respond-async` (`202` at once).
    half_peak_async: LoadReport,
    /// p99 (bucket upper bound, ms) of each step of `POST /orders` in the half-peak run, and of
    /// the server's own handling of the start (its frontend's `service_latency`).
    half_peak_steps_p99_ms: Vec<(String, f64)>,
    noop: minimal::MinimalFigures,
    one_activity: minimal::MinimalFigures,
    batch: Option<batch::BatchComparison>,
    /// Resident MiB per worker role: `(idle, peak)`.
    worker_rss_mib: Vec<(String, f64, f64)>,
    /// Resident MiB of the Temporal server at the end: `(now, peak)`.
    server_rss_mib: (f64, f64),
}

/// Prints one line of progress (stderr, so that `--json` output stays clean).
fn step(started: Instant, what: &str) {
    eprintln!("[{:>6.1}s] {what}", started.elapsed().as_secs_f64());
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    step(started, "starting a fresh Temporal dev server (in memory)");
    let server = DevServer::start(
        DevServerConfig::ephemeral(cli_binary::find(args.temporal_cli.as_deref())?),
        Duration::from_secs(60),
    )
    .await?;
    let server_pid = server.pid().ok_or_else(|| anyhow::anyhow!("the dev server has no pid"))?;
    let payload_keys = keys::generate_entry()?;
    let service_key = api_keys::generate_key()?;
    let database_url = format!("sqlite://{}/shop.db?mode=rwc", dir.path().display());
    // The e-mails go to a real SMTP server, as in `dev`, when there is one to start.
    let catcher = match crate::mail_catcher::find_python(None) {
        Ok(python) => {
            Some(crate::mail_catcher::MailCatcher::start(&python, "127.0.0.1", 0, &dir.path().join("mail")).await?)
        }
        Err(error) => {
            eprintln!("no mail catcher, the e-mails stay queued: {error:#}");
            None
        }
    };
    let smtp_url = catcher.as_ref().map(crate::mail_catcher::MailCatcher::smtp_url).unwrap_or_default();
    let env = [
        ("DATABASE_URL", database_url.as_str()),
        ("SMTP_URL", smtp_url.as_str()),
        ("TEMPORAL_ADDRESS", server.address.as_str()),
        ("PAYLOAD_KEYS", payload_keys.as_str()),
        ("SERVICE_KEY", service_key.as_str()),
        ("OPERATORS", "alice"),
        ("WORKER_STATUS_INTERVAL", "60s"),
        // Every order follows its parcel to the door, as in `dev`, a step every 200 ms.
        ("CARRIER_SIMULATOR", "true"),
        ("CARRIER_STEP", "200ms"),
    ];
    step(started, "starting the five services and both workers, each its own process");
    let mut system = ProcessSystem::new(std::env::current_exe()?, dir.path(), &env)?;
    system.start_all(Duration::from_secs(60)).await?;
    let db = crate::db::connect(&database_url).await?;
    let operator_key = api_keys::generate_key()?;
    api_keys::store(&db, &operator_key, Role::Operator, Some("alice"), "bench").await?;
    let client = crate::temporal::connect(
        &crate::temporal::TemporalConnection::plain(&server.address, "default")?,
        "capstone-bench",
        Duration::from_secs(10),
        &KeyRing::parse(&payload_keys)?,
    )
    .await?;

    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss: Vec<(String, f64)> = WORKERS
        .iter()
        .map(|role| Ok((role.to_string(), procfs::rss_mib(system.pid(role).unwrap_or(0))?.0)))
        .collect::<anyhow::Result<_>>()?;

    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let ramp = [args.concurrency, args.concurrency * 2, args.concurrency * 4];
    // Enough for the warm-up, every saturation run and the half-peak run: an order refused
    // for want of stock would be a cheap order, and flatter the figures.
    const WARM_UP: u64 = 40;
    let saturation_orders: u64 = ramp.iter().map(|clients| saturation::orders_for(args.orders, *clients)).sum();
    loadgen::stock_skus(
        system.url("inventory"),
        &service_key,
        &run_id,
        WARM_UP + saturation_orders + args.half_peak_orders + 100,
    )
    .await?;
    let plan_as = |pace, count, tag: &str, respond_async| LoadPlan {
        api_url: system.url("api").to_owned(),
        api_key: operator_key.clone(),
        pace,
        stop: Stop::Count(count),
        mix: Mix::default(),
        run_id: format!("{run_id}-{tag}"),
        order_timeout: Duration::from_secs(300),
        respond_async,
    };
    let plan = |pace, count, tag: &str| plan_as(pace, count, tag, false);
    step(started, &format!("warming up: {WARM_UP} orders"));
    run_load(&plan(Pace::Concurrency(4), WARM_UP, "warm"), &loadgen::progress_bar(Stop::Count(WARM_UP))).await?;

    let roles: Vec<(&'static str, u32)> =
        SERVICES.iter().chain(WORKERS.iter()).filter_map(|role| Some((*role, system.pid(role)?))).collect();
    let measured = Measured { server_pid, roles: &roles };
    // Saturation: more clients until more clients bring no more orders per second; the
    // figures (and the CPU per order) are those of the fastest run's steady state.
    let mut best: Option<SaturationRun> = None;
    for clients in ramp {
        let orders = saturation::orders_for(args.orders, clients);
        step(started, &format!("saturation: {orders} orders, {clients} clients"));
        let run = saturation::saturate(
            clients,
            &plan(Pace::Concurrency(clients), orders, &format!("sat{clients}")),
            &measured,
        )
        .await?;
        let faster =
            best.as_ref().is_none_or(|previous| run.window.orders_per_sec > previous.window.orders_per_sec * 1.05);
        if !faster {
            break;
        }
        best = Some(run);
    }
    let SaturationRun { clients, report: saturation, window } = best.expect("one saturation run at least");
    let cores = procfs::cores();
    let server_cpu_per_order = window.server_cpu / window.orders.max(1) as f64;
    let ceiling = cores as f64 / server_cpu_per_order;
    let peak_rss: Vec<(String, f64, f64)> = idle_rss
        .iter()
        .map(|(role, idle)| Ok((role.clone(), *idle, procfs::rss_mib(system.pid(role).unwrap_or(0))?.1)))
        .collect::<anyhow::Result<_>>()?;

    let half_rate = window.orders_per_sec / 2.0;
    step(started, &format!("half the peak: {} orders at {half_rate:.1}/s", args.half_peak_orders));
    let api_metrics = format!("{}/metrics", system.url("api"));
    let (steps_before, server_before) = (
        steps::read(&api_metrics, &steps::API_STEPS).await?,
        steps::read(&server.metrics_url, &steps::SERVER_START).await?,
    );
    let half_peak = run_load(
        &plan(Pace::PerSecond(half_rate), args.half_peak_orders, "half"),
        &loadgen::progress_bar(Stop::Count(args.half_peak_orders)),
    )
    .await?;
    let mut half_peak_steps_p99_ms =
        steps::quantile_ms(&steps_before, &steps::read(&api_metrics, &steps::API_STEPS).await?, 0.99);
    half_peak_steps_p99_ms.extend(steps::quantile_ms(
        &server_before,
        &steps::read(&server.metrics_url, &steps::SERVER_START).await?,
        0.99,
    ));
    // The same rate again, the asynchronous way (`Prefer: respond-async`): what the checkout's
    // one round trip costs the client, against a `202` that waits for nothing.
    step(started, &format!("half the peak, respond-async: {} orders", args.half_peak_orders));
    let half_peak_async = run_load(
        &plan_as(Pace::PerSecond(half_rate), args.half_peak_orders, "half-async", true),
        &loadgen::progress_bar(Stop::Count(args.half_peak_orders)),
    )
    .await?;

    step(started, &format!("reference: {} no-op and {} one-activity workflows", args.minimal, args.minimal));
    let (noop, one_activity) = minimal::run(&client, server_pid, args.minimal, args.concurrency).await?;

    let batch = if args.batch > 0 {
        step(started, &format!("a batch of {} against {} independent orders", args.batch, args.batch));
        let shop = loadgen::ShopClientArgs {
            api_url: system.url("api").to_owned(),
            inventory_url: system.url("inventory").to_owned(),
            api_key: operator_key.clone(),
            service_key: crate::config::ServiceKeyArgs {
                service_key: Some(service_key.clone()),
                service_key_file: Default::default(),
            },
        };
        Some(batch::compare(&shop, args.batch, args.batch_window).await?)
    } else {
        None
    };

    let figures = Figures {
        cores,
        concurrency: clients,
        server_cpu_ms_per_order: server_cpu_per_order * 1000.0,
        ours_cpu_ms_per_order: window.ms_per_order(window.ours_cpu()),
        ours_cpu_ms_by_role: window
            .ours_cpu_by_role
            .iter()
            .map(|(role, seconds)| (role.clone(), window.ms_per_order(*seconds)))
            .collect(),
        load_generator_cpu_ms_per_order: window.ms_per_order(window.load_cpu),
        ceiling_orders_per_sec: ceiling,
        saturation_to_ceiling: window.orders_per_sec / ceiling,
        ours_to_server_cpu: window.ours_cpu() / window.server_cpu,
        saturation,
        saturation_window: window,
        half_peak,
        half_peak_async,
        half_peak_steps_p99_ms,
        noop,
        one_activity,
        batch,
        worker_rss_mib: peak_rss,
        server_rss_mib: procfs::rss_mib(server_pid)?,
    };
    system.stop_all();
    server.stop().await?;
    step(started, "done");
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print(&figures);
    }
    Ok(())
}

/// Runs `plan` (its progress on `progress`) and fails unless every order completed.
async fn run_load(plan: &LoadPlan, progress: &ProgressBar) -> anyhow::Result<LoadReport> {
    let started = Instant::now();
    let records = loadgen::drive(plan, progress).await?;
    progress.finish_and_clear();
    let report = LoadReport::new(&records, started.elapsed());
    // Plain orders only: every one must complete, or the figures are not those of a saga.
    let completed = report.outcomes.get(OrderStatus::Completed.as_str()).copied().unwrap_or(0);
    anyhow::ensure!(
        completed == report.orders,
        "not every order completed: {:?} {:?}",
        report.outcomes,
        report.sample_errors
    );
    Ok(report)
}

fn print(f: &Figures) {
    let (s, w) = (&f.saturation, &f.saturation_window);
    println!();
    println!("Machine: {} cores. Every figure below is from this one run.", f.cores);
    println!();
    println!("Temporal server CPU per order       {:>8.1} ms", f.server_cpu_ms_per_order);
    println!("Ceiling (cores / server CPU/order)   {:>8.1} orders/s", f.ceiling_orders_per_sec);
    println!(
        "Saturation ({:>3} clients)            {:>8.1} orders/s = {:.2} of the ceiling   {}",
        f.concurrency,
        w.orders_per_sec,
        f.saturation_to_ceiling,
        targets::SATURATION.verdict(f.saturation_to_ceiling)
    );
    println!(
        "  steady state                      {} orders in {:.1} s, cores {:.0}% busy (whole run with ramp-up and drain: {:.1} orders/s)",
        w.orders,
        w.secs,
        w.machine_busy * 100.0,
        s.finished_per_sec
    );
    println!(
        "Our CPU per order (7 processes)     {:>8.1} ms = {:.2} of the server's     {}",
        f.ours_cpu_ms_per_order,
        f.ours_to_server_cpu,
        targets::OUR_CPU.verdict(f.ours_to_server_cpu)
    );
    let by_role: Vec<String> = f.ours_cpu_ms_by_role.iter().map(|(role, ms)| format!("{role} {ms:.1}")).collect();
    println!("  by role (ms per order)            {}", by_role.join(", "));
    println!(
        "Load generator CPU per order        {:>8.1} ms (this process: it shares the cores too)",
        f.load_generator_cpu_ms_per_order
    );
    println!(
        "Saga latency at saturation          p50 {:.0} ms, p99 {:.0} ms",
        s.completion.p50_ms, s.completion.p99_ms
    );
    println!(
        "POST /orders at half the peak       checkout (201): p50 {:.1} ms, p99 {:.1} ms",
        f.half_peak.acceptance.p50_ms, f.half_peak.acceptance.p99_ms,
    );
    println!(
        "                                    respond-async (202): p50 {:.1} ms, p99 {:.1} ms   {}",
        f.half_peak_async.acceptance.p50_ms,
        f.half_peak_async.acceptance.p99_ms,
        targets::ACCEPTANCE_P99.verdict(f.half_peak_async.acceptance.p99_ms)
    );
    let steps: Vec<String> = f.half_peak_steps_p99_ms.iter().map(|(step, ms)| format!("{step} <= {ms} ms")).collect();
    println!("  p99 by step (api), and the server's  {}", steps.join(", "));
    println!(
        "No-op workflows                     {:>8.1} /s, server CPU {:.1} ms each",
        f.noop.per_sec, f.noop.server_cpu_ms_per_workflow
    );
    println!(
        "One-activity workflows              {:>8.1} /s, server CPU {:.1} ms each",
        f.one_activity.per_sec, f.one_activity.server_cpu_ms_per_workflow
    );
    if let Some(b) = &f.batch {
        println!(
            "Batch of {} vs independent         {:.1} s vs {:.1} s = {:.2}   {}",
            b.count,
            b.batch_secs,
            b.independent_secs,
            b.ratio(),
            targets::BATCH.verdict(b.ratio())
        );
    }
    for (role, idle, peak) in &f.worker_rss_mib {
        println!(
            "{role:<22}              RSS idle {idle:.1} MiB, peak {peak:.1} MiB   {}",
            targets::WORKER_IDLE_RSS.verdict(*idle)
        );
    }
    let (now, peak) = f.server_rss_mib;
    println!("Temporal server                     RSS {now:.0} MiB, peak {peak:.0} MiB");
}
