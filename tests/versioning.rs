//! Day 9 and day 12: Worker Deployment versioning on a real dev server, driven with the
//! `temporal worker deployment` commands an operator uses. Orders are pinned to the build that
//! started them, so a build whose order workflow would not replay their histories can be
//! deployed while they run; a ramp sends a share of new workflows to a new build; and a bad
//! build that got out is rolled back and its orders reset onto the good one, each completing
//! exactly once.

use crate::support;

use capstone::workers::{self, MakeCurrent, RunnableWorker, Versioning, WorkerTuning};
use capstone_workflows::order::order_workflow_id;
use capstone_workflows::{
    contracts::inventory::{InventoryActivities, ReserveStockRequest},
    hello::{HelloInput, HelloWorkflow},
    order::{OrderInput, OrderSnapshot, OrderStatus},
};
use serde_json::Value;
use std::time::Duration;
use support::{TestShop, orders, reconcile, temporal_cli};
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::worker::VersioningBehavior;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const DEPLOYMENT: &str = "shop";

/// Drainage is computed every 3 minutes by default, and a stopped worker counts as polling
/// for minutes more; a test cannot wait that long.
fn fast_drainage(config: &mut capstone::temporal::dev_server::DevServerConfig) {
    config.dynamic_config.extend([
        r#"matching.PollerHistoryTTL="2s""#.to_owned(),
        r#"matching.wv.VersionDrainageStatusRefreshInterval="1s""#.to_owned(),
        r#"matching.wv.VersionDrainageStatusVisibilityGracePeriod="1s""#.to_owned(),
    ]);
}

fn build(build_id: &str) -> WorkerTuning {
    WorkerTuning {
        versioning: Versioning {
            enabled: true,
            deployment_name: DEPLOYMENT.to_owned(),
            build_id: build_id.to_owned(),
            make_current: MakeCurrent::IfNone,
        },
        ..WorkerTuning::default()
    }
}

/// An order workflow changed without a patch: a timer first, where the shop's order workflow
/// upserts its attributes and reserves stock. A v1 order's history would not replay on it.
#[workflow]
pub struct OrderWorkflowWithATimerFirst {
    input: OrderInput,
}

#[workflow_methods]
impl OrderWorkflowWithATimerFirst {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderInput) -> Self {
        Self { input }
    }

    #[run(name = "OrderWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderSnapshot> {
        ctx.timer(Duration::from_millis(10)).await;
        let order_id = ctx.state(|s| s.input.order_id.clone());
        Ok(OrderSnapshot {
            order_id,
            status: OrderStatus::Completed,
            reason: Some("run by v2".into()),
            ..Default::default()
        })
    }
}

/// A bad build: it reserves the stock, then fails every workflow task after (a bug).
#[workflow]
pub struct OrderWorkflowWithABug {
    input: OrderInput,
}

#[workflow_methods]
impl OrderWorkflowWithABug {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderInput) -> Self {
        Self { input }
    }

    #[run(name = "OrderWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderSnapshot> {
        let input = ctx.state(|s| s.input.clone());
        let request = ReserveStockRequest { reservation_id: input.order_id.clone(), lines: input.stock_lines() };
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.settings.activity_task_queue.clone())
            .build();
        ctx.execute_activity(InventoryActivities::reserve_stock, request, options).await?;
        panic!("bad build: a bug after the reservation");
    }
}

/// Every worker of a build: the shop's real ones, with the order workflow of `register`.
fn workers_of(
    shop: &TestShop,
    runtime: &Runtime,
    tuning: &WorkerTuning,
    register: impl Fn(&mut WorkerOptions) -> anyhow::Result<()>,
) -> Vec<RunnableWorker> {
    let queues = shop.queues();
    let mut options = WorkerOptions::new(&queues.workflows).build();
    options.deployment_options = tuning.versioning.options(Some(VersioningBehavior::Pinned));
    register(&mut options).unwrap();
    options.register_workflow::<capstone_workflows::shipment::ShipmentWorkflow>().unwrap();
    options.register_workflow::<HelloWorkflow>().unwrap();
    let orders = RunnableWorker {
        worker: Worker::new(runtime, shop.client.clone(), options).unwrap(),
        kind: capstone::workers::WorkerKind::Workflow,
        slots: 10,
        stats: Default::default(),
        claim: None,
    };
    let mut all =
        workers::workflow_workers(runtime, shop.client.clone(), "unused", Some(&queues.subscriptions), tuning)
            .unwrap()
            .split_off(1);
    all.push(orders);
    all.extend(
        workers::activity_workers(
            runtime,
            shop.client.clone(),
            &queues.activities,
            &queues.payments,
            &shop.shop.urls(),
            tuning,
        )
        .unwrap(),
    );
    all
}

