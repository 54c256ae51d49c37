//! The `capstone` command line: one role per subcommand.

use crate::{
    dev::{self, DevArgs},
    hello::{self, HelloArgs},
    ingest::{self, GenerateStockCsvArgs, IngestStockArgs},
    roles::{
        self,
        api::ApiArgs,
        services::{InventoryArgs, NotificationsArgs, PaymentsArgs, ShippingArgs},
        workers::{ActivityWorkerArgs, WorkflowWorkerArgs},
    },
    telemetry::{self, LogFormat},
};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Start a HelloWorkflow and print its greeting.
    Hello(HelloArgs),
    /// Load a stock file (CSV: sku,name,unit_price_cents,qty) through a StockIngestionWorkflow.
    IngestStock(IngestStockArgs),
    /// Write a stock file of any size, for `ingest-stock`.
    GenerateStockCsv(GenerateStockCsvArgs),
    /// Benchmark: N orders as one batch against N independent orders (needs a running system).
    #[cfg(feature = "tools")]
    BenchBatch(crate::bench::BenchBatchArgs),
    /// Benchmark: a fresh dev server and the shop as processes; throughput, CPU per order, latency, memory.
    #[cfg(feature = "tools")]
    Bench(crate::bench::BenchArgs),
    /// Drive orders through the HTTP API at a rate or concurrency, with a mix of outcomes; report latencies.
    #[cfg(feature = "tools")]
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
        #[cfg(feature = "tools")]
        Command::BenchBatch(args) => crate::bench::batch::run(args).await,
        #[cfg(feature = "tools")]
        Command::Bench(args) => crate::bench::run(args).await,
        #[cfg(feature = "tools")]
        Command::Loadgen(args) => crate::loadgen::run(args).await,
        Command::SetupTemporal(args) => crate::setup::run(args).await,
        Command::CreateApiKey(args) => crate::access_cli::create_api_key(args).await,
        Command::GeneratePayloadKey(args) => crate::access_cli::generate_payload_key(args),
        Command::Migrate(args) => crate::migrate::run(args).await,
        Command::Probe(args) => crate::probe::run(args).await,
        Command::Api(args) => roles::api::run(*args).await,
        Command::Inventory(args) => roles::services::inventory(args).await,
        Command::Payments(args) => roles::services::payments(args).await,
        Command::Shipping(args) => roles::services::shipping(args).await,
        Command::Notifications(args) => roles::services::notifications(args).await,
        Command::WorkflowWorker(args) => roles::workers::workflow_worker(args).await,
        Command::ActivityWorker(args) => roles::workers::activity_worker(*args).await,
    }
}
