//! Configuration shared by the roles: each group is a set of flags that also read an
//! environment variable, with defaults that work on a laptop (`capstone <role> --help`).

use crate::codec::KeyRing;
use capstone_workflows::{
    order::ApprovalPolicy,
    task_queues::{self, TaskQueues},
};
use clap::Args;
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

/// How a role reaches Temporal: the SDK's standard configuration (`TEMPORAL_*` variables and
/// `temporal.toml` profiles), each flag overriding one of its settings (docs/temporal-cloud.md).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Temporal connection (the SDK's TEMPORAL_* settings and temporal.toml profiles)")]
pub struct TemporalArgs {
    /// Temporal frontend, host:port or a URL [default: the profile's, else 127.0.0.1:7233].
    #[arg(long, env = "TEMPORAL_ADDRESS")]
    pub temporal_address: Option<String>,
    /// Temporal namespace [default: the profile's, else default].
    #[arg(long, env = "TEMPORAL_NAMESPACE")]
    pub temporal_namespace: Option<String>,
    /// API key (Temporal Cloud); sent as `authorization: Bearer`, and turns TLS on unless
    /// TEMPORAL_TLS=false.
    #[arg(long, env = "TEMPORAL_API_KEY", hide_env_values = true)]
    pub temporal_api_key: Option<String>,
    /// Profile of the configuration file [default: default].
    #[arg(long, env = "TEMPORAL_PROFILE")]
    pub temporal_profile: Option<String>,
    /// The configuration file [default: ~/.config/temporalio/temporal.toml].
    #[arg(long, env = "TEMPORAL_CONFIG_FILE")]
    pub temporal_config_file: Option<String>,
    /// TLS on or off (on by default with an API key, a CA or a client certificate).
    #[arg(long, env = "TEMPORAL_TLS")]
    pub temporal_tls: Option<bool>,
    /// CA certificate (PEM) that signed the server's certificate.
    #[arg(long, env = "TEMPORAL_TLS_SERVER_CA_CERT_PATH")]
    pub temporal_tls_server_ca_cert_path: Option<String>,
    /// Client certificate (PEM) for mTLS.
    #[arg(long, env = "TEMPORAL_TLS_CLIENT_CERT_PATH")]
    pub temporal_tls_client_cert_path: Option<String>,
    /// Client private key (PEM) for mTLS.
    #[arg(long, env = "TEMPORAL_TLS_CLIENT_KEY_PATH")]
    pub temporal_tls_client_key_path: Option<String>,
    /// Name to verify the server's certificate against (and send as SNI).
    #[arg(long, env = "TEMPORAL_TLS_SERVER_NAME")]
    pub temporal_tls_server_name: Option<String>,
    /// Payload encryption keys, `id:base64,id:base64` (the first encrypts; the rest still
    /// decrypt). Overrides --payload-keys-file.
    #[arg(long, env = "PAYLOAD_KEYS", hide_env_values = true)]
    pub payload_keys: Option<String>,
    /// File with the payload keys, one `id:base64` per line; created with a fresh key when missing.
    #[arg(long, env = "PAYLOAD_KEYS_FILE", default_value = ".data/payload-keys")]
    pub payload_keys_file: PathBuf,
}

impl TemporalArgs {
    /// The key ring every client and worker encrypts payloads with (docs/day-10.md).
    pub fn key_ring(&self) -> anyhow::Result<KeyRing> {
        KeyRing::load(self.payload_keys.as_deref(), &self.payload_keys_file, true)
    }

    /// Where and how to connect: the SDK's configuration, with these flags on top.
    pub fn connection(&self) -> anyhow::Result<crate::temporal::TemporalConnection> {
        crate::temporal::TemporalConnection::resolve(&crate::temporal::client::Overrides {
            address: self.temporal_address.clone(),
            namespace: self.temporal_namespace.clone(),
            api_key: self.temporal_api_key.clone(),
            profile: self.temporal_profile.clone(),
            config_file: self.temporal_config_file.clone(),
            tls: self.temporal_tls,
            server_ca_cert: self.temporal_tls_server_ca_cert_path.clone(),
            client_cert: self.temporal_tls_client_cert_path.clone(),
            client_key: self.temporal_tls_client_key_path.clone(),
            server_name: self.temporal_tls_server_name.clone(),
        })
    }
}

