//! The `capstone` command line: one role per subcommand.

use crate::{
    api::{self, ApiSettings},
    config::{
        ActivityTaskQueueArg, ApiAddr, DatabaseArgs, InventoryAddr, NotificationsAddr, PaymentsAddr, ServiceUrlArgs,
        ShippingAddr, TaskQueueArgs, TemporalArgs, UiArgs, WorkflowTaskQueueArg,
    },
    db::{self, Db},
    dev::{self, DevArgs},
    hello::{self, HelloArgs},
    http::RunningService,
    inventory, notifications, payments, shipping, shutdown,
    telemetry::{self, LogFormat},
    temporal, workers,
};
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
    /// Run everything in one process: a Temporal dev server, the five services, both workers.
    Dev(Box<DevArgs>),
    /// The public HTTP API: accepts orders and starts their workflows.
    Api(Box<ApiArgs>),
    /// The inventory service: catalog, stock, reservations.
    Inventory(InventoryArgs),
    /// The payments service: charges, refunds, the ledger.
    Payments(PaymentsArgs),
    /// The shipping service: shipments.
    Shipping(ShippingArgs),
    /// The notifications service: the e-mail outbox.
    Notifications(NotificationsArgs),
    /// A worker that runs workflow tasks only.
    WorkflowWorker(WorkflowWorkerArgs),
    /// A worker that runs activity tasks only.
    ActivityWorker(ActivityWorkerArgs),
    /// Start a HelloWorkflow and print its greeting (day 1).
    Hello(HelloArgs),
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
    pub urls: ServiceUrlArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub addr: InventoryAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct PaymentsArgs {
    #[command(flatten)]
    pub addr: PaymentsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct ShippingArgs {
    #[command(flatten)]
    pub addr: ShippingAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    pub addr: NotificationsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct WorkflowWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queue: WorkflowTaskQueueArg,
}

#[derive(Args, Debug)]
pub struct ActivityWorkerArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queue: ActivityTaskQueueArg,
    #[command(flatten)]
    pub urls: ServiceUrlArgs,
}

/// How long a role waits for Temporal to come up before giving up.
const TEMPORAL_PATIENCE: Duration = Duration::from_secs(60);

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
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
        Command::Api(args) => {
            let client = temporal::connect(
                &args.temporal.temporal_address,
                &args.temporal.temporal_namespace,
                "capstone-api",
                TEMPORAL_PATIENCE,
            )
            .await?;
            let settings = ApiSettings {
                workflow_task_queue: args.task_queues.workflows.workflow_task_queue,
                activity_task_queue: args.task_queues.activities.activity_task_queue,
                inventory_url: args.urls.inventory_url,
                temporal_ui_url: args.ui.temporal_ui_url,
                namespace: args.temporal.temporal_namespace,
            };
            let addr = args.addr.api_addr;
            serve(&args.database, move |db, shutdown| api::start(db, client, settings, addr, shutdown)).await
        }
        Command::Inventory(args) => {
            serve(&args.database, |db, shutdown| inventory::start(db, args.addr.inventory_addr, shutdown)).await
        }
        Command::Payments(args) => {
            serve(&args.database, |db, shutdown| payments::start(db, args.addr.payments_addr, shutdown)).await
        }
        Command::Shipping(args) => {
            serve(&args.database, |db, shutdown| shipping::start(db, args.addr.shipping_addr, shutdown)).await
        }
        Command::Notifications(args) => {
            serve(&args.database, |db, shutdown| notifications::start(db, args.addr.notifications_addr, shutdown)).await
        }
        Command::WorkflowWorker(args) => {
            let client = temporal::connect(
                &args.temporal.temporal_address,
                &args.temporal.temporal_namespace,
                "capstone-workflow-worker",
                TEMPORAL_PATIENCE,
            )
            .await?;
            let runtime = workers::runtime()?;
            let worker = workers::workflow_worker(&runtime, client, &args.task_queue.workflow_task_queue)?;
            workers::run_until(worker, "workflow", shutdown::on_signals()).await
        }
        Command::ActivityWorker(args) => {
            let client = temporal::connect(
                &args.temporal.temporal_address,
                &args.temporal.temporal_namespace,
                "capstone-activity-worker",
                TEMPORAL_PATIENCE,
            )
            .await?;
            let runtime = workers::runtime()?;
            let worker =
                workers::activity_worker(&runtime, client, &args.task_queue.activity_task_queue, &args.urls.to_urls())?;
            workers::run_until(worker, "activity", shutdown::on_signals()).await
        }
    }
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
