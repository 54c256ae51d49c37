//! `capstone dev`: the whole system in one process, on embedded defaults.
//!
//! Starts a Temporal dev server (unless one already answers at TEMPORAL_ADDRESS), the five
//! services on their ports with their tables in one SQLite file, and a workflow worker and an
//! activity worker on separate task queues. Fault injection (`/admin/faults`) is on: this is
//! the place to experiment. Ctrl-C or SIGTERM stops everything in order: workers drain,
//! services finish their requests, the dev server stops last.

mod banner;
mod demo_order;

use crate::api::api_keys::{self, Role};
use crate::{
    config::{
        ActivityTuningArgs, ApiAddr, ApprovalArgs, BatchArgs, DatabaseArgs, InventoryAddr, NotificationsAddr,
        PaymentsAddr, RegionRoutesArg, ShippingAddr, ShippingRulesArgs, StatusIntervalArg, SubscriptionArgs,
        TaskQueueArgs, TemporalArgs, UiArgs, WorkflowTuningArgs, worker_tuning,
    },
    mail_catcher::{self, MailCatcher},
    shop::{ServiceAddrs, Shop, ShopConfig},
    shutdown,
    temporal::{
        self, cli_binary,
        dev_server::{DevServer, DevServerConfig},
    },
    workers,
};
use anyhow::Context;
use clap::Args;
use std::{path::PathBuf, time::Duration};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct DevArgs {
    /// Place one demo order once everything runs, and print how it went.
    #[arg(long)]
    pub demo_order: bool,
    /// The `temporal` CLI to run as a dev server (default: .tools/venv/bin/temporal, then PATH).
    #[arg(long, env = "TEMPORAL_CLI")]
    pub temporal_cli: Option<PathBuf>,
    /// Web UI port of the dev server that `dev` starts.
    #[arg(long, env = "TEMPORAL_UI_PORT", default_value_t = 8233)]
    pub temporal_ui_port: u16,
    /// Where the dev server that `dev` starts serves its own Prometheus metrics
    /// (deploy/prometheus/prometheus-dev.yml scrapes it).
    #[arg(long, env = "TEMPORAL_METRICS_PORT", default_value_t = 7235)]
    pub temporal_metrics_port: u16,
    /// Where the dev server that `dev` starts keeps its state (survives restarts).
    #[arg(long, env = "TEMPORAL_DB_FILE", default_value = ".data/temporal.db")]
    pub temporal_db_file: PathBuf,
    /// The Python with aiosmtpd that runs `dev`'s mail catcher, the SMTP server the e-mails go
    /// to (default: .tools/venv/bin/python from `make setup`). Not started when SMTP_URL is set.
    #[arg(long, env = "MAIL_CATCHER_PYTHON")]
    pub mail_catcher_python: Option<PathBuf>,
    /// Where `dev`'s mail catcher listens for SMTP.
    #[arg(long, env = "MAIL_CATCHER_PORT", default_value_t = 1025)]
    pub mail_catcher_port: u16,
    /// Where `dev`'s mail catcher keeps what it receives (a Maildir: one file per e-mail in new/).
    #[arg(long, env = "MAIL_CATCHER_DIR", default_value = ".data/mail")]
    pub mail_catcher_dir: PathBuf,
    #[command(flatten)]
    pub smtp: crate::config::SmtpArgs,
    #[command(flatten)]
    pub schedules: crate::config::ScheduleArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub task_queues: TaskQueueArgs,
    #[command(flatten)]
    pub region_routes: RegionRoutesArg,
    #[command(flatten)]
    pub approval: ApprovalArgs,
    #[command(flatten)]
    pub subscriptions: SubscriptionArgs,
    #[command(flatten)]
    pub batches: BatchArgs,
    #[command(flatten)]
    pub shipping_rules: ShippingRulesArgs,
    #[command(flatten)]
    pub carrier: crate::config::CarrierArgs,
    #[command(flatten)]
    pub delivery: crate::config::DeliveryArgs,
    #[command(flatten)]
    pub limits: crate::config::ApiLimitArgs,
    #[command(flatten)]
    pub versioning: crate::config::VersioningArgs,
    /// The service key (kept in .data/service-key, so that `capstone loadgen` finds it).
    #[command(flatten)]
    pub service_key: crate::config::ServiceKeyArgs,
    #[command(flatten)]
    pub workflow_tuning: WorkflowTuningArgs,
    #[command(flatten)]
    pub activity_tuning: ActivityTuningArgs,
    #[command(flatten)]
    pub status: StatusIntervalArg,
    #[command(flatten)]
    pub api: ApiAddr,
    #[command(flatten)]
    pub inventory: InventoryAddr,
    #[command(flatten)]
    pub payments: PaymentsAddr,
    #[command(flatten)]
    pub shipping: ShippingAddr,
    #[command(flatten)]
    pub notifications: NotificationsAddr,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signals();
    let connection = args.temporal.connection()?;
    // Made before the dev server starts: its Web UI gets the codec endpoint with the
    // operator key in the path (docs/day-10.md).
    let demo_keys = DemoKeys::generate()?;
    let (server, ui_url) = if temporal::answers(&connection).await {
        println!(
            "Using the Temporal server that already answers at {} ({}).",
            connection.address, connection.description
        );
        (None, args.ui.temporal_ui_url.clone())
    } else {
        let server = start_dev_server(&args, &connection, &demo_keys).await?;
        let ui_url = server.ui_url.clone().unwrap_or_else(|| args.ui.temporal_ui_url.clone());
        (Some(server), ui_url)
    };
    let server_pid = server.as_ref().and_then(DevServer::pid);
    let (catcher, smtp) = start_mail_catcher(&args).await?;
    let mail = Mail { smtp, catcher: catcher.as_ref() };
    let outcome = run_shop(&args, &connection, &demo_keys, ui_url, server_pid, &mail, shutdown).await;
    if let Some(catcher) = catcher {
        catcher.stop().await?;
    }
    if let Some(server) = server {
        server.stop().await?;
    }
    outcome
}