/// The service keys: what our own processes present to each other (the workers to the api's
/// `/internal/...` routes; the api and the workers to every backend service).
#[derive(Args, Debug, Clone)]
pub struct ServiceKeyArgs {
    /// Service keys, comma-separated: the first is presented, any is accepted (put a new key
    /// first to rotate, drop the old one once every process has the new). Overrides --service-key-file.
    #[arg(long, env = "SERVICE_KEY", hide_env_values = true)]
    pub service_key: Option<String>,
    /// File with the service key; created when missing, so that the processes on one machine agree.
    #[arg(long, env = "SERVICE_KEY_FILE", default_value = ".data/service-key")]
    pub service_key_file: PathBuf,
}

impl ServiceKeyArgs {
    /// Every accepted key, the one to present first.
    pub fn keys(&self) -> anyhow::Result<Vec<String>> {
        let from_flag = self.service_key.as_deref().map(split_keys).filter(|keys| !keys.is_empty());
        if let Some(keys) = from_flag {
            return Ok(keys);
        }
        let text = crate::secrets::read_or_create(
            &self.service_key_file,
            "The service key our processes present to each other (docs/day-10.md)",
            crate::api::api_keys::generate_key,
        )?;
        let keys = crate::secrets::first_value(&text).map(split_keys).unwrap_or_default();
        anyhow::ensure!(!keys.is_empty(), "{} holds no key", self.service_key_file.display());
        Ok(keys)
    }
}

fn split_keys(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|key| !key.is_empty()).map(str::to_owned).collect()
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// sqlite://FILE or postgres://USER@HOST/DB. Each service creates its own tables in it.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://.data/capstone.db?mode=rwc", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct WorkflowTaskQueueArg {
    /// Task queue of the workflow worker (workflow tasks only).
    #[arg(long, env = "WORKFLOW_TASK_QUEUE", default_value = task_queues::WORKFLOWS)]
    pub workflow_task_queue: String,
    /// Task queue of the subscriptions (workflow tasks only; auto-upgrade, see docs/day-09.md).
    #[arg(long, env = "SUBSCRIPTION_TASK_QUEUE", default_value = task_queues::SUBSCRIPTIONS)]
    pub subscription_task_queue: String,
}

#[derive(Args, Debug, Clone)]
pub struct ActivityTaskQueueArgs {
    /// Task queue of the activity worker (every activity but the payment ones).
    #[arg(long, env = "ACTIVITY_TASK_QUEUE", default_value = task_queues::ACTIVITIES)]
    pub activity_task_queue: String,
    /// Task queue of the payment activities (charge, refund).
    #[arg(long, env = "PAYMENTS_TASK_QUEUE", default_value = task_queues::PAYMENTS)]
    pub payments_task_queue: String,
}

/// All the queues: for the roles that start workflows (they say where work runs).
#[derive(Args, Debug, Clone)]
pub struct TaskQueueArgs {
    #[command(flatten)]
    pub workflows: WorkflowTaskQueueArg,
    #[command(flatten)]
    pub activities: ActivityTaskQueueArgs,
}

impl TaskQueueArgs {
    pub fn queues(&self) -> TaskQueues {
        TaskQueues {
            workflows: self.workflows.workflow_task_queue.clone(),
            activities: self.activities.activity_task_queue.clone(),
            payments: self.activities.payments_task_queue.clone(),
            subscriptions: self.workflows.subscription_task_queue.clone(),
        }
    }
}

