//! Replay tests (days 2, 9 and 11): every history under `tests/histories/` is replayed against
//! the current workflow code. A change that would break workflows already running (a step
//! added, removed or reordered without a patch) makes the replay fail here, before it ships.
//!
//! The histories were recorded from real runs on a real server (the real workflow worker,
//! fake activities) by the ignored test below. Record them again only on purpose, when a
//! change is meant to be incompatible, and say why in the commit:
//!
//! ```sh
//! RECORD_HISTORIES=1 cargo test -p capstone --test replay -- --ignored
//! ```

mod support;

use capstone_workflows::{
    hello::{HelloInput, HelloWorkflow},
    ingestion::StockIngestionWorkflow,
    order::{Decision, OperatorDecision, OrderStatus, OrderWorkflow},
    shipment::ShipmentWorkflow,
};
use std::path::{Path, PathBuf};
use support::fakes::{FakeShop, Script, wait_for_status};
use temporalio_client::{
    WorkflowCancelOptions, WorkflowExecuteUpdateOptions, WorkflowFetchHistoryOptions, WorkflowGetResultOptions,
    WorkflowHistory, WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

fn histories_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/histories")
}

/// Every recorded history, sorted by file name.
fn recorded() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(histories_dir())
        .expect("tests/histories exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

/// A replayer that knows every workflow type of the shop, as the workflow worker does.
pub fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<HelloWorkflow>()
        .and_then(|options| options.register_workflow::<OrderWorkflow>())
        .and_then(|options| options.register_workflow::<ShipmentWorkflow>())
        .and_then(|options| options.register_workflow::<StockIngestionWorkflow>())
        .expect("the workflows register")
        .build();
    WorkflowReplayer::new(options).expect("a replayer")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_history_replays_against_the_current_code() {
    let files = recorded();
    assert!(files.len() >= 10, "expected the recorded histories in tests/histories, found {}", files.len());
    let replayer = replayer();
    for file in files {
        let json = std::fs::read(&file).unwrap();
        let history = WorkflowHistory::from_json(&json).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|error| panic!("{} no longer replays: {error}", file.display()));
    }
}

/// Writes the history of `workflow_id` to `tests/histories/<name>.json`.
async fn save(shop: &FakeShop, workflow_id: &str, name: &str) {
    let handle = shop.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.to_owned());
    let json = handle.fetch_history(WorkflowFetchHistoryOptions::default()).to_json().await.unwrap();
    let path = histories_dir().join(format!("{name}.json"));
    std::fs::write(&path, json).unwrap();
    println!("recorded {}", path.display());
}

fn decision(approve: bool) -> Decision {
    Decision { approve, operator: "alice".into(), reason: "recorded".into() }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "records tests/histories; run on purpose with RECORD_HISTORIES=1"]
async fn record_histories() {
    assert!(std::env::var_os("RECORD_HISTORIES").is_some(), "set RECORD_HISTORIES=1 to overwrite tests/histories");
    let start = |shop: &FakeShop, order_id: &str, total: i64, approval_secs: u64| {
        let input = shop.order(order_id, total, approval_secs);
        let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), format!("order-{order_id}")).build();
        let client = shop.client.clone();
        let workflow_id = format!("order-{order_id}");
        async move {
            client.start_workflow(OrderWorkflow::run, input, options).await.unwrap();
            client.get_workflow_handle::<OrderWorkflow>(workflow_id)
        }
    };
    let result = WorkflowGetResultOptions::default;

    let shop = FakeShop::start(Script::default()).await;
    shop.with_workers(|| async {
        let hello =
            HelloInput { name: "Ada".into(), pause_ms: 100, activity_task_queue: shop.queues.activities.clone() };
        let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), "hello-ada").build();
        shop.client
            .start_workflow(HelloWorkflow::run, hello, options)
            .await
            .unwrap()
            .get_result(result())
            .await
            .unwrap();
        save(&shop, "hello-ada", "hello").await;

        start(&shop, "completed", 5_000, 60).await.get_result(result()).await.unwrap();
        save(&shop, "order-completed", "order-completed").await;
        save(&shop, "order-completed-shipment", "shipment-booked").await;

        let handle = start(&shop, "approved-update", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        handle
            .execute_update(OrderWorkflow::decide, decision(true), WorkflowExecuteUpdateOptions::default())
            .await
            .unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-approved-update", "order-approved-by-update").await;

        let handle = start(&shop, "approved-signal", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        let signal = OperatorDecision { operator: "alice".into(), reason: "recorded".into() };
        handle.signal(OrderWorkflow::approve, signal.into(), WorkflowSignalOptions::default()).await.unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-approved-signal", "order-approved-by-signal").await;

        let handle = start(&shop, "rejected", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        handle
            .execute_update(OrderWorkflow::decide, decision(false), WorkflowExecuteUpdateOptions::default())
            .await
            .unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-rejected", "order-rejected-by-operator").await;

        start(&shop, "timed-out", 200_000, 1).await.get_result(result()).await.unwrap();
        save(&shop, "order-timed-out", "order-approval-timed-out").await;

        let handle = start(&shop, "address", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        let address = shop.order("x", 1, 1).shipping_address;
        let moved = capstone_workflows::contracts::Address { city: "Hamburg".into(), ..address };
        handle
            .execute_update(OrderWorkflow::change_address, moved, WorkflowExecuteUpdateOptions::default())
            .await
            .unwrap();
        handle
            .execute_update(OrderWorkflow::decide, decision(true), WorkflowExecuteUpdateOptions::default())
            .await
            .unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-address", "order-address-changed").await;

        let handle = start(&shop, "cancelled", 200_000, 3600).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        handle.cancel(WorkflowCancelOptions::builder().reason("recorded").build()).await.unwrap();
        let _ = handle.get_result(result()).await;
        save(&shop, "order-cancelled", "order-cancelled-while-waiting").await;
    })
    .await;
    shop.stop().await;

    for (script, order_id, name) in [
        (Script { block_shipping: true, ..Script::default() }, "blocked", "order-shipping-failed-refunded"),
        (Script { decline_card: true, ..Script::default() }, "declined", "order-card-declined"),
    ] {
        let shop = FakeShop::start(script).await;
        shop.with_workers(|| async {
            start(&shop, order_id, 5_000, 60).await.get_result(result()).await.unwrap();
            save(&shop, &format!("order-{order_id}"), name).await;
        })
        .await;
        shop.stop().await;
    }
}

/// A stand-in registered under the order workflow's name that skips every step. Replaying a
/// recorded order with it must fail: the proof that the replay test can catch a change.
#[temporalio_macros::workflow]
#[derive(Default)]
pub struct ImpostorOrderWorkflow;

#[temporalio_macros::workflow_methods]
impl ImpostorOrderWorkflow {
    #[run(name = "OrderWorkflow")]
    pub async fn run(
        _ctx: &mut temporalio_sdk::WorkflowContext<Self>,
        _input: capstone_workflows::order::OrderInput,
    ) -> temporalio_sdk::WorkflowResult<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_that_changed_without_a_patch_fails_replay() {
    let options = WorkflowReplayerOptions::new().register_workflow::<ImpostorOrderWorkflow>().unwrap().build();
    let replayer = WorkflowReplayer::new(options).unwrap();
    let json = std::fs::read(histories_dir().join("order-completed.json")).unwrap();
    let outcome = replayer.replay_workflow(WorkflowHistory::from_json(&json).unwrap()).await;
    let error = outcome.expect_err("a workflow that skips its steps cannot replay an order's history");
    assert!(error.to_string().to_lowercase().contains("nondetermin"), "{error}");
}
