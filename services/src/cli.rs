//! The `capstone` command line: one role per subcommand.

use crate::{
    api::{self, ApiSettings},
    codec::EncryptionCodec,
    config::{
        ActivityTaskQueueArgs, ActivityTuningArgs, ActivityWorkerMetricsAddr, ApiAddr, ApiLimitArgs, ApprovalArgs,
        BackendEdgeArgs, CarrierArgs, CodecKeyArgs, DEFAULT_SMTP_URL, DatabaseArgs, DeliveryArgs, FaultArgs,
        InventoryAddr, InventoryUrlArg, NotificationsAddr, PaymentsAddr, RegionArg, RegionRoutesArg, ServiceKeyArgs,
        ServiceUrlArgs, ShippingAddr, ShippingRulesArgs, ShippingUrlArg, SmtpArgs, StatusIntervalArg, SubscriptionArgs,
        TaskQueueArgs, TemporalArgs, UiArgs, VersioningArgs, WorkflowTaskQueueArg, WorkflowTuningArgs,
        WorkflowWorkerMetricsAddr, worker_tuning,
    },
    db::{self, Db},
    dev::{self, DevArgs},
    hello::{self, HelloArgs},
    http::RunningService,
    ingest::{self, GenerateStockCsvArgs, IngestStockArgs},
    inventory, notifications, payments, shipping, shutdown,
    telemetry::{self, LogFormat},
    temporal, workers,
};
use capstone_workflows::task_queues::TaskQueues;
use clap::{Args, Parser, Subcommand};
use std::{future::Future, process::ExitCode, time::Duration};
use tokio_util::sync::CancellationToken;

/// An order & payment saga on Temporal: a shop whose orders run as durable workflows.
///
/// `capstone dev` runs everything in one process. Every other subcommand is one role of the
/// system, as deployed on its own (one container per role).
#[derive(Parser, Debug)]
#[command(name = "capstone", version, propagate_version = true)]
pub struct Cli {
    /// Log format (logs go to stderr; RUST_LOG sets the filter).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything in one process: a Temporal dev server, the five services, the workers.
    Dev(Box<DevArgs>),
    /// The public HTTP API: accepts orders and starts their workflows.
    Api(Box<ApiArgs>),
    /// The inventory service: catalog, stock, reservations.
    Inventory(InventoryArgs),
    /// The payments service: charges, refunds, the ledger.
    Payments(PaymentsArgs),
    /// The shipping service: shipments.
    Shipping(ShippingArgs),
    /// The notifications service: the e-mail outbox and its SMTP relay.
    Notifications(NotificationsArgs),
    /// A worker that runs workflow tasks only.
    WorkflowWorker(WorkflowWorkerArgs),
    /// A worker that runs activity tasks only (payments on their own queue).
    ActivityWorker(Box<ActivityWorkerArgs>),
    /// Start a HelloWorkflow and print its greeting (day 1).
    Hello(HelloArgs),
    /// Load a stock file (CSV: sku,name,unit_price_cents,qty) through a StockIngestionWorkflow.
    IngestStock(IngestStockArgs),
    /// Write a stock file of any size, for `ingest-stock`.
    GenerateStockCsv(GenerateStockCsvArgs),
    /// Benchmark: N orders as one batch against N independent orders (needs a running system).
    BenchBatch(crate::bench::BenchBatchArgs),
    /// Benchmark: a fresh dev server and the shop as processes; throughput, CPU per order, latency, memory.
    Bench(crate::bench::BenchArgs),
    /// Drive orders through the HTTP API at a rate or concurrency, with a mix of outcomes; report latencies.
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Prepare a Temporal namespace for the shop: create its search attributes (once).
    SetupTemporal(crate::setup::SetupTemporalArgs),
    /// Create an API key (customer, operator or service) and print it once.
    CreateApiKey(crate::access_cli::CreateApiKeyArgs),
    /// Print a new payload encryption key entry (`id:base64`) for PAYLOAD_KEYS.
    GeneratePayloadKey(crate::access_cli::GeneratePayloadKeyArgs),
    /// Apply every service's SQL migrations to DATABASE_URL and exit (before a rollout).
    Migrate(crate::migrate::MigrateArgs),
    /// GET a URL and exit 0 on a 2xx answer (container health checks without curl).
    Probe(crate::probe::ProbeArgs),
}

#[derive(Args, Debug)]
pub struct ApiArgs {
    #[command(flatten)]
    pub addr: ApiAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: TaskQueueArgs,
    #[command(flatten)]
    pub region_routes: RegionRoutesArg,
    #[command(flatten)]
    pub approval: ApprovalArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub subscriptions: SubscriptionArgs,
    #[command(flatten)]
    pub inventory: InventoryUrlArg,
    #[command(flatten)]
    pub shipping: ShippingUrlArg,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub service_key: ServiceKeyArgs,
    #[command(flatten)]
    pub limits: ApiLimitArgs,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub codec_key: CodecKeyArgs,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub addr: InventoryAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
}