/// The shop's Temporal Schedules: what `setup-temporal` and `dev` create.
#[derive(Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Create (or update) the schedules: reconcile, retention, daily report.
    #[arg(long, env = "SCHEDULES", default_value_t = true, action = clap::ArgAction::Set)]
    pub schedules: bool,
    /// How often the reconcile schedule compares the read model with the workflows.
    #[arg(long, env = "RECONCILE_EVERY", default_value = "5m", value_parser = humantime::parse_duration)]
    pub reconcile_every: Duration,
    /// Orders younger than this are left alone by reconcile (they may be mid-write).
    #[arg(long, env = "RECONCILE_SETTLE", default_value = "2m", value_parser = humantime::parse_duration)]
    pub reconcile_settle: Duration,
    /// How far back each reconcile run looks.
    #[arg(long, env = "RECONCILE_LOOKBACK", default_value = "1day", value_parser = humantime::parse_duration)]
    pub reconcile_lookback: Duration,
    /// App rows (finished orders' read model, sent e-mails, carrier events) older than this
    /// are purged by the retention schedule; the ledger never is.
    #[arg(long, env = "RETENTION_KEEP", default_value = "90days", value_parser = humantime::parse_duration)]
    pub retention_keep: Duration,
    /// Who gets the daily report, comma-separated.
    #[arg(long, env = "REPORT_RECIPIENTS", default_value = "ops@capstone.local", value_delimiter = ',')]
    pub report_recipients: Vec<String>,
    /// How long the Temporal server keeps a closed workflow's history (`setup-temporal` sets
    /// the namespace's retention; at least a day).
    #[arg(long, env = "WORKFLOW_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub workflow_retention: Duration,
}

impl ScheduleArgs {
    pub fn settings(&self, queues: &TaskQueues) -> Option<crate::temporal::schedules::ScheduleSettings> {
        self.schedules.then(|| crate::temporal::schedules::ScheduleSettings {
            task_queue: queues.workflows.clone(),
            activity_task_queue: queues.activities.clone(),
            reconcile_every: self.reconcile_every,
            reconcile_settle: self.reconcile_settle,
            reconcile_lookback: self.reconcile_lookback,
            retention_keep: self.retention_keep,
            report_recipients: self.report_recipients.clone(),
        })
    }
}

/// Sharding by region: a worker for one region polls only that region's queues.
#[derive(Args, Debug, Clone)]
pub struct RegionArg {
    /// Serve one region's queues (`orders-eu`, ...) instead of the shared ones.
    #[arg(long, env = "REGION")]
    pub region: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RegionRoutesArg {
    /// Route orders by shipping country to regional queues, e.g. `DE=eu,FR=eu,US=us`.
    /// Countries not listed use the shared queues.
    #[arg(long, env = "REGION_ROUTES", default_value = "", value_parser = parse_region_routes)]
    pub region_routes: BTreeMap<String, String>,
}

fn parse_region_routes(routes: &str) -> Result<BTreeMap<String, String>, String> {
    routes
        .split(',')
        .map(str::trim)
        .filter(|route| !route.is_empty())
        .map(|route| {
            let (country, region) = route.split_once('=').ok_or(format!("{route:?} is not COUNTRY=REGION"))?;
            let (country, region) = (country.trim().to_ascii_uppercase(), region.trim().to_owned());
            if country.len() != 2 || region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!("{route:?} is not COUNTRY=REGION (e.g. DE=eu)"));
            }
            Ok((country, region))
        })
        .collect()
}

#[derive(Args, Debug, Clone)]
pub struct ApprovalArgs {
    /// Orders above this total (in cents) wait for an operator; 0 turns approval off.
    #[arg(long, env = "APPROVAL_THRESHOLD_CENTS", default_value_t = 100_000)]
    pub approval_threshold_cents: i64,
    /// How long an order waits for a decision before it is rejected (e.g. 24h, 90s).
    #[arg(long, env = "APPROVAL_TIMEOUT", default_value = "24h", value_parser = at_least_a_second)]
    pub approval_timeout: Duration,
    /// Operators who may approve or reject, comma-separated.
    #[arg(long, env = "OPERATORS", default_value = "alice,bob", value_delimiter = ',')]
    pub operators: Vec<String>,
}

