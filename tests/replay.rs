//! Replay tests (days 2, 9 and 11): every history under `tests/histories/` is replayed against
//! the current workflow code. A change that would break workflows already running (a step
//! added, removed or reordered without a patch) makes the replay fail here, before it ships.
//!
//! The histories were recorded from real runs on a real server (the real workflow worker,
//! fake activities) by the ignored test below. Record them again only on purpose, when a
//! change is meant to be incompatible, and say why in the commit:
//!
//! ```sh
//! RECORD_HISTORIES=all cargo test -p capstone --test integration -- --ignored replay::        # every file
//! RECORD_HISTORIES=batch-three-children cargo test -p capstone --test integration -- --ignored replay::  # one
//! ```

use crate::support;

use capstone_workflows::order::order_workflow_id;
use capstone_workflows::{
    batch::{BatchInput, BatchProgress, BatchWorkflow, OrderTemplate, RollbackPolicy},
    hello::{HelloInput, HelloWorkflow},
    ingestion::StockIngestionWorkflow,
    order::{
        CheckoutRequest, Decision, OperatorDecision, OrderStatus, OrderWorkflow, SHIPMENT_JOURNEY_PATCH,
        SHIPMENT_UNDO_PATCH,
    },
    payloads::Packed,
    shipment::ShipmentWorkflow,
    subscription::{
        CancelRequest, SubscriptionInput, SubscriptionWorkflow,
        renewal::{self, Ending, HasSubscription, Receipts},
        versions::{SubscriptionWorkflowV1, SubscriptionWorkflowV3},
    },
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

/// The codec of the tests: recorded histories are encrypted with the test keys (replay
/// decodes their payloads as a worker would; plaintext histories pass through unchanged).
fn data_converter() -> temporalio_common::data_converters::DataConverter {
    capstone::codec::data_converter(&support::test_keys())
}

/// A replayer that knows every workflow type of the shop, as the workflow worker does.
pub fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<HelloWorkflow>()
        .and_then(|options| options.register_workflow::<OrderWorkflow>())
        .and_then(|options| options.register_workflow::<ShipmentWorkflow>())
        .and_then(|options| options.register_workflow::<StockIngestionWorkflow>())
        .and_then(|options| options.register_workflow::<BatchWorkflow>())
        .and_then(|options| options.register_workflow::<SubscriptionWorkflow>())
        .expect("the workflows register")
        .data_converter(data_converter())
        .build();
    WorkflowReplayer::new(options).expect("a replayer")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_history_replays_against_the_current_code() {
    let files = recorded();
    assert!(files.len() >= 15, "expected the recorded histories in tests/histories, found {}", files.len());
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

/// Waits until the order's deadline timer has started: a decision then races a real timer.
async fn wait_for_timer(
    shop: &FakeShop,
    handle: &temporalio_client::WorkflowHandle<temporalio_client::Client, OrderWorkflow>,
) {
    use temporalio_common::protos::temporal::api::enums::v1::EventType;
    loop {
        let events = shop
            .client
            .get_workflow_handle::<temporalio_common::UntypedWorkflow>(handle.info().workflow_id.clone())
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .into_events()
            .await
            .unwrap();
        if events.iter().any(|event| event.event_type() == EventType::TimerStarted) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Writes the history of `workflow_id` to `tests/histories/<name>.json`, if `RECORD_HISTORIES`
/// asks for it: `all` (or `1`) records every file, a comma-separated list only those names.
async fn save(shop: &FakeShop, workflow_id: &str, name: &str) {
    let wanted = std::env::var("RECORD_HISTORIES").unwrap_or_default();
    let named = wanted.split(',').any(|wanted| wanted.trim() == name);
    if !(wanted == "all" || wanted == "1" || named) {
        println!("kept {name}.json (not in RECORD_HISTORIES)");
        return;
    }
    if BEFORE_THE_NOTICE_PATCH.contains(&name) && !named {
        println!("kept {name}.json (recorded before the notice patch: the proof that old orders replay)");
        return;
    }
    let handle = shop.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(workflow_id.to_owned());
    let json = handle.fetch_history(WorkflowFetchHistoryOptions::default()).to_json().await.unwrap();
    let path = histories_dir().join(format!("{name}.json"));
    std::fs::write(&path, json).unwrap();
    println!("recorded {}", path.display());
}

/// Orders that ended without completing, recorded before `OUTCOME_NOTICE_PATCH` added their
/// notice e-mail: they have no marker and no e-mail, as orders still running at the deploy
/// would. `all` keeps them; re-recording one takes its name.
const BEFORE_THE_NOTICE_PATCH: [&str; 5] = [
    "order-rejected-by-operator",
    "order-approval-timed-out",
    "order-cancelled-while-waiting",
    "order-shipping-failed-refunded",
    "order-card-declined",
];

fn decision(approve: bool) -> Decision {
    Decision { approve, operator: "alice".into(), reason: "recorded".into() }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "records tests/histories; run on purpose with RECORD_HISTORIES=all or =NAME,NAME"]
async fn record_histories() {
    assert!(
        std::env::var_os("RECORD_HISTORIES").is_some(),
        "set RECORD_HISTORIES=all (or a list of names) to write tests/histories"
    );
    let start = |shop: &FakeShop, order_id: &str, total: i64, approval_secs: u64| {
        let input = shop.order(order_id, total, approval_secs);
        let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), order_workflow_id(order_id)).build();
        let client = shop.client.clone();
        let workflow_id = order_workflow_id(order_id);
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

        // Placed the default way: update-with-start, its checkout answered after the reservation.
        let mut input = shop.order("checked-out", 5_000, 60);
        input.request_fingerprint = "recorded".into();
        let options = temporalio_client::WorkflowUpdateWithStartOptions::new(
            shop.queues.workflows.clone(),
            "order-checked-out",
            temporalio_client::WorkflowIdConflictPolicy::UseExisting,
        )
        .update_id("checkout-recorded")
        .build();
        let answer = shop
            .client
            .execute_update_with_start_workflow(
                OrderWorkflow::run,
                input,
                OrderWorkflow::checkout,
                CheckoutRequest { request_fingerprint: "recorded".into() },
                options,
            )
            .await
            .unwrap();
        assert!(answer.reservation_id.is_some(), "{answer:?}");
        shop.client.get_workflow_handle::<OrderWorkflow>("order-checked-out").get_result(result()).await.unwrap();
        save(&shop, "order-checked-out", "order-checked-out").await;
        save(&shop, "order-completed-shipment", "shipment-booked").await;

        let handle = start(&shop, "approved-update", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        wait_for_timer(&shop, &handle).await;
        handle
            .execute_update(OrderWorkflow::decide, decision(true), WorkflowExecuteUpdateOptions::default())
            .await
            .unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-approved-update", "order-approved-by-update").await;

        let handle = start(&shop, "approved-signal", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        wait_for_timer(&shop, &handle).await;
        let signal = OperatorDecision { operator: "alice".into(), reason: "recorded".into() };
        handle.signal(OrderWorkflow::approve, signal.into(), WorkflowSignalOptions::default()).await.unwrap();
        handle.get_result(result()).await.unwrap();
        save(&shop, "order-approved-signal", "order-approved-by-signal").await;

        let handle = start(&shop, "rejected", 200_000, 60).await;
        wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
        wait_for_timer(&shop, &handle).await;
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
        wait_for_timer(&shop, &handle).await;
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
        wait_for_timer(&shop, &handle).await;
        handle.cancel(WorkflowCancelOptions::builder().reason("recorded").build()).await.unwrap();
        let _ = handle.get_result(result()).await;
        save(&shop, "order-cancelled", "order-cancelled-while-waiting").await;
    })
    .await;
    shop.stop().await;

    record_subscription_stages().await;
    record_batch().await;
    record_journeys().await;

    for (script, order_id, name) in [
        (Script { block_shipping: true, ..Script::default() }, "blocked", "order-shipping-failed-refunded"),
        (Script { decline_card: true, ..Script::default() }, "declined", "order-card-declined"),
        (Script { decline_card: true, ..Script::default() }, "declined-notified", "order-card-declined-notified"),
        (Script { shipping_answer_lost: true, ..Script::default() }, "shipping-lost", "order-shipping-answer-lost"),
    ] {
        let shop = FakeShop::start(script).await;
        shop.with_workers(|| async {
            start(&shop, order_id, 5_000, 60).await.get_result(result()).await.unwrap();
            save(&shop, &order_workflow_id(order_id), name).await;
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
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<ImpostorOrderWorkflow>()
        .unwrap()
        .data_converter(data_converter())
        .build();
    let replayer = WorkflowReplayer::new(options).unwrap();
    let json = std::fs::read(histories_dir().join("order-completed.json")).unwrap();
    let outcome = replayer.replay_workflow(WorkflowHistory::from_json(&json).unwrap()).await;
    let error = outcome.expect_err("a workflow that skips its steps cannot replay an order's history");
    assert!(error.to_string().to_lowercase().contains("nondetermin"), "{error}");
}

fn subscription_input(shop: &FakeShop, id: &str) -> SubscriptionInput {
    SubscriptionInput {
        subscription_id: id.to_owned(),
        customer_id: "ada".into(),
        plan: "basic".into(),
        card_token: "tok_visa".into(),
        trial_secs: 0,
        period_secs: 1,
        dunning_delays_secs: vec![1],
        renewals_per_run: 100,
        activity_task_queue: shop.queues.activities.clone(),
        payments_task_queue: shop.queues.payments.clone(),
        carried: None,
    }
}

/// One history per stage of the receipt change: each recorded by that stage's own code.
async fn record_subscription_stages() {
    let shop = FakeShop::start(Script::default()).await;
    shop.with_workers(|| async {
        let runtime = capstone::workers::runtime().unwrap();
        let stage_worker =
            |task_queue: &str, register: &dyn Fn(temporalio_sdk::WorkerOptions) -> temporalio_sdk::WorkerOptions| {
                let options = register(temporalio_sdk::WorkerOptions::new(task_queue).build());
                capstone::workers::RunnableWorker {
                    worker: temporalio_sdk::Worker::new(&runtime, shop.client.clone(), options).unwrap(),
                    kind: capstone::workers::WorkerKind::Workflow,
                    slots: 10,
                    claim: None,
                    stats: Default::default(),
                }
            };
        let v1 = stage_worker("subscriptions-v1", &|mut options| {
            options.register_workflow::<SubscriptionWorkflowV1>().unwrap();
            options
        });
        let v3 = stage_worker("subscriptions-v3", &|mut options| {
            options.register_workflow::<SubscriptionWorkflowV3>().unwrap();
            options
        });
        let stop = tokio_util::sync::CancellationToken::new();
        let stages = capstone::workers::run_all(vec![v1, v3], stop.clone(), std::time::Duration::from_secs(60));
        let record = async {
            for (task_queue, id, name) in [
                ("subscriptions-v1", "v1", "subscription-v1-original"),
                (shop.queues.workflows.as_str(), "v2", "subscription-v2-patched"),
                ("subscriptions-v3", "v3", "subscription-v3-deprecated"),
            ] {
                let workflow_id = format!("subscription-{id}");
                let options = WorkflowStartOptions::new(task_queue, workflow_id.clone()).build();
                shop.client
                    .start_workflow(SubscriptionWorkflow::run, subscription_input(&shop, id), options)
                    .await
                    .unwrap();
                let handle = shop.client.get_workflow_handle::<SubscriptionWorkflow>(workflow_id.clone());
                loop {
                    let view = handle.query(SubscriptionWorkflow::status, (), Default::default()).await.unwrap();
                    if view.state.periods >= 2 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let cancel = CancelRequest { reason: "recorded".into() };
                handle
                    .signal(SubscriptionWorkflow::cancel, cancel.into(), WorkflowSignalOptions::default())
                    .await
                    .unwrap();
                handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
                save(&shop, &workflow_id, name).await;
            }
            stop.cancel();
        };
        let (stages, ()) = tokio::join!(stages, record);
        stages.unwrap();
    })
    .await;
    shop.stop().await;
}

/// Orders that follow their parcel: one delivered after three carrier events, one whose
/// delivery deadline passes first (a claim, then the delivery). The carrier events are sent
/// to the shipment child as the shipping service's webhook sends them: the signal
/// `carrier_event`.
async fn record_journeys() {
    use capstone_workflows::{
        contracts::shipping::{CarrierEvent, CarrierEventKind},
        order::DeliverySettings,
        shipment::ShipmentWorkflow,
    };
    let shop = FakeShop::start(Script::default()).await;
    shop.with_workers(|| async {
        for (order_id, deadline_secs, kinds, name) in [
            (
                "followed",
                60,
                &[CarrierEventKind::Dispatched, CarrierEventKind::OutForDelivery, CarrierEventKind::Delivered][..],
                "order-followed-to-the-door",
            ),
            ("late", 1, &[CarrierEventKind::Delivered][..], "order-delivery-late-claimed"),
        ] {
            let mut input = shop.order(order_id, 5_000, 60);
            input.settings.delivery = Some(DeliverySettings { deadline_secs });
            let workflow_id = order_workflow_id(order_id);
            let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), workflow_id.clone()).build();
            shop.client.start_workflow(OrderWorkflow::run, input, options).await.unwrap();
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(workflow_id.clone());
            wait_for_status(&handle, OrderStatus::Shipped).await;
            if deadline_secs == 1 {
                // Past the deadline: the claim is opened before the parcel arrives.
                loop {
                    let snapshot = handle.query(OrderWorkflow::status, (), Default::default()).await.unwrap();
                    if snapshot.delivery.as_ref().is_some_and(|delivery| delivery.claim_id.is_some()) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            let shipment = shop.client.get_workflow_handle::<ShipmentWorkflow>(format!("{workflow_id}-shipment"));
            for (index, kind) in kinds.iter().enumerate() {
                let event = CarrierEvent {
                    event_id: format!("recorded-{order_id}-{index}"),
                    order_id: order_id.to_owned(),
                    kind: *kind,
                    at_ms: 1,
                    detail: None,
                };
                shipment
                    .signal(ShipmentWorkflow::carrier_event, event, WorkflowSignalOptions::default())
                    .await
                    .unwrap();
            }
            handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
            save(&shop, &workflow_id, name).await;
            save(&shop, &format!("{workflow_id}-shipment"), &name.replace("order-", "shipment-")).await;
        }
    })
    .await;
    shop.stop().await;
}

async fn record_batch() {
    let shop = FakeShop::start(Script::default()).await;
    shop.with_workers(|| async {
        let order = shop.order("template", 1_200, 60);
        let input = BatchInput {
            batch_id: "recorded".into(),
            count: 3,
            template: OrderTemplate {
                customer_prefix: "bulk".into(),
                email: "bulk@example.com".into(),
                lines: order.lines,
                shipping_address: order.shipping_address,
                payment: order.payment,
                total_cents: order.total_cents,
                settings: order.settings,
            },
            window: 2,
            rollback: RollbackPolicy::default(),
            children_per_run: 10,
            progress: BatchProgress::default(),
        };
        let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), "batch-recorded").build();
        let handle = shop.client.start_workflow(BatchWorkflow::run, Packed(input), options).await.unwrap();
        handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
        save(&shop, "batch-recorded", "batch-three-children").await;
        // The same batch with its input and result in MessagePack (workflows/src/payloads.rs):
        // `batch-three-children.json` keeps the JSON of before, and both must replay.
        save(&shop, "batch-recorded", "batch-packed").await;
    })
    .await;
    shop.stop().await;
}

fn replay_file(replayer: &WorkflowReplayer, name: &str) -> impl std::future::Future<Output = Result<(), String>> {
    let json = std::fs::read(histories_dir().join(format!("{name}.json"))).unwrap();
    async move {
        replayer
            .replay_workflow(WorkflowHistory::from_json(&json).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_stage_of_the_receipt_change_is_in_its_history() {
    let markers = |name: &str| {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(histories_dir().join(format!("{name}.json"))).unwrap()).unwrap();
        json["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["attributes"].get("MarkerRecordedEventAttributes").is_some())
            .count()
    };
    assert_eq!(markers("subscription-v1-original"), 0, "stage 1 knew no patch");
    assert!(markers("subscription-v2-patched") > 0, "stage 2 records the patch marker");
    assert!(markers("subscription-v3-deprecated") > 0, "stage 3 still records it (deprecated, not removed)");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outcome_notice_is_behind_its_patch_in_the_histories() {
    let history = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(histories_dir().join(format!("{name}.json"))).unwrap()).unwrap()
    };
    let has = |json: &serde_json::Value, attributes: &str| {
        json["events"].as_array().unwrap().iter().any(|e| e["attributes"].get(attributes).is_some())
    };
    let e_mails = |json: &serde_json::Value| json.to_string().matches("notifications.send_email").count();
    for name in BEFORE_THE_NOTICE_PATCH {
        let before = history(name);
        assert!(!has(&before, "MarkerRecordedEventAttributes"), "{name}: recorded before the patch");
        assert_eq!(e_mails(&before), 0, "{name}: no notice then");
    }
    let after = history("order-card-declined-notified");
    assert!(has(&after, "MarkerRecordedEventAttributes"), "the patch writes its marker");
    assert!(e_mails(&after) > 0, "and the notice is sent");
}

/// Order histories recorded after `SHIPMENT_UNDO_PATCH`: every other one is from before it.
const AFTER_THE_SHIPMENT_UNDO_PATCH: [&str; 4] =
    ["order-shipping-answer-lost", "order-checked-out", "order-followed-to-the-door", "order-delivery-late-claimed"];

/// Order histories that follow their parcel (after `SHIPMENT_JOURNEY_PATCH`).
const AFTER_THE_JOURNEY_PATCH: [&str; 2] = ["order-followed-to-the-door", "order-delivery-late-claimed"];

/// The patch ids of a recorded history's `core_patch` markers, in order.
fn patch_markers(name: &str) -> Vec<String> {
    use base64::Engine as _;
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(histories_dir().join(format!("{name}.json"))).unwrap()).unwrap();
    let mut ids = Vec::new();
    for event in json["events"].as_array().unwrap() {
        let Some(marker) = event["attributes"].get("MarkerRecordedEventAttributes") else { continue };
        for payload in marker["details"]["patch-data"]["payloads"].as_array().into_iter().flatten() {
            let data = base64::engine::general_purpose::STANDARD.decode(payload["data"].as_str().unwrap()).unwrap();
            let patch: serde_json::Value = serde_json::from_slice(&data).unwrap();
            ids.push(patch["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipment_undo_is_behind_its_patch_in_the_histories() {
    // Every order recorded before the patch stands for an order running at that deploy: no
    // marker, and the replay gate proves the new code still takes their old path.
    for file in recorded() {
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("order-") && !AFTER_THE_SHIPMENT_UNDO_PATCH.contains(&name.as_str()) {
            assert!(
                !patch_markers(&name).contains(&SHIPMENT_UNDO_PATCH.to_owned()),
                "{name}: recorded before the patch"
            );
        }
    }
    // The order the patch was made for: the carrier booked, the answer was lost, the order
    // gave up, and the booking was called off first, then the refund and the release.
    for after in AFTER_THE_SHIPMENT_UNDO_PATCH {
        assert!(patch_markers(after).contains(&SHIPMENT_UNDO_PATCH.to_owned()), "{after}: the patch writes its marker");
    }
    let after = "order-shipping-answer-lost";
    let text = std::fs::read_to_string(histories_dir().join(format!("{after}.json"))).unwrap();
    let cancel = text.find("shipping.cancel_shipment").expect("the booking is called off");
    let refund = text.find("payments.refund").expect("the charge is refunded");
    assert!(cancel < refund, "the undos run newest first");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journey_is_behind_its_patch_in_the_histories() {
    for file in recorded() {
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("order-") {
            let followed = AFTER_THE_JOURNEY_PATCH.contains(&name.as_str());
            assert_eq!(
                patch_markers(&name).contains(&SHIPMENT_JOURNEY_PATCH.to_owned()),
                followed,
                "{name}: the marker only in orders that follow their parcel"
            );
        }
    }
    let text = |name: &str| std::fs::read_to_string(histories_dir().join(format!("{name}.json"))).unwrap();
    // Delivered: three carrier events reached the child, and the deadline was cancelled.
    let delivered = text("shipment-followed-to-the-door");
    assert_eq!(delivered.matches("\"carrier_event\"").count(), 3, "three carrier events");
    assert!(delivered.contains("TimerCanceledEventAttributes"), "the deadline cancelled");
    // Late: the deadline fired first, a claim was opened, then the parcel arrived.
    let late = text("shipment-delivery-late-claimed");
    assert!(late.contains("TimerFiredEventAttributes"), "the deadline fired");
    assert!(late.contains("shipping.open_claim"), "a claim was opened");
    // The order heard every step, as signals from its child.
    assert!(text("order-followed-to-the-door").matches("\"shipment_progress\"").count() >= 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn deprecating_the_patch_too_early_breaks_subscriptions_from_before_the_change() {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<SubscriptionWorkflowV3>()
        .unwrap()
        .data_converter(data_converter())
        .build();
    let stage3 = WorkflowReplayer::new(options).unwrap();
    replay_file(&stage3, "subscription-v2-patched").await.expect("stage 3 replays stage 2");
    replay_file(&stage3, "subscription-v3-deprecated").await.expect("stage 3 replays itself");
    let error = replay_file(&stage3, "subscription-v1-original").await.expect_err("stage 3 cannot replay stage 1");
    assert!(error.to_lowercase().contains("nondetermin"), "{error}");
}

/// The receipt change made without any patch: the mistake the patch exists to prevent.
#[temporalio_macros::workflow]
pub struct SubscriptionWorkflowUnpatched {
    input: SubscriptionInput,
    state: capstone_workflows::subscription::SubscriptionState,
}

impl HasSubscription for SubscriptionWorkflowUnpatched {
    fn subscription(&self) -> &capstone_workflows::subscription::SubscriptionState {
        &self.state
    }
    fn subscription_mut(&mut self) -> &mut capstone_workflows::subscription::SubscriptionState {
        &mut self.state
    }
}

#[temporalio_macros::workflow_methods]
impl SubscriptionWorkflowUnpatched {
    #[init]
    pub fn new(_ctx: &temporalio_sdk::WorkflowContextView, input: SubscriptionInput) -> Self {
        let state = capstone_workflows::subscription::SubscriptionState::new(&input);
        Self { input, state }
    }

    #[run(name = "SubscriptionWorkflow")]
    pub async fn run(
        ctx: &mut temporalio_sdk::WorkflowContext<Self>,
    ) -> temporalio_sdk::WorkflowResult<capstone_workflows::subscription::SubscriptionView> {
        let input = ctx.state(|s| s.input.clone());
        match renewal::run(ctx, &input, Receipts::Unguarded).await {
            Ending::ContinueAsNew(_) | Ending::Cancelled | Ending::Over => Ok(ctx.state(|s| s.state.view("x"))),
        }
    }

    #[signal(name = "cancel")]
    pub fn cancel(
        &mut self,
        _ctx: &mut temporalio_sdk::SyncWorkflowContext<Self>,
        request: capstone_workflows::order::SignalPayload<CancelRequest>,
    ) {
        self.state.request_cancel(request);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_change_without_a_patch_fails_replay() {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<SubscriptionWorkflowUnpatched>()
        .unwrap()
        .data_converter(data_converter())
        .build();
    let unpatched = WorkflowReplayer::new(options).unwrap();
    let error =
        replay_file(&unpatched, "subscription-v1-original").await.expect_err("a subscription from before the change");
    assert!(error.to_lowercase().contains("nondetermin"), "{error}");
    // The patched code, deployed, replays it.
    replay_file(&replayer(), "subscription-v1-original").await.expect("the deployed code replays stage 1");
}
