//! The harness every integration test uses: a real Temporal dev server (the `temporal` CLI,
//! one per test, on free ports), the real services over real HTTP on free ports, a fresh
//! database, and real workers on separate task queues. Nothing here is a mock of Temporal.
//!
//! Tests are parallel-safe: nothing is shared between two tests but the CPU.

pub mod call_lists;
pub mod cluster;
pub mod fakes;
pub mod history;
pub mod mail;
pub mod orders;
pub mod processes;
pub mod reconcile;
pub mod tls;

use capstone::{
    api::SubscriptionSettings,
    api::api_keys::{self, Role},
    api::views::{Accepted, OrderView, ReadSource},
    codec::KeyRing,
    db::Db,
    shop::{ServiceAddrs, Shop, ShopConfig},
    temporal::{
        cli_binary,
        dev_server::{DevServer, DevServerConfig},
    },
    workers,
    workers::{WorkerKind, WorkerTuning},
};
use capstone_workflows::{
    order::{ApprovalPolicy, OrderStatus},
    task_queues::TaskQueues,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::{future::Future, path::PathBuf, time::Duration};
use temporalio_client::{Client, WorkflowDescribeOptions, WorkflowExecutionStatus};
use tokio::time::Instant;

/// How long any wait in a test may take before it fails (generous: CI machines are slow).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct TestShop {
    pub server: DevServer,
    pub client: Client,
    pub shop: Shop,
    pub http: reqwest::Client,
    pub config: ShopConfig,
    /// The key `http` sends.
    pub operator_key: String,
    _dir: tempfile::TempDir,
}

/// An api answer read as the api's own type (`OrderView`, `BatchView`, `SubscriptionView`, ...).
pub fn typed<T: serde::de::DeserializeOwned>(body: &Value) -> T {
    serde_json::from_value(body.clone())
        .unwrap_or_else(|error| panic!("not a {} ({error}): {body}", std::any::type_name::<T>()))
}

/// A `POST /orders` answer that accepted the order.
pub fn accepted(body: &Value) -> Accepted {
    typed(body)
}

/// A `GET /orders/{id}` answer.
pub fn order_view(body: &Value) -> OrderView {
    typed(body)
}

/// An HTTP client that sends `key` as `Authorization: Bearer` with every request.
pub fn client_with_key(key: &str) -> reqwest::Client {
    api_keys::client_with_key(key).expect("an HTTP client")
}

/// The `temporal` CLI for tests: `TEMPORAL_CLI`, else the project-local one from `make setup`.
pub fn temporal_cli() -> PathBuf {
    let explicit = std::env::var_os("TEMPORAL_CLI").map(PathBuf::from);
    cli_binary::find(explicit.as_deref()).unwrap_or_else(|error| panic!("{error:#}"))
}

/// The payload keys of every test (and of the recorded histories in tests/histories/, which
/// the replay test decrypts with them). Test keys, published here on purpose: never use them
/// for anything else. The first encrypts; the second is an "older" key, for rotation tests.
pub const TEST_PAYLOAD_KEYS: &str = "test-2026-11:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=,\
                                     test-2026-01:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0=";

/// The key that opens the test api's codec endpoint and nothing else (`CODEC_KEY`).
pub const TEST_CODEC_KEY: &str = "cap_test_codec_key";

pub fn test_keys() -> KeyRing {
    KeyRing::parse(TEST_PAYLOAD_KEYS).expect("the test keys parse")
}

/// A plain connection to a test's dev server in namespace `default` (no TEMPORAL_* variable of
/// the machine running the tests is read).
pub fn plain(address: &str) -> capstone::temporal::TemporalConnection {
    capstone::temporal::TemporalConnection::plain(address, "default").expect("a dev server's address")
}

/// A fresh Temporal dev server for one test: in memory, headless, on free ports.
pub async fn start_temporal() -> (DevServer, Client) {
    start_temporal_with(|_| {}).await
}

/// Like `start_temporal`, with changes to the server's configuration.
pub async fn start_temporal_with(change: impl FnOnce(&mut DevServerConfig)) -> (DevServer, Client) {
    capstone::telemetry::init_for_tests();
    let mut config = DevServerConfig::ephemeral(temporal_cli());
    change(&mut config);
    let server = DevServer::start(config, PATIENCE).await.expect("the Temporal dev server starts");
    let client = capstone::temporal::connect(&plain(&server.address), "capstone-test", PATIENCE, &test_keys())
        .await
        .expect("a client connects to the dev server");
    (server, client)
}