impl ApprovalArgs {
    pub fn policy(&self) -> ApprovalPolicy {
        ApprovalPolicy {
            threshold_cents: self.approval_threshold_cents,
            // Whole seconds, rounded up: a timeout never ends early.
            timeout_secs: self.approval_timeout.as_secs_f64().ceil() as u64,
            operators: self.operators.iter().map(|operator| operator.trim().to_owned()).collect(),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct InventoryUrlArg {
    /// Base URL of the inventory service.
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8081")]
    pub inventory_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct ShippingUrlArg {
    /// Base URL of the shipping service (the courier view's parcels and carrier events).
    #[arg(long, env = "SHIPPING_URL", default_value = "http://127.0.0.1:8083")]
    pub shipping_url: String,
}

/// Subscription timings: months in production, seconds in tests.
#[derive(Args, Debug, Clone)]
pub struct SubscriptionArgs {
    /// Length of one paid period.
    #[arg(long, env = "SUBSCRIPTION_PERIOD", default_value = "30days", value_parser = at_least_a_second)]
    pub subscription_period: Duration,
    /// Length of one trial day (`trial_days` counts these).
    #[arg(long, env = "SUBSCRIPTION_TRIAL_DAY", default_value = "1day", value_parser = humantime::parse_duration)]
    pub subscription_trial_day: Duration,
    /// Waits before each retry of a declined renewal, comma-separated; then suspension.
    #[arg(long, env = "DUNNING_DELAYS", default_value = "1day,3days,7days", value_delimiter = ',', value_parser = at_least_a_second)]
    pub dunning_delays: Vec<Duration>,
    /// Renewals a subscription run makes before it continues as new.
    #[arg(long, env = "RENEWALS_PER_RUN", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub renewals_per_run: u32,
}

/// Batches of orders (day 8's fan-out).
#[derive(Args, Debug, Clone)]
pub struct BatchArgs {
    /// Children a batch run starts before it continues as new.
    #[arg(long, env = "BATCH_CHILDREN_PER_RUN", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_children_per_run: u32,
}

impl SubscriptionArgs {
    pub fn settings(&self) -> crate::api::SubscriptionSettings {
        crate::api::SubscriptionSettings {
            period: self.subscription_period,
            day: self.subscription_trial_day,
            dunning_delays: self.dunning_delays.clone(),
            renewals_per_run: self.renewals_per_run,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServiceUrlArgs {
    /// Base URL of the api service (the activity worker reports order state there).
    #[arg(long, env = "API_URL", default_value = "http://127.0.0.1:8080")]
    pub api_url: String,
    #[command(flatten)]
    pub inventory: InventoryUrlArg,
    #[arg(long, env = "PAYMENTS_URL", default_value = "http://127.0.0.1:8082")]
    pub payments_url: String,
    #[arg(long, env = "SHIPPING_URL", default_value = "http://127.0.0.1:8083")]
    pub shipping_url: String,
    #[arg(long, env = "NOTIFICATIONS_URL", default_value = "http://127.0.0.1:8084")]
    pub notifications_url: String,
}

impl ServiceUrlArgs {
    pub fn to_urls(&self, service_key: String) -> capstone_activities::ServiceUrls {
        capstone_activities::ServiceUrls {
            api: self.api_url.clone(),
            service_key,
            inventory: self.inventory.inventory_url.clone(),
            payments: self.payments_url.clone(),
            shipping: self.shipping_url.clone(),
            notifications: self.notifications_url.clone(),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct UiArgs {
    /// Base URL of the Temporal Web UI, for links in responses and output.
    #[arg(long, env = "TEMPORAL_UI_URL", default_value = "http://127.0.0.1:8233")]
    pub temporal_ui_url: String,
}

impl UiArgs {
    /// The origins a browser showing the Web UI sends (see [`ui_origins`]).
    pub fn origins(&self) -> Vec<String> {
        ui_origins(&self.temporal_ui_url)
    }
}

/// The origin of the Web UI at `ui_url`, and its twin when the host is a loopback name
/// (`127.0.0.1` and `localhost` are different origins to a browser).
pub fn ui_origins(ui_url: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(ui_url) else { return Vec::new() };
    let origin = url.origin().ascii_serialization();
    let twin = match url.host_str() {
        Some("127.0.0.1") => Some(origin.replacen("127.0.0.1", "localhost", 1)),
        Some("localhost") => Some(origin.replacen("localhost", "127.0.0.1", 1)),
        _ => None,
    };
    std::iter::once(origin).chain(twin).collect()
}

/// What a service can be told to do wrong, for experiments and tests.
#[derive(Args, Debug, Clone)]
pub struct FaultArgs {
    /// Mount `/admin/faults` (inject failures, outages, slow or lost answers). Never in production.
    #[arg(long, env = "FAULT_INJECTION", default_value_t = false)]
    pub fault_injection: bool,
}

/// What stands in front of a backend service: the service key, and fault injection.
#[derive(Args, Debug, Clone)]
pub struct BackendEdgeArgs {
    #[command(flatten)]
    pub service_key: ServiceKeyArgs,
    #[command(flatten)]
    pub faults: FaultArgs,
}

impl BackendEdgeArgs {
    pub fn edge(&self) -> anyhow::Result<crate::http::BackendEdge> {
        Ok(crate::http::BackendEdge {
            service_keys: crate::http::ServiceKeys::new(&self.service_key.keys()?),
            faults: self.faults.fault_injection.then(crate::http::Faults::default),
        })
    }
}

/// A key that opens the api's codec endpoint and nothing else: what a deployment
/// puts in the Temporal Web UI's codec URL, known before any operator key exists.
#[derive(Args, Debug, Clone)]
pub struct CodecKeyArgs {
    /// Keys for `/codec/...` only, comma-separated (in the path, /codec/k/<key>/decode, or as a
    /// bearer key); never stored, compared as digests. Unset: operator keys only.
    #[arg(long, env = "CODEC_KEY", hide_env_values = true)]
    pub codec_key: Option<String>,
}

impl CodecKeyArgs {
    pub fn keys(&self) -> Vec<String> {
        self.codec_key.as_deref().map(split_keys).unwrap_or_default()
    }
}

/// The api's limits: what one caller, or everyone, may ask of it at once.
#[derive(Args, Debug, Clone)]
pub struct ApiLimitArgs {
    /// Requests the api handles at once, from everyone; more get 429.
    #[arg(long, env = "API_MAX_IN_FLIGHT", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_max_in_flight: u32,
    /// Requests per second one customer key may make (bursts of twice that).
    #[arg(long, env = "CUSTOMER_RATE_LIMIT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub customer_rate_limit: u32,
    /// Requests per second one operator key may make (bursts of twice that).
    #[arg(long, env = "OPERATOR_RATE_LIMIT", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub operator_rate_limit: u32,
    /// Lookups of API keys that are not cached, per second per client address (made-up keys).
    #[arg(long, env = "KEY_LOOKUP_RATE_LIMIT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub key_lookup_rate_limit: u32,
    /// Long polls (`GET /orders/{id}?wait_secs=`) one key may hold open at once.
    #[arg(long, env = "LONG_POLLS_PER_KEY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub long_polls_per_key: u32,
    /// How long `POST /orders` waits for the stock to be reserved before it answers `202`
    /// (accepted, still checking) instead of `201` (day 5, update-with-start).
    #[arg(long, env = "CHECKOUT_WAIT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub checkout_wait: Duration,
}

impl ApiLimitArgs {
    pub fn settings(&self) -> crate::api::limits::LimitSettings {
        crate::api::limits::LimitSettings {
            max_in_flight: self.api_max_in_flight as usize,
            customer_requests_per_sec: self.customer_rate_limit,
            operator_requests_per_sec: self.operator_rate_limit,
            key_lookups_per_sec_per_address: self.key_lookup_rate_limit,
            long_polls_per_key: self.long_polls_per_key as usize,
            checkout_wait: self.checkout_wait,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ShippingRulesArgs {
    /// Countries no carrier delivers to (orders there fail at shipping and are refunded).
    #[arg(long, env = "SHIPPING_BLOCKED_COUNTRIES", default_value = crate::shipping::DEFAULT_BLOCKED_COUNTRIES, value_delimiter = ',')]
    pub shipping_blocked_countries: Vec<String>,
}

impl ShippingRulesArgs {
    pub fn countries(&self) -> Vec<String> {
        self.shipping_blocked_countries
            .iter()
            .map(|country| country.trim().to_ascii_uppercase())
            .filter(|country| !country.is_empty())
            .collect()
    }
}

/// The simulated carrier: runs next to the shipping service and sends its webhook
/// each parcel's events.
#[derive(Args, Debug, Clone)]
pub struct CarrierArgs {
    /// Run the simulated carrier [default: true under `capstone dev`, false for the shipping
    /// role, where a real carrier calls `POST /carrier/events`].
    #[arg(long, env = "CARRIER_SIMULATOR", action = clap::ArgAction::Set)]
    pub carrier_simulator: Option<bool>,
    /// Time between two events of one parcel (picked up, out for delivery, delivered).
    #[arg(long, env = "CARRIER_STEP", default_value = "2s", value_parser = humantime::parse_duration)]
    pub carrier_step: Duration,
    /// Percent of parcels whose first delivery attempt fails (the carrier tries again).
    #[arg(long, env = "CARRIER_FAILURE_PERCENT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub carrier_failure_percent: u32,
    /// Percent of parcels that take ten steps between events (they miss a short deadline).
    #[arg(long, env = "CARRIER_LATE_PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub carrier_late_percent: u32,
}

impl CarrierArgs {
    /// The simulator's settings, if it runs (`runs_by_default` unless CARRIER_SIMULATOR says);
    /// it presents `service_key` to the webhook.
    pub fn settings(
        &self,
        runs_by_default: bool,
        service_key: &str,
    ) -> Option<crate::shipping::carrier::CarrierSettings> {
        self.carrier_simulator.unwrap_or(runs_by_default).then(|| crate::shipping::carrier::CarrierSettings {
            step: self.carrier_step,
            failure_percent: self.carrier_failure_percent,
            late_percent: self.carrier_late_percent,
            service_key: service_key.to_owned(),
        })
    }
}

/// Where the notifications service sends its outbox: a real SMTP server.
#[derive(Args, Debug, Clone)]
pub struct SmtpArgs {
    /// The SMTP relay, `smtp://[user:password@]host[:port]` [default: smtp://127.0.0.1:1025
    /// for the notifications role; under `capstone dev`, the mail catcher it starts]. Empty:
    /// e-mails stay queued in the outbox.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of every e-mail.
    #[arg(long, env = "SMTP_FROM", default_value = "Capstone Shop <shop@capstone.local>")]
    pub smtp_from: String,
    /// Attempts per e-mail before it is marked failed (the pause between them doubles, up to a
    /// minute).
    #[arg(long, env = "SMTP_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub smtp_max_attempts: u32,
    /// How often the relay looks for e-mails to send.
    #[arg(long, env = "SMTP_POLL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub smtp_poll: Duration,
}

impl SmtpArgs {
    /// The relay's settings: SMTP_URL, else `default_url`; `None` when that is empty.
    pub fn settings(&self, default_url: &str) -> Option<crate::notifications::smtp::SmtpSettings> {
        let url = self.smtp_url.as_deref().unwrap_or(default_url).trim();
        (!url.is_empty()).then(|| crate::notifications::smtp::SmtpSettings {
            url: url.to_owned(),
            from: self.smtp_from.clone(),
            poll: self.smtp_poll,
            max_attempts: self.smtp_max_attempts,
        })
    }
}

/// The SMTP relay the notifications role uses when SMTP_URL is not set: Mailpit's port, where
/// compose and kind run it, and where `capstone dev` runs its mail catcher.
pub const DEFAULT_SMTP_URL: &str = "smtp://127.0.0.1:1025";

/// How orders follow their parcels: copied into each order's settings by the api.
#[derive(Args, Debug, Clone)]
pub struct DeliveryArgs {
    /// Follow each parcel to the door: the order ends when it is delivered (`false`: when the
    /// carrier is booked).
    #[arg(long, env = "FOLLOW_DELIVERIES", default_value_t = true, action = clap::ArgAction::Set)]
    pub follow_deliveries: bool,
    /// From the booking: how long a parcel may take before a claim is opened with the carrier
    /// and the customer is told.
    #[arg(long, env = "DELIVERY_DEADLINE", default_value = "5days", value_parser = at_least_a_second)]
    pub delivery_deadline: Duration,
}

impl DeliveryArgs {
    pub fn settings(&self) -> Option<capstone_workflows::order::DeliverySettings> {
        self.follow_deliveries
            .then_some(capstone_workflows::order::DeliverySettings { deadline_secs: self.delivery_deadline.as_secs() })
    }
}

/// Workflow worker concurrency.
#[derive(Args, Debug, Clone)]
pub struct WorkflowTuningArgs {
    /// Workflow tasks one workflow worker runs at once.
    #[arg(long, env = "WORKFLOW_SLOTS", default_value_t = 50, value_parser = at_least_one)]
    pub workflow_slots: usize,
}

/// Activity worker concurrency and shutdown.
#[derive(Args, Debug, Clone)]
pub struct ActivityTuningArgs {
    /// Activities (other than payments) one activity worker runs at once.
    #[arg(long, env = "ACTIVITY_SLOTS", default_value_t = 20, value_parser = at_least_one)]
    pub activity_slots: usize,
    /// Payment activities one activity worker runs at once (the provider is rate-limited).
    #[arg(long, env = "PAYMENT_SLOTS", default_value_t = 2, value_parser = at_least_one)]
    pub payment_slots: usize,
    /// On SIGTERM, how long running activities may take to finish before they are cancelled.
    #[arg(long, env = "WORKER_DRAIN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct StatusIntervalArg {
    /// How often a worker logs a status line (task queue, slots in use, tasks done).
    #[arg(long, env = "WORKER_STATUS_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub status_interval: Duration,
}

/// The tuning of the workers a role runs, from the flags it has (absent groups keep defaults).
pub fn worker_tuning(
    workflow: Option<&WorkflowTuningArgs>,
    activity: Option<&ActivityTuningArgs>,
    status: &StatusIntervalArg,
    versioning: crate::workers::versioning::Versioning,
) -> crate::workers::WorkerTuning {
    let mut tuning =
        crate::workers::WorkerTuning { status_interval: status.status_interval, versioning, ..Default::default() };
    if let Some(workflow) = workflow {
        tuning.workflow_slots = workflow.workflow_slots;
    }
    if let Some(activity) = activity {
        tuning.activity_slots = activity.activity_slots;
        tuning.payment_slots = activity.payment_slots;
        tuning.drain_timeout = activity.drain_timeout;
    }
    tuning
}

/// Worker Deployment versioning: which deployment and build a worker belongs to.
#[derive(Args, Debug, Clone)]
pub struct VersioningArgs {
    /// Worker Deployment this worker belongs to (one per application).
    #[arg(long, env = "WORKER_DEPLOYMENT_NAME", default_value = "capstone")]
    pub worker_deployment_name: String,
    /// This worker's build [default: the git commit it was built from; `dev` under `capstone dev`].
    #[arg(long, env = "WORKER_BUILD_ID")]
    pub worker_build_id: Option<String>,
    /// Worker versioning: orders pinned to the build that started them, subscriptions
    /// upgraded to each new current build. `false` runs unversioned.
    #[arg(long, env = "WORKER_VERSIONING", default_value_t = true, action = clap::ArgAction::Set)]
    pub worker_versioning: bool,
    /// When the deployment has no current version yet, make this build current (the first
    /// deploy); never touches a deployment that has one (set-current-version does that).
    /// Under `capstone dev` the build always makes itself current; `false` turns that off too.
    #[arg(long, env = "SET_CURRENT_IF_NONE", default_value_t = true, action = clap::ArgAction::Set)]
    pub set_current_if_none: bool,
}

impl VersioningArgs {
    /// The settings, with `default_build_id` unless WORKER_BUILD_ID names the build.
    pub fn versioning(&self, default_build_id: &str) -> crate::workers::versioning::Versioning {
        crate::workers::versioning::Versioning {
            enabled: self.worker_versioning,
            deployment_name: self.worker_deployment_name.clone(),
            build_id: self.worker_build_id.clone().unwrap_or_else(|| default_build_id.to_owned()),
            make_current: if self.set_current_if_none {
                crate::workers::versioning::MakeCurrent::IfNone
            } else {
                crate::workers::versioning::MakeCurrent::Never
            },
        }
    }
}

/// Where a worker process serves `/metrics` and `/healthz` (workers have no other HTTP port).
#[derive(Args, Debug, Clone)]
pub struct WorkflowWorkerMetricsAddr {
    /// Where the workflow worker serves /metrics (Prometheus) and /healthz.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9091")]
    pub metrics_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct ActivityWorkerMetricsAddr {
    /// Where the activity worker serves /metrics (Prometheus) and /healthz.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9092")]
    pub metrics_addr: SocketAddr,
}

/// Listen addresses, one flag per service so that `dev` can take all five.
#[derive(Args, Debug, Clone)]
pub struct ApiAddr {
    /// Where the api listens.
    #[arg(long, env = "API_ADDR", default_value = "127.0.0.1:8080")]
    pub api_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct InventoryAddr {
    /// Where the inventory service listens.
    #[arg(long, env = "INVENTORY_ADDR", default_value = "127.0.0.1:8081")]
    pub inventory_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct PaymentsAddr {
    /// Where the payments service listens.
    #[arg(long, env = "PAYMENTS_ADDR", default_value = "127.0.0.1:8082")]
    pub payments_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct ShippingAddr {
    /// Where the shipping service listens.
    #[arg(long, env = "SHIPPING_ADDR", default_value = "127.0.0.1:8083")]
    pub shipping_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct NotificationsAddr {
    /// Where the notifications service listens.
    #[arg(long, env = "NOTIFICATIONS_ADDR", default_value = "127.0.0.1:8084")]
    pub notifications_addr: SocketAddr,
}

/// A duration flag that is counted in whole seconds: `90s`, `24h`, `30days`; never under a
/// second, which would round to nothing.
pub fn at_least_a_second(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text} is shorter than a second; give at least 1s"));
    }
    Ok(duration)
}

/// A count of slots: at least one, or the worker would poll for nothing.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) => Ok(count),
        Err(error) => Err(format!("{text:?} is not a count: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_routes_parse_and_refuse_garbage() {
        let routes = parse_region_routes("de=eu, FR=eu,US=us").unwrap();
        assert_eq!(routes.get("DE").map(String::as_str), Some("eu"));
        assert_eq!(routes.len(), 3);
        assert!(parse_region_routes("").unwrap().is_empty());
        assert!(parse_region_routes("Germany=eu").is_err());
        assert!(parse_region_routes("DE").is_err());
        assert!(parse_region_routes("DE=e u").is_err());
    }
}
