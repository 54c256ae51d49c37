//! Day 4 and the crash half of days 3 and 7: workers as real processes of the `capstone`
//! binary, killed with SIGKILL or stopped with SIGTERM in the middle of an order. Nothing is
//! lost and nothing happens twice.

use crate::support;
use capstone::workers::WorkerKind;
use capstone_workflows::order::OrderStatus;
use serde_json::json;
use std::time::Duration;
use support::{PATIENCE, TestShop, history, orders};
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use tokio::time::Instant;

/// Waits until the order's charge is in the ledger (its answer may still be held back).
async fn wait_for_charge(shop: &TestShop, order_id: &str) {
    let deadline = Instant::now() + PATIENCE;
    while shop.ledger(order_id).await.is_empty() {
        assert!(Instant::now() < deadline, "the charge never reached the ledger");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_activity_worker_mid_charge_charges_once() {
    let shop = TestShop::start().await;
    let done = shop
        .with_workers_of(&[WorkerKind::Workflow], || async {
            let mut first = shop.spawn_worker("activity-worker");
            first.wait_for_log("worker started").await;
            // The provider takes the money, then is slow to say so: the worker dies waiting.
            shop.inject("payments", json!({"delay_ms": 10_000})).await;
            let accepted = shop.place(&orders::example()).await;
            let order_id = accepted.order_id.clone();
            wait_for_charge(&shop, &order_id).await;
            first.kill_9();
            shop.inject("payments", json!({"delay_ms": 0})).await;

            // Another worker picks the charge up once the heartbeat timeout (5 s) has passed.
            let second = shop.spawn_worker("activity-worker");
            let done = shop.wait_until_final(&order_id).await;
            // The worker had the payload keys and the api's service key in its environment,
            // and logged at info level through a whole order: neither reached its log.
            let log = second.log_text();
            assert!(log.contains("worker started"), "{log}");
            assert!(!log.contains(&shop.config.service_key), "the service key is in the worker's log");
            for entry in support::TEST_PAYLOAD_KEYS.split(',') {
                let material = entry.trim().split(':').nth(1).unwrap();
                assert!(!log.contains(material), "payload key material is in the worker's log");
            }
            drop(second);
            done
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(shop.ledger(done.order_id.as_str()).await.len(), 1, "exactly one charge");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let charge = runs.iter().find(|run| run.name == "payments.card.charge").unwrap();
    assert_eq!(charge.attempt, 2, "the dead worker's attempt timed out; the second found the first charge");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workflow_worker_is_replaced_and_the_saga_resumes_by_replay() {
    let shop = TestShop::start().await;
    let done = shop
        .with_workers_of(&[WorkerKind::Activity, WorkerKind::Payments], || async {
            let mut first = shop.spawn_worker("workflow-worker");
            first.wait_for_log("worker started").await;
            let accepted = shop.place(&orders::large()).await;
            let order_id = accepted.order_id.clone();
            shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            first.kill_9();

            // A new worker has none of the workflow in memory: it replays the history. Until
            // the server gives up on the dead worker's sticky queue (10 s), the update cannot
            // be delivered and the api answers 503 "retry", as a client would.
            let _second = shop.spawn_worker("workflow-worker");
            let deadline = Instant::now() + PATIENCE;
            loop {
                let approve = shop
                    .http
                    .post(format!("{}/orders/{order_id}/approve", shop.api_url()))
                    .json(&json!({"operator": "alice", "reason": "after the crash"}))
                    .send()
                    .await
                    .unwrap();
                let status = approve.status();
                if status.is_success() {
                    break;
                }
                let body = approve.text().await.unwrap();
                assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");
                assert!(Instant::now() < deadline, "the approval never got through: {body}");
            }
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let events = shop.history(done.workflow_id.as_str()).await;
    let identities = history::workflow_task_identities(&events);
    assert!(identities.len() >= 2, "two different workers ran the workflow: {identities:?}");
    assert_eq!(shop.ledger(done.order_id.as_str()).await.len(), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_activity_worker_finish_what_it_started_and_exit_zero() {
    let shop = TestShop::start().await;
    let (done, exit, waited) = shop
        .with_workers_of(&[WorkerKind::Workflow], || async {
            let mut worker = shop.spawn_worker("activity-worker");
            worker.wait_for_log("worker started").await;
            shop.inject("payments", json!({"delay_ms": 3000})).await;
            let accepted = shop.place(&orders::example()).await;
            let order_id = accepted.order_id.clone();
            wait_for_charge(&shop, &order_id).await;
            let stopping = Instant::now();
            worker.terminate();
            let exit = worker.wait_exit(Duration::from_secs(30)).await;
            let waited = stopping.elapsed();
            assert!(worker.log_text().contains("worker draining"), "{}", worker.log_text());
            shop.inject("payments", json!({"delay_ms": 0})).await;
            // The rest of the saga needs an activity worker again.
            let _next = shop.spawn_worker("activity-worker");
            (shop.wait_until_final(&order_id).await, exit, waited)
        })
        .await;
    assert!(exit.success(), "the worker exited with {exit}");
    assert!(waited >= Duration::from_secs(1), "it waited for the charge in flight ({waited:?})");
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let charge = runs.iter().find(|run| run.name == "payments.card.charge").unwrap();
    assert_eq!((charge.attempt, charge.outcome), (1, "completed"), "the charge finished on the draining worker");
    assert_eq!(shop.ledger(done.order_id.as_str()).await.len(), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_ingestion_resumes_from_its_last_heartbeat() {
    let shop = TestShop::start().await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let rows = 3000;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_capstone"))
        .args(["generate-stock-csv", "--rows", &rows.to_string(), "--output"])
        .arg(file.path())
        .status()
        .unwrap();
    assert!(status.success());

    let report = shop
        .with_workers_of(&[WorkerKind::Workflow], || async {
            let mut first = shop.spawn_worker("activity-worker");
            first.wait_for_log("worker started").await;
            // Slow batches, so that the ingestion is caught half-way.
            shop.inject("inventory", json!({"delay_ms": 150})).await;
            let input = capstone_workflows::ingestion::IngestionInput {
                ingestion_id: "supplier-42".into(),
                path: file.path().display().to_string(),
                batch_size: 100,
                activity_task_queue: shop.queues().activities.clone(),
            };
            let options =
                WorkflowStartOptions::new(shop.queues().workflows.clone(), "stock-ingestion-supplier-42").build();
            let handle = shop
                .client
                .start_workflow(capstone_workflows::ingestion::StockIngestionWorkflow::run, input, options)
                .await
                .unwrap();
            let deadline = Instant::now() + PATIENCE;
            while shop
                .count("SELECT COUNT(*) FROM inventory_stock_receipts WHERE ingestion_id = $1", "supplier-42")
                .await
                < 1000
            {
                assert!(Instant::now() < deadline, "the ingestion never got going");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            first.kill_9();
            shop.inject("inventory", json!({"delay_ms": 0})).await;
            let _second = shop.spawn_worker("activity-worker");
            handle.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert!(report.attempt >= 2, "a second attempt finished the file: {report:?}");
    // Heartbeats reach the server at most once a second (throttled), so the second attempt
    // resumes a little before where the first died; rows it re-sends are skipped by the
    // inventory service, never applied twice.
    assert!(
        report.resumed_from_row > 0,
        "it resumed where the first attempt's last heartbeat said, not at 0: {report:?}"
    );
    assert!(report.already_applied < 1000, "it did not start over: {report:?}");
    assert_eq!(report.rows, rows);
    let receipts =
        shop.count("SELECT COUNT(*) FROM inventory_stock_receipts WHERE ingestion_id = $1", "supplier-42").await;
    assert_eq!(receipts, rows as i64, "every row applied exactly once");
    // Each generated SKU's stock is exactly its row's quantity: nothing was added twice.
    for n in [1u64, 999, 1000, 1001, 3000] {
        let (_, qty) = capstone::ingest::generated_row(n);
        assert_eq!(shop.stock(&format!("GEN-{n:06}")).await, qty as i64, "row {n}");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_to_a_routed_country_run_on_that_regions_queues() {
    let shop = TestShop::start_with(|config| {
        config.region_routes = [("DE".to_owned(), "eu".to_owned())].into();
    })
    .await;
    let eu_worker_env = [("REGION", "eu")];
    let done = shop
        .with_workers_of(&[], || async {
            // Only regional workers run: an order for DE must find them, on `*-eu` queues.
            let _workflows = shop.spawn_worker_with("workflow-worker", &eu_worker_env);
            let activities = shop.spawn_worker_with("activity-worker", &eu_worker_env);
            activities.wait_for_log("payments-eu").await;
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let queues: Vec<(&str, &str)> = runs.iter().map(|run| (run.name.as_str(), run.task_queue.as_str())).collect();
    assert!(queues.contains(&("inventory.reserve_stock", "order-activities-eu")), "{queues:?}");
    assert!(queues.contains(&("payments.card.charge", "payments-eu")), "{queues:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_payment_slot_means_one_charge_at_a_time() {
    let shop = TestShop::start().await;
    let tuning = capstone::workers::WorkerTuning { payment_slots: 1, ..Default::default() };
    let delay_ms = 800;
    shop.inject("payments", json!({ "delay_ms": delay_ms })).await;
    let charged_at: Vec<i64> = shop
        .with_tuned_workers(&tuning, &[WorkerKind::Workflow, WorkerKind::Activity, WorkerKind::Payments], || async {
            let mut order_ids = Vec::new();
            for customer in ["ada", "grace", "linus"] {
                let accepted = shop.place(&orders::with_items(customer, &[("CB-004", 1)])).await;
                order_ids.push(accepted.order_id.clone());
            }
            for order_id in &order_ids {
                shop.wait_until_final(order_id).await;
            }
            sqlx::query_scalar("SELECT created_at_ms FROM payments_ledger WHERE kind = 'charge' ORDER BY created_at_ms")
                .fetch_all(shop.db())
                .await
                .unwrap()
        })
        .await;
    assert_eq!(charged_at.len(), 3);
    // Each charge holds the only slot until its (slow) answer arrives, so the next one can
    // only start after that: the charges are at least the answer delay apart.
    for pair in charged_at.windows(2) {
        assert!(pair[1] - pair[0] >= delay_ms - 50, "two charges ran at once: {charged_at:?}");
    }
    shop.stop().await;
}