/// The configuration every test starts from; tests change what they need.
pub fn test_config(database_url: String) -> ShopConfig {
    ShopConfig {
        database_url,
        addrs: ServiceAddrs::ephemeral(),
        task_queues: TaskQueues::default(),
        region_routes: Default::default(),
        approval: ApprovalPolicy {
            threshold_cents: 100_000,
            timeout_secs: 3600,
            operators: vec!["alice".to_owned(), "bob".to_owned()],
        },
        // Seconds instead of months and days, so that a test sees several renewals.
        subscriptions: SubscriptionSettings {
            period: Duration::from_secs(2),
            day: Duration::from_secs(1),
            dunning_delays: vec![Duration::from_secs(1), Duration::from_secs(1)],
            renewals_per_run: 3,
        },
        batch_children_per_run: 500,
        // Orders follow their parcels; the simulated carrier moves one every 100 ms.
        delivery: Some(capstone_workflows::order::DeliverySettings { deadline_secs: 60 }),
        carrier: Some(capstone::shipping::carrier::CarrierSettings {
            step: std::time::Duration::from_millis(100),
            failure_percent: 10,
            late_percent: 0,
            service_key: String::new(),
        }),
        // No SMTP server: e-mails stay queued. The e-mail tests start a mail catcher
        // (`mail::catcher`) and point `smtp` at it.
        smtp: None,
        blocked_countries: vec!["AQ".to_owned()],
        fault_injection: true,
        temporal_ui_url: "http://127.0.0.1:8233".to_owned(),
        namespace: "default".to_owned(),
        payload_keys: test_keys(),
        ui_origins: vec!["http://127.0.0.1:8233".to_owned()],
        service_key: api_keys::generate_key().expect("a key"),
        limits: Default::default(),
        codec_keys: vec![TEST_CODEC_KEY.to_owned()],
    }
}

impl TestShop {
    /// Temporal + every service on SQLite in a temporary folder.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like `start`, with changes to the configuration (approval policy, regions, ...).
    pub async fn start_with(change: impl FnOnce(&mut ShopConfig)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = test_config(format!("sqlite://{}/shop.db?mode=rwc", dir.path().display()));
        change(&mut config);
        Self::start_on(config, dir).await
    }

    /// Temporal + every service with `config` (e.g. on a fresh PostgreSQL database).
    pub async fn start_on(config: ShopConfig, dir: tempfile::TempDir) -> Self {
        Self::start_on_server(config, dir, start_temporal().await).await
    }

