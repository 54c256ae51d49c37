//! Day 8: a batch of orders as child workflows, a sliding window, fan-in of the results, a
//! rollback policy, and continue-as-new for batches larger than one history should hold.

use crate::support;
use capstone::api::views::{BatchAccepted, BatchView};
use capstone_workflows::batch::{BatchProgress, BatchState, child_order_id};
use capstone_workflows::order::{OrderStatus, order_workflow_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use support::{TestShop, orders};
use temporalio_client::WorkflowExecutionStatus;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use tokio::time::Instant;

fn batch_body(count: u32, window: u32) -> Value {
    let order = orders::with_items("x", &[("CB-004", 1)]);
    json!({
        "count": count,
        "window": window,
        "customer_prefix": "bulk",
        "email": "bulk@example.com",
        "order": { "items": order["items"], "shipping_address": order["shipping_address"], "payment": order["payment"] },
    })
}

async fn post_batch(shop: &TestShop, body: &Value) -> (StatusCode, Value) {
    let response = shop.http.post(format!("{}/batches", shop.api_url())).json(body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST /batches` that must be accepted: the api's `BatchAccepted`.
async fn start_batch(shop: &TestShop, body: &Value) -> BatchAccepted {
    let (status, accepted) = post_batch(shop, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    support::typed(&accepted)
}

/// Polls `GET /batches/{id}`, read as the api's `BatchView`, until `done` says yes about its
/// progress (batches take a while: 3 minutes at most).
async fn wait_for_batch(shop: &TestShop, batch_id: &str, done: impl Fn(&BatchProgress) -> bool) -> BatchView {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, body) = shop.get(&format!("/batches/{batch_id}")).await;
        let batch = (status == StatusCode::OK).then(|| support::typed::<BatchView>(&body));
        if let Some(batch) = batch.filter(|batch| done(&batch.progress)) {
            return batch;
        }
        assert!(Instant::now() < deadline, "batch {batch_id} never got there: {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Charges and refunds of a batch's orders, from the payments ledger.
async fn ledger_totals(shop: &TestShop, batch_id: &str) -> (i64, i64, i64) {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, amount_cents FROM payments_ledger WHERE order_id LIKE $1")
            .bind(format!("{batch_id}-%"))
            .fetch_all(shop.db())
            .await
            .unwrap();
    let sum = |kind: &str| rows.iter().filter(|(k, _)| k == kind).map(|(_, amount)| amount).sum::<i64>();
    let charges = rows.iter().filter(|(kind, _)| kind == "charge").count() as i64;
    (charges, sum("charge"), sum("refund"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_100_orders_fans_out_and_aggregates_every_child() {
    let shop = TestShop::start().await;
    let cables = shop.stock("CB-004").await;
    let batch = shop
        .with_workers(|| async {
            let batch_id = start_batch(&shop, &batch_body(100, 10)).await.batch_id;
            // While it runs, the query reports no more than the window in flight.
            let running = wait_for_batch(&shop, &batch_id, |b| b.finished > 0).await;
            assert!(running.progress.running <= 10, "{running:?}");
            wait_for_batch(&shop, &batch_id, |b| b.state == BatchState::Completed).await
        })
        .await;
    let batch_id = batch.batch_id.as_str();
    let progress = &batch.progress;
    assert_eq!(progress.finished, 100);
    assert_eq!(progress.failed, 0);
    assert_eq!(progress.by_status, BTreeMap::from([(OrderStatus::Completed.as_str().to_owned(), 100)]));
    assert_eq!(progress.charged_cents, 100 * 1200);
    assert_eq!(progress.refunded_cents, 0);
    assert_eq!(ledger_totals(&shop, batch_id).await, (100, 100 * 1200, 0), "one charge per child");
    assert_eq!(shop.stock("CB-004").await, cables - 100);
    // Children have derived ids: the first and the last exist and completed.
    for index in [0, 99] {
        let child = order_workflow_id(&child_order_id(batch_id, index));
        assert_eq!(shop.workflow_status(&child).await, Some(WorkflowExecutionStatus::Completed), "{child}");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_larger_than_one_run_continues_as_new_with_its_aggregate() {
    let shop = TestShop::start_with(|config| config.batch_children_per_run = 10).await;
    let batch = shop
        .with_workers(|| async {
            let batch_id = start_batch(&shop, &batch_body(25, 5)).await.batch_id;
            wait_for_batch(&shop, &batch_id, |b| b.state == BatchState::Completed).await
        })
        .await;
    let progress = &batch.progress;
    assert_eq!(progress.runs, 3, "25 children, 10 per run: {batch:?}");
    assert_eq!(progress.by_status, BTreeMap::from([(OrderStatus::Completed.as_str().to_owned(), 25)]));
    assert_eq!(progress.charged_cents, 25 * 1200, "the aggregate survived both continue-as-new");
    let history = shop.history(&batch.workflow_id).await;
    assert!(history.len() < 200, "the last run's history stays small: {} events", history.len());

    // The aggregate it carried in: MessagePack (the batch's own payload encoding, day 10),
    // encrypted by the codec on top, and smaller than the same value as JSON.
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) = &history[0].attributes else {
        panic!("the history starts with WorkflowExecutionStarted")
    };
    let stored = started.input.as_ref().expect("an input").payloads[0].clone();
    assert_eq!(stored.metadata["encoding"], b"binary/encrypted", "the server holds ciphertext");
    let packed = capstone::codec::EncryptionCodec::new(support::test_keys()).decrypt(stored).expect("it opens");
    assert_eq!(packed.metadata["encoding"], capstone_workflows::payloads::ENCODING.as_bytes());
    let value = capstone_workflows::payloads::as_json(&packed).expect("MessagePack");
    assert_eq!(value["progress"]["charged_cents"], 20 * 1200, "two runs' aggregate carried in: {value}");
    let json = serde_json::to_vec(&value).unwrap().len();
    println!("the third run's input: MessagePack {} B, as JSON {json} B", packed.data.len());
    assert!(packed.data.len() < json, "MessagePack {} B, JSON {json} B", packed.data.len());
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_failures_roll_the_batch_back_and_the_money_reconciles() {
    let shop = TestShop::start().await;
    let mut body = batch_body(40, 2);
    body["max_failure_percent"] = json!(30);
    body["min_finished"] = json!(5);
    let batch = shop
        .with_workers(|| async {
            let batch_id = start_batch(&shop, &body).await.batch_id;
            // Let a few children complete, then make shipping refuse everything: those orders
            // are charged, fail to ship, and compensate; the failures cross 30 %.
            let completed = |b: &BatchProgress| b.by_status.get(OrderStatus::Completed.as_str()).copied().unwrap_or(0);
            wait_for_batch(&shop, &batch_id, |b| completed(b) >= 5).await;
            shop.inject("shipping", json!({"refuse_next": 1000})).await;
            let batch = wait_for_batch(&shop, &batch_id, |b| b.state == BatchState::RolledBack).await;
            let deadline = Instant::now() + support::PATIENCE;
            // Cancelled children finish undoing themselves shortly after the batch reports.
            while {
                let (_, charged, refunded) = ledger_totals(&shop, &batch_id).await;
                charged != refunded
            } {
                assert!(
                    Instant::now() < deadline,
                    "the ledger never balanced: {:?}",
                    ledger_totals(&shop, &batch_id).await
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            batch
        })
        .await;
    let progress = &batch.progress;
    assert!(progress.started < 40, "it stopped starting children: {batch:?}");
    assert!(progress.reason.as_deref().unwrap().contains("more than 30 %"), "{batch:?}");
    assert!(progress.completed_orders.len() >= 5);
    assert_eq!(progress.completed_orders, progress.rolled_back, "every completed order was refunded by the rollback");
    let (charges, charged, refunded) = ledger_totals(&shop, &batch.batch_id).await;
    assert!(charges >= 5);
    assert_eq!(charged, refunded, "charges and refunds reconcile in the ledger");
    assert_eq!(progress.charged_cents, progress.refunded_cents, "the batch's own accounts balance too");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_batch_is_refused_and_starts_nothing() {
    let shop = TestShop::start().await;
    let mut too_big = batch_body(10, 2);
    too_big["order"]["items"] = json!([{ "sku": "MN-003", "qty": 3 }]);
    for (body, mentions) in [
        (batch_body(0, 2), "count"),
        (batch_body(10, 0), "window"),
        (too_big, "operator"),
        (json!({"count": 5}), "order"),
    ] {
        let (status, error) = post_batch(&shop, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert!(error["detail"].as_str().unwrap().contains(mentions), "{error}");
    }
    let count = shop.client.count_workflows("", Default::default()).await.unwrap().count();
    assert_eq!(count, 0, "no workflow was started");
    shop.stop().await;
}