/// Where `dev`'s e-mails go: the SMTP relay's settings and the mail catcher, if `dev` runs it.
pub struct Mail<'a> {
    pub smtp: Option<crate::notifications::smtp::SmtpSettings>,
    pub catcher: Option<&'a MailCatcher>,
}

/// SMTP_URL when it is set (empty: no e-mail is sent); else a mail catcher started here. No
/// aiosmtpd is not fatal: the shop runs, its e-mails wait in the outbox, and we say how to fix it.
async fn start_mail_catcher(
    args: &DevArgs,
) -> anyhow::Result<(Option<MailCatcher>, Option<crate::notifications::smtp::SmtpSettings>)> {
    if args.smtp.smtp_url.is_some() {
        return Ok((None, args.smtp.settings("")));
    }
    let python = match mail_catcher::find_python(args.mail_catcher_python.as_deref()) {
        Ok(python) => python,
        Err(error) => {
            println!("No mail catcher: e-mails stay queued in the outbox. {error:#}");
            return Ok((None, None));
        }
    };
    let catcher = MailCatcher::start(&python, "127.0.0.1", args.mail_catcher_port, &args.mail_catcher_dir)
        .await
        .with_context(|| format!("starting the mail catcher (MAIL_CATCHER_PORT={})", args.mail_catcher_port))?;
    let smtp = args.smtp.settings(&catcher.smtp_url());
    Ok((Some(catcher), smtp))
}

/// A key per role, new at every start, printed in the banner.
pub struct DemoKeys {
    pub operator: String,
    pub customer: String,
    pub customer_id: String,
}

impl DemoKeys {
    fn generate() -> anyhow::Result<Self> {
        Ok(Self {
            operator: api_keys::generate_key()?,
            customer: api_keys::generate_key()?,
            customer_id: demo_order::customer_id()?,
        })
    }

    /// `http://127.0.0.1:8080/codec/k/<operator key>`: what the Web UI's codec setting needs.
    pub fn codec_endpoint(&self, args: &DevArgs) -> String {
        format!("http://{}/codec/k/{}", args.api.api_addr, self.operator)
    }

    /// The demo operator key belongs to the first of the operators (`alice` by default).
    async fn store(&self, db: &crate::db::Db, operators: &[String]) -> anyhow::Result<()> {
        let operator = operators.first().context("OPERATORS names no operator")?;
        api_keys::replace_labelled(db, "demo-operator", &[&self.operator], Role::Operator, Some(operator)).await?;
        api_keys::replace_labelled(db, "demo-customer", &[&self.customer], Role::Customer, Some(&self.customer_id))
            .await?;
        Ok(())
    }
}

async fn start_dev_server(
    args: &DevArgs,
    connection: &temporal::TemporalConnection,
    demo_keys: &DemoKeys,
) -> anyhow::Result<DevServer> {
    anyhow::ensure!(
        !connection.uses_tls(),
        "nothing answers at {} ({}), and `capstone dev` starts only plain dev servers: \
         start that server, or unset the TLS settings to have a dev server started here",
        connection.address,
        connection.description
    );
    let binary = cli_binary::find(args.temporal_cli.as_deref())?;
    let (ip, port) = connection
        .host_port()
        .with_context(|| format!("TEMPORAL_ADDRESS {:?} is not host:port", connection.address))?;
    if let Some(folder) = args.temporal_db_file.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    let log_file = args.temporal_db_file.with_extension("log");
    println!("Starting a Temporal dev server ({}); its log goes to {} ...", binary.display(), log_file.display());
    let config = DevServerConfig {
        ui_port: Some(args.temporal_ui_port),
        ui_codec_endpoint: Some(demo_keys.codec_endpoint(args)),
        metrics_port: args.temporal_metrics_port,
        db_filename: Some(args.temporal_db_file.clone()),
        log_file: Some(log_file),
        ip,
        port,
        ..DevServerConfig::ephemeral(binary)
    };
    DevServer::start(config, Duration::from_secs(60)).await
}