    /// Like `start`, on a dev server with changes to its configuration (dynamic config).
    pub async fn start_with_server(change: impl FnOnce(&mut DevServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = test_config(format!("sqlite://{}/shop.db?mode=rwc", dir.path().display()));
        Self::start_on_server(config, dir, start_temporal_with(change).await).await
    }

    async fn start_on_server(config: ShopConfig, dir: tempfile::TempDir, temporal: (DevServer, Client)) -> Self {
        let (server, client) = temporal;
        let shop = Shop::start(&config, client.clone()).await.expect("the services start");
        // Requests go out as an operator unless a test says otherwise (see `as_role`).
        let operator_key = api_keys::generate_key().expect("a key");
        api_keys::store(&shop.db, &operator_key, Role::Operator, Some("alice"), "test-operator")
            .await
            .expect("the key is stored");
        Self { server, client, shop, http: client_with_key(&operator_key), operator_key, config, _dir: dir }
    }

    pub fn db(&self) -> &Db {
        &self.shop.db
    }

    /// A new key with `role`: a customer key acts for `principal`, an operator key is `principal`.
    pub async fn create_key(&self, role: Role, principal: Option<&str>) -> String {
        let key = api_keys::generate_key().expect("a key");
        api_keys::store(self.db(), &key, role, principal, &format!("test-{}", role.as_str()))
            .await
            .expect("the key is stored");
        key
    }

    pub fn api_url(&self) -> String {
        self.shop.api.url()
    }

    pub fn queues(&self) -> &TaskQueues {
        &self.config.task_queues
    }

    /// Runs `body` while the workers poll this test's server (the workflow worker and the
    /// activity worker with its payments queue, on separate task queues as in production);
    /// drains them afterwards.
    pub async fn with_workers<F, Fut, T>(&self, body: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.with_workers_of(&[WorkerKind::Workflow, WorkerKind::Activity, WorkerKind::Payments], body).await
    }

    /// Like `with_workers`, with only some kinds of worker in this process (`workflow`,
    /// `activity`, `payments`): the others can run as separate processes (`spawn_worker`).
    pub async fn with_workers_of<F, Fut, T>(&self, kinds: &[WorkerKind], body: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.with_tuned_workers(&WorkerTuning::default(), kinds, body).await
    }

    /// Like `with_workers_of`, with other slot counts or timings.
    pub async fn with_tuned_workers<F, Fut, T>(&self, tuning: &WorkerTuning, kinds: &[WorkerKind], body: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let runtime = workers::runtime().expect("the SDK runtime starts");
        let all = self.shop.workers(&runtime, self.client.clone(), tuning).expect("the workers are created");
        let chosen = all.into_iter().filter(|worker| kinds.contains(&worker.kind)).collect();
        let stop = tokio_util::sync::CancellationToken::new();
        let run_workers = workers::run_all(chosen, stop.clone(), Duration::from_secs(30));
        let run_body = async {
            let outcome = body().await;
            stop.cancel();
            outcome
        };
        let (outcome, workers) = tokio::join!(run_body, run_workers);
        workers.expect("the workers ran and stopped cleanly");
        outcome
    }

    /// A worker role of the real `capstone` binary as its own process, against this test's
    /// server, queues and services (`workflow-worker` or `activity-worker`).
    pub fn spawn_worker(&self, role: &str) -> processes::WorkerProcess {
        self.spawn_worker_with(role, &[])
    }

    /// Like `spawn_worker`, with more environment (e.g. `REGION`).
    pub fn spawn_worker_with(&self, role: &str, extra: &[(&str, &str)]) -> processes::WorkerProcess {
        let urls = self.shop.urls();
        let queues = self.queues();
        let mut env = vec![
            ("TEMPORAL_ADDRESS", self.server.address.as_str()),
            ("PAYLOAD_KEYS", TEST_PAYLOAD_KEYS),
            ("SERVICE_KEY", &self.config.service_key),
            ("WORKFLOW_TASK_QUEUE", &queues.workflows),
            ("ACTIVITY_TASK_QUEUE", &queues.activities),
            ("PAYMENTS_TASK_QUEUE", &queues.payments),
            ("API_URL", &urls.api),
            ("INVENTORY_URL", &urls.inventory),
            ("PAYMENTS_URL", &urls.payments),
            ("SHIPPING_URL", &urls.shipping),
            ("NOTIFICATIONS_URL", &urls.notifications),
            ("WORKER_STATUS_INTERVAL", "1s"),
            // Its /metrics port: any free one (tests run in parallel).
            ("METRICS_ADDR", "127.0.0.1:0"),
        ];
        env.extend_from_slice(extra);
        processes::WorkerProcess::spawn(role, self._dir.path(), &env)
    }

    /// The workflow's event history, as the server has it.
    pub async fn history(
        &self,
        workflow_id: &str,
    ) -> Vec<temporalio_common::protos::temporal::api::history::v1::HistoryEvent> {
        self.client
            .get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.to_owned())
            .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .expect("the history is readable")
    }