/// Starts a subscription (no trial, renewing every 2 s in the tests' configuration): its id.
async fn subscribe(shop: &TestShop) -> String {
    let body = serde_json::json!({
        "customer_id": "ada", "plan": "basic", "trial_days": 0, "payment": {"card_token": "tok_visa"}
    });
    let response = shop.http.post(format!("{}/subscriptions", shop.api_url())).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let accepted: Value = response.json().await.unwrap();
    accepted["subscription_id"].as_str().unwrap().to_owned()
}

/// Waits until the subscription has renewed `at_least` periods: how many it has.
async fn wait_for_periods(shop: &TestShop, id: &str, at_least: u64) -> u64 {
    eventually(&format!("{at_least} periods of {id}"), async || {
        let (_, view) = shop.get(&format!("/subscriptions/{id}")).await;
        view["periods"].as_u64().filter(|periods| *periods >= at_least)
    })
    .await
}

/// The idempotency keys of the subscription's charges in the ledger.
async fn subscription_charges(shop: &TestShop, id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT idempotency_key FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'")
        .bind(id)
        .fetch_all(shop.db())
        .await
        .unwrap()
}

/// `temporal <args>` against the shop's server: its stdout, or its stderr as the error.
async fn try_temporal(shop: &TestShop, args: &[&str]) -> Result<String, String> {
    let output = tokio::process::Command::new(temporal_cli())
        .args(args)
        .args(["--address", &shop.server.address, "--namespace", "default"])
        .output()
        .await
        .expect("the temporal CLI runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
    }
}

/// `temporal <args>` that must succeed: its stdout.
async fn temporal(shop: &TestShop, args: &[&str]) -> String {
    try_temporal(shop, args).await.unwrap_or_else(|error| panic!("temporal {}:\n{error}", args.join(" ")))
}

/// `describe-version` as JSON, or `None` while the server does not know the version.
async fn describe_version(shop: &TestShop, build_id: &str) -> Option<Value> {
    let output = tokio::process::Command::new(temporal_cli())
        .args(["worker", "deployment", "describe-version", "--deployment-name", DEPLOYMENT, "--build-id", build_id])
        .args(["--output", "json", "--address", &shop.server.address])
        .output()
        .await
        .unwrap();
    output.status.success().then(|| serde_json::from_slice(&output.stdout).unwrap_or(Value::Null))
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + support::PATIENCE;
    loop {
        if let Some(done) = check().await {
            return done;
        }
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until the server knows `build_id` (one of its workers polled), then makes it current.
async fn make_current(shop: &TestShop, build_id: &str) {
    eventually(&format!("{build_id} known"), async || describe_version(shop, build_id).await).await;
    temporal(
        shop,
        &[
            "worker",
            "deployment",
            "set-current-version",
            "--deployment-name",
            DEPLOYMENT,
            "--build-id",
            build_id,
            "--yes",
        ],
    )
    .await;
}

/// Waits until `build_id` is the deployment's current version (the first build claims it).
async fn wait_until_current(shop: &TestShop, build_id: &str) {
    eventually(&format!("{build_id} current"), async || {
        let described =
            try_temporal(shop, &["worker", "deployment", "describe", "--name", DEPLOYMENT, "--output", "json"])
                .await
                .ok()?;
        let described: Value = serde_json::from_str(&described).unwrap_or(Value::Null);
        let current = described["routingConfig"]["currentVersionBuildID"].as_str().map(str::to_owned);
        (current.as_deref() == Some(build_id)).then_some(())
    })
    .await;
}

/// Which build completed a workflow's workflow tasks, from its history.
async fn builds_that_ran(shop: &TestShop, workflow_id: &str) -> Vec<String> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let mut builds: Vec<String> = shop
        .history(workflow_id)
        .await
        .into_iter()
        .filter_map(|event| match event.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(completed)) => {
                completed.deployment_version.map(|version| version.build_id)
            }
            _ => None,
        })
        .collect();
    builds.dedup();
    builds
}