#[derive(Args, Debug)]
pub struct PaymentsArgs {
    #[command(flatten)]
    pub addr: PaymentsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
}

#[derive(Args, Debug)]
pub struct ShippingArgs {
    #[command(flatten)]
    pub addr: ShippingAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
    #[command(flatten)]
    pub rules: ShippingRulesArgs,
    /// Carrier events are passed on to the shipment workflows (signals).
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub carrier: CarrierArgs,
}

#[derive(Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    pub addr: NotificationsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

#[derive(Args, Debug)]
pub struct WorkflowWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queue: WorkflowTaskQueueArg,
    #[command(flatten)]
    pub region: RegionArg,
    #[command(flatten)]
    pub tuning: WorkflowTuningArgs,
    #[command(flatten)]
    pub versioning: VersioningArgs,
    #[command(flatten)]
    pub status: StatusIntervalArg,
    #[command(flatten)]
    pub metrics: WorkflowWorkerMetricsAddr,
}

#[derive(Args, Debug)]
pub struct ActivityWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: ActivityTaskQueueArgs,
    #[command(flatten)]
    pub region: RegionArg,
    #[command(flatten)]
    pub urls: ServiceUrlArgs,
    #[command(flatten)]
    pub service_key: ServiceKeyArgs,
    #[command(flatten)]
    pub tuning: ActivityTuningArgs,
    #[command(flatten)]
    pub versioning: VersioningArgs,
    #[command(flatten)]
    pub status: StatusIntervalArg,
    #[command(flatten)]
    pub metrics: ActivityWorkerMetricsAddr,
}

/// How long a role waits for Temporal to come up before giving up.
const TEMPORAL_PATIENCE: Duration = Duration::from_secs(60);

/// The names of `capstone`'s subcommands, as `--help` lists them (the docs and deploy tests
/// check every command and role they name against it).
pub fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command().get_subcommands().map(|command| command.get_name().to_owned()).collect()
}