    /// Waits until the workflow's history has an event of `kind` (e.g. `TimerStarted`).
    pub async fn wait_for_event(&self, workflow_id: &str, kind: &str) -> usize {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let events = self.history(workflow_id).await;
            if events.iter().any(|event| format!("{:?}", event.event_type()) == kind) {
                return events.len();
            }
            assert!(Instant::now() < deadline, "{workflow_id} never recorded {kind}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /orders/{id}` as the api's typed view; `None` while the api does not know it.
    pub async fn try_order(&self, order_id: &str) -> Option<OrderView> {
        let (status, order) = self.get(&format!("/orders/{order_id}")).await;
        (status == StatusCode::OK).then(|| order_view(&order))
    }

    /// `GET /orders/{id}`, which must answer `200`.
    pub async fn order(&self, order_id: &str) -> OrderView {
        let (status, order) = self.get(&format!("/orders/{order_id}")).await;
        assert_eq!(status, StatusCode::OK, "GET /orders/{order_id}: {order}");
        order_view(&order)
    }

    /// Polls `GET /orders/{id}` until `done` says yes about the answer.
    pub async fn wait_for_order(&self, order_id: &str, what: &str, done: impl Fn(&OrderView) -> bool) -> OrderView {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let order = self.try_order(order_id).await;
            if let Some(order) = order.as_ref().filter(|order| done(order)) {
                return order.clone();
            }
            assert!(Instant::now() < deadline, "order {order_id} never got {what}: {order:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until the order has the given status.
    pub async fn wait_for_status(&self, order_id: &str, status: OrderStatus) -> OrderView {
        self.wait_for_order(order_id, status.as_str(), |order| order.status == status).await
    }

    /// Sets faults on one of the backend services (`/admin/faults`).
    pub async fn inject(&self, service: &str, faults: Value) {
        let url = match service {
            "inventory" => self.shop.inventory.url(),
            "payments" => self.shop.payments.url(),
            "shipping" => self.shop.shipping.url(),
            "notifications" => self.shop.notifications.url(),
            other => panic!("no fault injection on {other}"),
        };
        let response = self
            .service_http()
            .post(format!("{url}/admin/faults"))
            .json(&faults)
            .send()
            .await
            .expect("the service answers");
        assert!(response.status().is_success(), "setting faults on {service}: {}", response.status());
    }

    /// An HTTP client that presents the service key: what the backend services need.
    pub fn service_http(&self) -> reqwest::Client {
        client_with_key(&self.config.service_key)
    }

    /// `POST /orders` with an optional `Idempotency-Key`, asking for the asynchronous answer
    /// (`Prefer: respond-async`: `202` without waiting for the checkout), as the tests of the
    /// saga place orders, often before the workers run. The checkout's `201` is
    /// [`TestShop::check_out`]'s. Returns status, headers and body.
    pub async fn post_order(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let request = self.http.post(format!("{}/orders", self.api_url())).header("Prefer", "respond-async");
        self.send_order(request.json(body), idempotency_key).await
    }

    /// `POST /orders` the default way: the api waits for the checkout (update-with-start)
    /// and answers `201`, `409 out_of_stock`, or `202` when it took longer than `CHECKOUT_WAIT`.
    pub async fn check_out(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let request = self.http.post(format!("{}/orders", self.api_url())).json(body);
        self.send_order(request, idempotency_key).await
    }

    async fn send_order(
        &self,
        mut request: reqwest::RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("the api answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// `POST /orders` that must be accepted; returns the `202` body.
    pub async fn place(&self, body: &Value) -> Accepted {
        let (status, _, accepted) = self.post_order(body, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "POST /orders was not accepted: {accepted}");
        serde_json::from_value(accepted).expect("the 202 body is an `Accepted`")
    }

    /// Places `body` while the workers run and waits until the order is final; its last answer.
    pub async fn place_and_finish(&self, body: &Value) -> OrderView {
        self.with_workers(|| async {
            let accepted = self.place(body).await;
            self.wait_until_final(&accepted.order_id).await
        })
        .await
    }

    /// `GET` on the api; returns status and JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.api_url())).send().await.expect("the api answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls `GET /orders/{id}` until the order is final: terminal in the read model and its
    /// workflow closed on the server (the read model is written by the workflow's last
    /// activity, just before it completes). Returns the api's final answer.
    pub async fn wait_until_final(&self, order_id: &str) -> OrderView {
        let deadline = Instant::now() + PATIENCE;
        let order = loop {
            // Unlike `wait_for_order`, the order must exist from the first look on.
            let order = self.order(order_id).await;
            if order.status.is_terminal() && order.source == ReadSource::ReadModel {
                break order;
            }
            assert!(Instant::now() < deadline, "order {order_id} still not final: {order:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        self.wait_until_closed(&order.workflow_id).await;
        order
    }

    /// The workflow's status on the server, or `None` when the server has no such workflow.
    pub async fn workflow_status(&self, workflow_id: &str) -> Option<WorkflowExecutionStatus> {
        let handle = self.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.to_owned());
        match handle.describe(WorkflowDescribeOptions::default()).await {
            Ok(description) => Some(description.status()),
            Err(error) if error.to_string().to_lowercase().contains("not found") => None,
            Err(error) => panic!("describe {workflow_id}: {error}"),
        }
    }

    /// The id of the workflow's latest run (a second run of one id would change it).
    pub async fn run_id(&self, workflow_id: &str) -> String {
        let handle = self.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.to_owned());
        handle.describe(WorkflowDescribeOptions::default()).await.expect("the workflow exists").run_id().to_owned()
    }

    /// Waits until the server reports the workflow closed, and returns its final status.
    pub async fn wait_until_closed(&self, workflow_id: &str) -> WorkflowExecutionStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = self.workflow_status(workflow_id).await;
            if let Some(status) = status
                && status != WorkflowExecutionStatus::Running
            {
                return status;
            }
            assert!(Instant::now() < deadline, "{workflow_id} still {status:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stock(&self, sku: &str) -> i64 {
        sqlx::query_scalar("SELECT available FROM inventory_stock WHERE sku = $1")
            .bind(sku)
            .fetch_one(self.db())
            .await
            .expect("the SKU exists")
    }

    /// `(kind, amount_cents)` of every ledger row of an order, oldest first.
    pub async fn ledger(&self, order_id: &str) -> Vec<(String, i64)> {
        sqlx::query_as(
            "SELECT kind, amount_cents FROM payments_ledger WHERE order_id = $1 ORDER BY created_at_ms, entry_id",
        )
        .bind(order_id)
        .fetch_all(self.db())
        .await
        .expect("the ledger is readable")
    }

    /// `(message_key, subject, body)` of every e-mail about an order (message keys are
    /// `{order_id}:{kind}`).
    pub async fn emails(&self, order_id: &str) -> Vec<(String, String, String)> {
        sqlx::query_as(
            "SELECT message_key, subject, body FROM notifications_outbox WHERE message_key LIKE $1 || ':%' \
             ORDER BY message_key",
        )
        .bind(order_id)
        .fetch_all(self.db())
        .await
        .expect("the outbox is readable")
    }

    pub async fn count(&self, sql: &'static str, value: &str) -> i64 {
        sqlx::query_scalar(sql).bind(value).fetch_one(self.db()).await.expect("the count query runs")
    }

    pub async fn stop(self) {
        self.shop.stop().await.expect("the services stop");
        self.server.stop().await.expect("the dev server stops");
    }
}

/// The service key of `Backend`'s services (a test key, like the payload keys).
pub const BACKEND_SERVICE_KEY: &str = "cap_test_backend_service_key";

/// The four backend services on a fresh SQLite database, without Temporal: for activity
/// tests, which call the services through the real activity code.
pub struct Backend {
    pub db: Db,
    pub inventory: capstone::http::RunningService,
    pub payments: capstone::http::RunningService,
    pub shipping: capstone::http::RunningService,
    pub notifications: capstone::http::RunningService,
    shutdown: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl Backend {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/backend.db?mode=rwc", dir.path().display());
        Self::start_on(&url, dir).await
    }

    pub async fn start_on(database_url: &str, dir: tempfile::TempDir) -> Self {
        let db = capstone::db::connect(database_url).await.expect("the database opens");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let any = "127.0.0.1:0".parse().unwrap();
        let edge = capstone::http::BackendEdge {
            service_keys: capstone::http::ServiceKeys::new(&[BACKEND_SERVICE_KEY.to_owned()]),
            faults: None,
        };
        Self {
            inventory: capstone::inventory::start(db.clone(), any, shutdown.clone(), &edge).await.unwrap(),
            payments: capstone::payments::start(db.clone(), any, shutdown.clone(), &edge).await.unwrap(),
            shipping: capstone::shipping::start(
                db.clone(),
                any,
                shutdown.clone(),
                &edge,
                capstone::shipping::ShippingSettings {
                    blocked_countries: vec!["AQ".into()],
                    temporal: None,
                    carrier: None,
                },
            )
            .await
            .unwrap(),
            notifications: capstone::notifications::start(db.clone(), any, shutdown.clone(), &edge, Default::default())
                .await
                .unwrap(),
            db,
            shutdown,
            _dir: dir,
        }
    }

    /// The HTTP client an activity uses to reach one of these services (with the service key).
    pub fn client(service: &'static str, url: &str) -> capstone_activities::service_client::ServiceClient {
        capstone_activities::service_client::ServiceClient::new(service, url, reqwest::Client::new())
            .with_bearer(BACKEND_SERVICE_KEY)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for service in [self.inventory, self.payments, self.shipping, self.notifications] {
            service.stopped().await.unwrap();
        }
    }
}

/// A fresh, empty PostgreSQL database for one test, or `None` (and a note on stderr) when
/// `CAPSTONE_TEST_POSTGRES_URL` is not set. `make test` sets it (it starts a throwaway
/// PostgreSQL); in CI (`CI` set) a missing PostgreSQL is a failure, not a skip.
pub async fn fresh_postgres_database() -> Option<String> {
    let Ok(admin_url) = std::env::var("CAPSTONE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CAPSTONE_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL tests (use `make test`)"
        );
        eprintln!("skipped: set CAPSTONE_TEST_POSTGRES_URL (or run `make test`) to run the PostgreSQL tests");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("capstone_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("PostgreSQL answers at CAPSTONE_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("a test database can be created");
    let mut url = url::Url::parse(&admin_url).expect("CAPSTONE_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    Some(url.to_string())
}