#[tokio::test(flavor = "multi_thread")]
async fn running_orders_finish_on_their_build_while_new_ones_run_on_the_next_and_subscriptions_upgrade() {
    let shop = TestShop::start_with_server(fast_drainage).await;
    let runtime = workers::runtime().unwrap();
    let v1_stop = CancellationToken::new();
    let v1 = workers::run_all(
        shop.shop.workers(&runtime, shop.client.clone(), &build("v1")).unwrap(),
        v1_stop.clone(),
        Duration::from_secs(60),
    );
    let scenario = async {
        // Two large orders start on v1 (the first build: it made itself current) and wait.
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let accepted = shop.place(&orders::large()).await;
            let order_id = accepted.order_id.clone();
            shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            waiting.push(order_id);
        }
        // A subscription renews on v1 too; it is auto-upgrade, not pinned.
        let subscription = subscribe(&shop).await;
        let renewed_on_v1 = wait_for_periods(&shop, &subscription, 1).await;

        // v2 changes the order workflow without a patch, and becomes current.
        let v2_stop = CancellationToken::new();
        let v2 = workers::run_all(
            workers_of(&shop, &runtime, &build("v2"), |options| {
                options.register_workflow::<OrderWorkflowWithATimerFirst>()?;
                Ok(())
            }),
            v2_stop.clone(),
            Duration::from_secs(60),
        );
        let rollout = async {
            make_current(&shop, "v2").await;
            // A new order runs on v2.
            let accepted = shop.place(&orders::example()).await;
            let handle =
                shop.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(accepted.workflow_id.clone());
            let snapshot: OrderSnapshot =
                handle.get_result(WorkflowGetResultOptions::default()).await.unwrap().to_value(&Default::default());
            assert_eq!(snapshot.reason.as_deref(), Some("run by v2"));

            // The waiting orders, approved now, finish on v1: pinned, they never meet v2's code.
            for order_id in &waiting {
                let approved = shop
                    .http
                    .post(format!("{}/orders/{order_id}/approve", shop.api_url()))
                    .json(&serde_json::json!({"reason": "after the deploy"}))
                    .send()
                    .await
                    .unwrap();
                assert!(approved.status().is_success(), "{}", approved.text().await.unwrap());
            }
            for order_id in &waiting {
                let done = shop.wait_until_final(order_id).await;
                assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
                assert_eq!(builds_that_ran(&shop, &order_workflow_id(order_id)).await, ["v1"]);
                assert_eq!(shop.ledger(order_id).await.len(), 1, "charged once, on v1");
            }

            // The subscription moved to v2 at its next workflow task and renews there, each
            // period charged once across the move.
            eventually("the subscription on v2", async || {
                let builds = builds_that_ran(&shop, &format!("subscription-{subscription}")).await;
                (builds.last().map(String::as_str) == Some("v2")).then_some(())
            })
            .await;
            let periods = wait_for_periods(&shop, &subscription, renewed_on_v1 + 2).await;
            let keys = subscription_charges(&shop, &subscription).await;
            let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
            assert_eq!(distinct.len(), keys.len(), "no period charged twice: {keys:?}");
            assert!(keys.len() as u64 >= periods, "every period charged: {keys:?}, {periods} periods");

            // v1 drains: no workflow pinned to it is open (the subscription, auto-upgrade,
            // does not hold it). Its workers stop, and it is removed.
            eventually("v1 drained", async || {
                let version = describe_version(&shop, "v1").await?;
                (version["drainageInfo"]["drainageStatus"] == "drained").then_some(())
            })
            .await;
            v1_stop.cancel();
            eventually("v1 deleted", async || {
                let output = tokio::process::Command::new(temporal_cli())
                    .args([
                        "worker",
                        "deployment",
                        "delete-version",
                        "--deployment-name",
                        DEPLOYMENT,
                        "--build-id",
                        "v1",
                    ])
                    .args(["--address", &shop.server.address])
                    .output()
                    .await
                    .unwrap();
                output.status.success().then_some(())
            })
            .await;
            assert!(describe_version(&shop, "v1").await.is_none(), "v1 is gone");
            let deployment = temporal(&shop, &["worker", "deployment", "describe", "--name", DEPLOYMENT]).await;
            assert!(deployment.contains("v2") && !deployment.contains("v1"), "{deployment}");
            v2_stop.cancel();
        };
        let (v2_outcome, ()) = tokio::join!(v2, rollout);
        v2_outcome.unwrap();
    };
    let (v1_outcome, ()) = tokio::join!(v1, scenario);
    v1_outcome.unwrap();
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ramp_sends_about_its_share_of_new_workflows_to_the_new_build() {
    let shop = TestShop::start().await;
    let runtime = workers::runtime().unwrap();
    let stop = CancellationToken::new();
    let mut all = shop.shop.workers(&runtime, shop.client.clone(), &build("v1")).unwrap();
    all.extend(workers_of(&shop, &runtime, &build("v2"), |options| {
        options.register_workflow::<capstone_workflows::order::OrderWorkflow>()?;
        Ok(())
    }));
    let run = workers::run_all(all, stop.clone(), Duration::from_secs(60));
    let scenario = async {
        wait_until_current(&shop, "v1").await;
        eventually("v2 known", async || describe_version(&shop, "v2").await).await;
        temporal(
            &shop,
            &[
                "worker",
                "deployment",
                "set-ramping-version",
                "--deployment-name",
                DEPLOYMENT,
                "--build-id",
                "v2",
                "--percentage",
                "20",
                "--yes",
            ],
        )
        .await;
        let total = 100;
        let mut handles = Vec::new();
        for index in 0..total {
            let input = HelloInput {
                name: format!("n{index}"),
                pause_ms: 0,
                activity_task_queue: shop.queues().activities.clone(),
            };
            let options = WorkflowStartOptions::new(
                shop.queues().workflows.clone(),
                format!("ramp-{index}-{}", uuid::Uuid::new_v4().simple()),
            )
            .build();
            handles.push(shop.client.start_workflow(HelloWorkflow::run, input, options).await.unwrap());
        }
        for handle in handles {
            handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
        }
        let client = &shop.client;
        let count = async |build: &str| {
            let query =
                format!("WorkflowType = 'HelloWorkflow' AND TemporalWorkerDeploymentVersion = '{DEPLOYMENT}:{build}'");
            client.count_workflows(query, Default::default()).await.unwrap().count()
        };
        let on_v2 = eventually("visibility settled", async || {
            let (v1, v2) = (count("v1").await, count("v2").await);
            (v1 + v2 == total).then_some(v2)
        })
        .await;
        eprintln!("ramp of 20%: {on_v2} of {total} workflows ran on v2");
        assert!((8..=35).contains(&on_v2), "about 20% on v2: {on_v2} of {total}");
        stop.cancel();
    };
    let (outcome, ()) = tokio::join!(run, scenario);
    outcome.unwrap();
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_build_is_rolled_back_and_its_orders_reset_complete_exactly_once() {
    let shop = TestShop::start_with_server(fast_drainage).await;
    let initial_stock = reconcile::stock(shop.db()).await;
    let runtime = workers::runtime().unwrap();
    let v1_stop = CancellationToken::new();
    let v1 = workers::run_all(
        shop.shop.workers(&runtime, shop.client.clone(), &build("v1")).unwrap(),
        v1_stop.clone(),
        Duration::from_secs(60),
    );
    let scenario = async {
        wait_until_current(&shop, "v1").await;
        let v2_stop = CancellationToken::new();
        let v2 = workers::run_all(
            workers_of(&shop, &runtime, &build("v2"), |options| {
                options.register_workflow::<OrderWorkflowWithABug>()?;
                Ok(())
            }),
            v2_stop.clone(),
            Duration::from_secs(60),
        );
        let incident = async {
            make_current(&shop, "v2").await;
            // Orders placed now run on the bad build: they reserve, then every task fails.
            let mut placed = Vec::new();
            for _ in 0..2 {
                let accepted = shop.place(&orders::example()).await;
                placed.push((accepted.order_id.clone(), accepted.workflow_id.clone()));
            }
            for (_, workflow_id) in &placed {
                shop.wait_for_event(workflow_id, "WorkflowTaskFailed").await;
            }
            // What pages the operator: the SDK counts the failed workflow tasks, and the alert
            // WorkflowTaskFailures (deploy/prometheus/alerts.yml, tested by promtool) fires on it.
            let metrics = capstone::metrics::render().await.unwrap();
            let failed: f64 = metrics
                .lines()
                .filter(|line| {
                    line.starts_with("temporal_workflow_task_execution_failed") && line.contains("OrderWorkflow")
                })
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            assert!(failed >= 2.0, "the SDK counted the failed workflow tasks: {failed}");
            let stuck_runs: Vec<String> = {
                let mut runs = Vec::new();
                for (_, workflow_id) in &placed {
                    runs.push(shop.run_id(workflow_id).await);
                }
                runs
            };

            // The runbook: roll the current version back, then reset the bad build's open
            // orders onto the good one (a batch reset by visibility query).
            temporal(
                &shop,
                &[
                    "worker",
                    "deployment",
                    "set-current-version",
                    "--deployment-name",
                    DEPLOYMENT,
                    "--build-id",
                    "v1",
                    "--yes",
                ],
            )
            .await;
            let query = format!(
                "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running' AND TemporalWorkerDeploymentVersion = '{DEPLOYMENT}:v2'"
            );
            eventually("the stuck orders visible", async || {
                let count = shop.client.count_workflows(query.clone(), Default::default()).await.unwrap().count();
                (count == 2).then_some(())
            })
            .await;
            temporal(
                &shop,
                &[
                    "workflow",
                    "reset",
                    "--query",
                    &query,
                    "--type",
                    "FirstWorkflowTask",
                    "--reason",
                    "bad build v2",
                    "--yes",
                    "with-workflow-update-options",
                    "--versioning-override-behavior",
                    "pinned",
                    "--versioning-override-deployment-name",
                    DEPLOYMENT,
                    "--versioning-override-build-id",
                    "v1",
                ],
            )
            .await;

            // Each order completes once, on v1: the reservation the bad build made is found by
            // its idempotent id, the charge is taken once.
            let mut facts = Vec::new();
            for ((order_id, workflow_id), stuck_run) in placed.iter().zip(&stuck_runs) {
                let done = shop
                    .wait_for_order(order_id, "completed after the reset", |order| {
                        order.status == OrderStatus::Completed
                    })
                    .await;
                shop.wait_until_closed(workflow_id).await;
                assert_ne!(&shop.run_id(workflow_id).await, stuck_run, "a new run");
                assert_eq!(builds_that_ran(&shop, workflow_id).await, ["v1"], "the new run ran on v1");
                facts.push(reconcile::OrderFacts {
                    order_id: order_id.clone(),
                    lines: vec![("KB-001".into(), 1), ("MS-002".into(), 2)],
                    total_cents: orders::EXAMPLE_TOTAL_CENTS,
                    seen_status: Some(done.status.as_str().to_owned()),
                });
            }
            let violations =
                reconcile::orders(shop.db(), &shop.client, &facts, &initial_stock, &["KB-001", "MS-002"]).await;
            assert!(violations.is_empty(), "{violations:#?}");
            v2_stop.cancel();
            v1_stop.cancel();
        };
        let (v2_outcome, ()) = tokio::join!(v2, incident);
        v2_outcome.unwrap();
    };
    let (v1_outcome, ()) = tokio::join!(v1, scenario);
    v1_outcome.unwrap();
    shop.stop().await;
}