async fn run_shop(
    args: &DevArgs,
    connection: &temporal::TemporalConnection,
    demo_keys: &DemoKeys,
    ui_url: String,
    server_pid: Option<u32>,
    mail: &Mail<'_>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let payload_keys = args.temporal.key_ring()?;
    let client = temporal::connect(connection, "capstone-dev", Duration::from_secs(30), &payload_keys).await?;
    // A dev server started here has them already; one that was running may not.
    let created = temporal::search_attributes::register(&client, &connection.namespace).await?;
    if !created.is_empty() {
        println!("Created the search attributes {} on the Temporal server.", created.join(", "));
    }
    if let Some(settings) = args.schedules.settings(&args.task_queues.queues()) {
        temporal::schedules::ensure(&client, &settings).await?;
    }
    if let Err(error) =
        temporal::namespace::set_retention(&client, &connection.namespace, args.schedules.workflow_retention).await
    {
        println!("The namespace's workflow retention stays as it was: {error:#}");
    }
    let service_key = args.service_key.keys()?.remove(0);
    let config = ShopConfig {
        database_url: args.database.database_url.clone(),
        addrs: ServiceAddrs {
            api: args.api.api_addr,
            inventory: args.inventory.inventory_addr,
            payments: args.payments.payments_addr,
            shipping: args.shipping.shipping_addr,
            notifications: args.notifications.notifications_addr,
        },
        task_queues: args.task_queues.queues(),
        region_routes: args.region_routes.region_routes.clone(),
        approval: args.approval.policy(),
        delivery: args.delivery.settings(),
        carrier: args.carrier.settings(true, &service_key),
        smtp: mail.smtp.clone(),
        subscriptions: args.subscriptions.settings(),
        batch_children_per_run: args.batches.batch_children_per_run,
        blocked_countries: args.shipping_rules.countries(),
        fault_injection: true,
        temporal_ui_url: ui_url.clone(),
        namespace: connection.namespace.clone(),
        payload_keys,
        // The UI this run really serves (its port may differ from TEMPORAL_UI_URL's).
        ui_origins: crate::config::ui_origins(&ui_url),
        service_key: service_key.clone(),
        limits: args.limits.settings(),
        // The dev server's Web UI gets the demo operator key in its codec URL instead.
        codec_keys: Vec::new(),
    };
    let shop = Shop::start(&config, client.clone()).await?;
    demo_keys.store(&shop.db, &args.approval.policy().operators).await?;
    let runtime = workers::runtime()?;
    // `dev` keeps Temporal's state between runs while its code changes under the learner: one
    // build id for every run, so the orders and the current version carry over a restart (the
    // replay gate and `patched` protect them, as unversioned). A git commit per build would
    // leave the new build never current and the old one's pinned orders with no worker. And
    // it takes the current version back from a build a day-9 experiment left current.
    let mut versioning = args.versioning.versioning(crate::workers::versioning::DEV_BUILD_ID);
    if versioning.make_current != crate::workers::versioning::MakeCurrent::Never {
        versioning.make_current = crate::workers::versioning::MakeCurrent::Always;
    }
    let tuning = worker_tuning(Some(&args.workflow_tuning), Some(&args.activity_tuning), &args.status, versioning);
    let all_workers = shop.workers(&runtime, client, &tuning)?;

    banner::print(&banner::Banner {
        args,
        shop: &shop,
        temporal: connection,
        ui_url: &ui_url,
        server_pid,
        keys: demo_keys,
        ui_codec: server_pid.is_some(),
        versioning: &tuning.versioning,
        mail,
    });
    if args.demo_order {
        let api_url = shop.api.url();
        let ui_url = ui_url.clone();
        let namespace = config.namespace.clone();
        let key = demo_keys.customer.clone();
        tokio::spawn(async move {
            if let Err(error) = demo_order::place_and_follow(&api_url, &key, &ui_url, &namespace).await {
                println!("The demo order did not complete: {error:#}");
            }
        });
    }

    let workers_outcome = workers::run_all(all_workers, shutdown.clone(), tuning.status_interval).await;
    // If a worker failed on its own, stop the rest too.
    shutdown.cancel();
    shop.stop().await?;
    workers_outcome
}