/// Every environment variable a flag of any role reads, for the docs check.
pub fn environment_variables() -> std::collections::BTreeSet<String> {
    use clap::CommandFactory;
    fn collect(command: &clap::Command, into: &mut std::collections::BTreeSet<String>) {
        for argument in command.get_arguments() {
            if let Some(variable) = argument.get_env() {
                into.insert(variable.to_string_lossy().into_owned());
            }
        }
        for subcommand in command.get_subcommands() {
            collect(subcommand, into);
        }
    }
    let mut variables = std::collections::BTreeSet::new();
    collect(&Cli::command(), &mut variables);
    variables
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end: dropping it flushes the traces not yet exported.
    let _telemetry = telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dev(args) => dev::run(*args).await,
        Command::Hello(args) => hello::run(args).await,
        Command::IngestStock(args) => ingest::run(args).await,
        Command::GenerateStockCsv(args) => ingest::generate(args),
        Command::BenchBatch(args) => crate::bench::batch::run(args).await,
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Loadgen(args) => crate::loadgen::run(args).await,
        Command::SetupTemporal(args) => crate::setup::run(args).await,
        Command::CreateApiKey(args) => crate::access_cli::create_api_key(args).await,
        Command::GeneratePayloadKey(args) => crate::access_cli::generate_payload_key(args),
        Command::Migrate(args) => crate::migrate::run(args).await,
        Command::Probe(args) => crate::probe::run(args).await,
        Command::Api(args) => {
            let keys = args.temporal.key_ring()?;
            let connection = args.temporal.connection()?;
            let client = temporal::connect(&connection, "capstone-api", TEMPORAL_PATIENCE, &keys).await?;
            // The api sets the attributes when it starts an order.
            temporal::search_attributes::require(&client, &connection.namespace).await?;
            let settings = ApiSettings {
                task_queues: args.task_queues.queues(),
                region_routes: args.region_routes.region_routes,
                approval: args.approval.policy(),
                delivery: args.delivery.settings(),
                batch_children_per_run: args.subscriptions.batch_children_per_run.max(1),
                subscriptions: args.subscriptions.settings(),
                inventory_url: args.inventory.inventory_url,
                shipping_url: args.shipping.shipping_url,
                ui_origins: args.ui.origins(),
                temporal_ui_url: args.ui.temporal_ui_url,
                namespace: connection.namespace,
                codec: EncryptionCodec::new(keys),
                service_keys: args.service_key.keys()?,
                limits: args.limits.settings(),
                fault_injection: args.faults.fault_injection,
                codec_keys: args.codec_key.keys(),
            };
            let addr = args.addr.api_addr;
            serve(&args.database, move |db, shutdown| api::start(db, client, settings, addr, shutdown)).await
        }
        Command::Inventory(args) => {
            let edge = args.edge.edge()?;
            serve(&args.database, |db, shutdown| inventory::start(db, args.addr.inventory_addr, shutdown, &edge)).await
        }
        Command::Payments(args) => {
            let edge = args.edge.edge()?;
            serve(&args.database, |db, shutdown| payments::start(db, args.addr.payments_addr, shutdown, &edge)).await
        }
        Command::Shipping(args) => {
            let edge = args.edge.edge()?;
            let keys = args.temporal.key_ring()?;
            let connection = args.temporal.connection()?;
            let client = temporal::connect(&connection, "capstone-shipping", TEMPORAL_PATIENCE, &keys).await?;
            let service_key = args.edge.service_key.keys()?.remove(0);
            let settings = shipping::ShippingSettings {
                blocked_countries: args.rules.countries(),
                temporal: Some(client),
                carrier: args.carrier.settings(false, &service_key),
            };
            serve(&args.database, |db, shutdown| {
                shipping::start(db, args.addr.shipping_addr, shutdown, &edge, settings)
            })
            .await
        }
        Command::Notifications(args) => {
            let edge = args.edge.edge()?;
            let settings = notifications::NotificationsSettings { smtp: args.smtp.settings(DEFAULT_SMTP_URL) };
            serve(&args.database, |db, shutdown| {
                notifications::start(db, args.addr.notifications_addr, shutdown, &edge, settings)
            })
            .await
        }
        Command::WorkflowWorker(args) => {
            let connection = args.temporal.connection()?;
            let keys = args.temporal.key_ring()?;
            let client = temporal::connect(&connection, "capstone-workflow-worker", TEMPORAL_PATIENCE, &keys).await?;
            // The order workflow upserts them at every status change.
            temporal::search_attributes::require(&client, &connection.namespace).await?;
            let runtime = workers::runtime()?;
            let tuning = worker_tuning(
                Some(&args.tuning),
                None,
                &args.status,
                args.versioning.versioning(crate::workers::versioning::BUILD_ID),
            );
            let base = TaskQueues {
                workflows: args.task_queue.workflow_task_queue,
                subscriptions: args.task_queue.subscription_task_queue,
                ..TaskQueues::default()
            };
            let region = args.region.region.as_deref();
            let queues = base.for_region(region);
            // Subscriptions have one queue for every region: the shared workflow workers serve it.
            let subscriptions = region.is_none().then_some(queues.subscriptions.as_str());
            let all = workers::workflow_workers(&runtime, client, &queues.workflows, subscriptions, &tuning)?;
            run_worker_role("workflow-worker", args.metrics.metrics_addr, all, tuning.status_interval).await
        }
        Command::ActivityWorker(args) => {
            let connection = args.temporal.connection()?;
            let keys = args.temporal.key_ring()?;
            let client = temporal::connect(&connection, "capstone-activity-worker", TEMPORAL_PATIENCE, &keys).await?;
            let runtime = workers::runtime()?;
            let tuning = worker_tuning(
                None,
                Some(&args.tuning),
                &args.status,
                args.versioning.versioning(crate::workers::versioning::BUILD_ID),
            );
            let base = TaskQueues {
                activities: args.task_queues.activity_task_queue,
                payments: args.task_queues.payments_task_queue,
                ..TaskQueues::default()
            };
            let queues = base.for_region(args.region.region.as_deref());
            let all = workers::activity_workers(
                &runtime,
                client,
                &queues.activities,
                &queues.payments,
                &args.urls.to_urls(args.service_key.keys()?.remove(0)),
                &tuning,
            )?;
            run_worker_role("activity-worker", args.metrics.metrics_addr, all, tuning.status_interval).await
        }
    }
}

/// Runs a worker role's workers until SIGTERM or Ctrl-C and their drain, with the role's only
/// HTTP port (`/metrics`, `/healthz`) up from before the first poll until after the drain.
async fn run_worker_role(
    role: &'static str,
    metrics_addr: std::net::SocketAddr,
    all: Vec<workers::RunnableWorker>,
    status_interval: Duration,
) -> anyhow::Result<()> {
    let metrics_stop = CancellationToken::new();
    let router = crate::http::service_router(role, axum::Router::new(), None);
    let metrics = crate::http::start_service(role, router, metrics_addr, metrics_stop.clone()).await?;
    let outcome = workers::run_all(all, shutdown::on_signals(), status_interval).await;
    metrics_stop.cancel();
    metrics.stopped().await?;
    outcome
}

/// Runs one service until SIGTERM or Ctrl-C, then lets requests in flight finish.
async fn serve<F, Fut>(database: &DatabaseArgs, start: F) -> anyhow::Result<()>
where
    F: FnOnce(Db, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<RunningService>>,
{
    let shutdown = shutdown::on_signals();
    let db = db::connect(&database.database_url).await?;
    let service = start(db.clone(), shutdown.clone()).await?;
    shutdown.cancelled().await;
    service.stopped().await?;
    db.close().await;
    Ok(())
}
