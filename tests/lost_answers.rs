//! Day 7: "committed, then the answer was lost". Every saga step is tried with a service that
//! does the work and then never tells the caller so (the connection breaks after the commit),
//! tells it too late (after the activity's timeout), or hears the first attempt after the
//! retry (a request that arrives late). Whatever the step, the order ends with money, stock,
//! parcel and e-mail agreeing: a forward step whose effect may have happened has its undo
//! registered before it is called, and every call is idempotent.
//!
//! The faults are `/admin/faults` on the real services (`lose_next`, `late_next`, `hold_next`,
//! narrowed with `path`; see `services/src/http/faults.rs`).

use crate::support;
use capstone::api::views::{Accepted, OrderView};
use capstone_workflows::order::OrderStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{PATIENCE, TestShop, client_with_key, cluster::Cluster, history, orders};

/// The shipment row of an order: `booked` or `cancelled` (or none).
async fn shipment_status(shop: &TestShop, order_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM shipping_shipments WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(shop.db())
        .await
        .unwrap()
}

async fn reservations(shop: &TestShop, order_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM inventory_reservations WHERE reservation_id = $1")
        .bind(order_id)
        .fetch_all(shop.db())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_booking_whose_every_answer_is_lost_is_called_off_before_the_refund() {
    // The carrier books the parcel on the first attempt; every attempt's answer is lost (the
    // retries find the same booking and lose that answer too). The shipment child gives up,
    // the order compensates: the booking must be cancelled, or the goods leave unpaid.
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    shop.inject("shipping", json!({"lose_next": 8, "path": "/shipments"})).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.as_str();
    assert_eq!(done.status, OrderStatus::Compensated, "{done:?}");
    assert!(done.reason.as_deref().unwrap().starts_with("shipping failed"), "{done:?}");
    assert_eq!(shipment_status(&shop, order_id).await.as_deref(), Some("cancelled"), "the booking was called off");
    let total = orders::EXAMPLE_TOTAL_CENTS;
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), total), ("refund".to_owned(), total)]);
    assert_eq!(shop.stock("KB-001").await, keyboards, "the stock went back");
    assert_eq!(shop.emails(order_id).await.len(), 1, "one notice");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let undo: Vec<&str> = runs
        .iter()
        .map(|run| run.name.as_str())
        .filter(|name| ["shipping.cancel_shipment", "payments.refund", "inventory.release_stock"].contains(name))
        .collect();
    assert_eq!(undo, ["shipping.cancel_shipment", "payments.refund", "inventory.release_stock"], "newest first");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_forward_step_whose_answer_is_lost_once_happens_once() {
    // Reserve, charge, book and e-mail each commit, lose their answer, and are retried.
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    for service in ["inventory", "payments", "shipping", "notifications"] {
        shop.inject(service, json!({"lose_next": 1})).await;
    }
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.as_str();
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(reservations(&shop, order_id).await, ["reserved"]);
    assert_eq!(shop.stock("KB-001").await, keyboards - 1, "stock taken once");
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), orders::EXAMPLE_TOTAL_CENTS)]);
    assert_eq!(shipment_status(&shop, order_id).await.as_deref(), Some("booked"));
    assert_eq!(shop.emails(order_id).await.len(), 1);
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    for step in ["inventory.reserve_stock", "payments.card.charge", "notifications.send_email"] {
        let run = runs.iter().find(|run| run.name == step).unwrap();
        assert_eq!(run.attempt, 2, "{step}: the first attempt's answer was lost");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_undo_whose_answer_is_lost_still_happens_exactly_once() {
    // Shipping gives up (every booking answer lost), then the cancellation, the refund, the
    // release and the notice each commit and lose their first answer.
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    // 8 booking attempts, then the cancellation's first attempt.
    shop.inject("shipping", json!({"lose_next": 9, "path": "/shipments"})).await;
    shop.inject("payments", json!({"lose_next": 1, "path": "/refunds"})).await;
    shop.inject("inventory", json!({"lose_next": 1, "path": "/reservations/"})).await;
    shop.inject("notifications", json!({"lose_next": 1})).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.as_str();
    assert_eq!(done.status, OrderStatus::Compensated, "{done:?}");
    assert!(done.unresolved.is_empty(), "{done:?}");
    assert_eq!(shipment_status(&shop, order_id).await.as_deref(), Some("cancelled"));
    let total = orders::EXAMPLE_TOTAL_CENTS;
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), total), ("refund".to_owned(), total)]);
    assert_eq!(reservations(&shop, order_id).await, ["released"]);
    assert_eq!(shop.stock("KB-001").await, keyboards, "released once: the stock is exactly back");
    assert_eq!(shop.emails(order_id).await.len(), 1);
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    for undo in ["shipping.cancel_shipment", "payments.refund", "inventory.release_stock"] {
        let run = runs.iter().find(|run| run.name == undo).unwrap();
        assert_eq!((run.attempt, run.outcome), (2, "completed"), "{undo}");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_that_come_after_the_timeout_do_not_repeat_a_step() {
    // The reservation and the booking commit, then answer after their 10 s start-to-close
    // timeout: the attempt times out, the retry finds what the first one did.
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    shop.inject("inventory", json!({"late_next": 1, "late_ms": 10_500})).await;
    shop.inject("shipping", json!({"late_next": 1, "late_ms": 10_500})).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.as_str();
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(shop.stock("KB-001").await, keyboards - 1, "reserved once");
    assert_eq!(shipment_status(&shop, order_id).await.as_deref(), Some("booked"));
    assert_eq!(shop.count("SELECT COUNT(*) FROM shipping_shipments WHERE order_id = $1", order_id).await, 1);
    assert_eq!(shop.ledger(order_id).await.len(), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_attempt_that_arrives_after_the_undo_changes_nothing() {
    // Out of order: the reservation's first attempt is held on its way for 20 s; it times out,
    // the retry reserves, the card is declined and the stock released; then the first attempt
    // arrives. It finds the reservation id used and released, and takes nothing.
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    shop.inject("inventory", json!({"hold_next": 1, "hold_ms": 20_000, "path": "/reservations"})).await;
    let mut body = orders::example();
    body["payment"]["card_token"] = json!("tok_decline_insufficient_funds");
    let done = shop
        .with_workers(|| async {
            let placed = tokio::time::Instant::now();
            let accepted = shop.place(&body).await;
            let done = shop.wait_until_final(accepted.order_id.as_str()).await;
            // The workers keep running until the held first attempt has landed: a worker that
            // stopped would close its connection, and the late request would never be handled.
            tokio::time::sleep_until(placed + std::time::Duration::from_secs(23)).await;
            done
        })
        .await;
    let order_id = done.order_id.clone();
    assert_eq!(done.status, OrderStatus::Compensated, "{done:?}");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let reserve = runs.iter().find(|run| run.name == "inventory.reserve_stock").unwrap();
    assert_eq!(reserve.attempt, 2, "the first attempt timed out while it was held");
    assert_eq!(reservations(&shop, &order_id).await, ["released"]);
    assert_eq!(shop.stock("KB-001").await, keyboards, "the late first attempt took nothing");
    assert!(shop.ledger(&order_id).await.is_empty(), "declined: no money moved");
    shop.stop().await;
}

/// `(order_id, status)` of every read-model row of the cluster.
async fn rows(cluster: &Cluster) -> Vec<(String, String)> {
    sqlx::query_as("SELECT order_id, status FROM api_orders ORDER BY created_at_ms")
        .fetch_all(&cluster.db)
        .await
        .unwrap()
}

/// Polls the api's read model until the order is final; its status.
async fn final_status(http: &reqwest::Client, api: &str, order_id: &str) -> OrderStatus {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let order: OrderView =
            http.get(format!("{api}/orders/{order_id}?source=read_model")).send().await.unwrap().json().await.unwrap();
        if order.status.is_terminal() {
            return order.status;
        }
        assert!(tokio::time::Instant::now() < deadline, "{order_id} still {:?}", order.status);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn charges(cluster: &Cluster, order_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'")
        .bind(order_id)
        .fetch_one(&cluster.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_killed_between_the_workflow_and_the_row_loses_and_doubles_nothing() {
    // The api starts the order's workflow (with its checkout), then dies before it writes the
    // row: the client sees a broken connection. The workflow goes on and writes the row
    // itself; the client's retry with the same Idempotency-Key gets the same order.
    let mut cluster = Cluster::start().await;
    let api = cluster.url("api").to_owned();
    let operator = client_with_key(&cluster.operator_key);
    let client = cluster.client().await;
    let arm = async || {
        let armed =
            operator.post(format!("{api}/admin/faults")).json(&json!({"crash_after_order_start": 1})).send().await;
        assert_eq!(armed.unwrap().status(), StatusCode::OK);
    };
    let order = |key: &'static str| {
        operator.post(format!("{api}/orders")).header("Idempotency-Key", key).json(&orders::example())
    };

    // 1. No retry at all: the workflow exists at once, and its row appears without the api.
    arm().await;
    assert!(order("crash-alone").send().await.is_err(), "the api died mid-request");
    cluster.system.kill_9("api");
    cluster.system.start("api", PATIENCE).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let alone = loop {
        if let [(order_id, status)] = rows(&cluster).await.as_slice()
            && status == "COMPLETED"
        {
            break order_id.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "the workflow never wrote its row: {:?}", rows(&cluster).await);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(charges(&cluster, &alone).await, 1);

    // 2. The client retries with the same key: the same order, one run, one charge.
    arm().await;
    assert!(order("crash-1").send().await.is_err(), "the api died mid-request");
    cluster.system.kill_9("api");
    cluster.system.start("api", PATIENCE).await.unwrap();
    let retried = order("crash-1").send().await.unwrap();
    let code = retried.status();
    let accepted: Accepted = retried.json().await.unwrap();
    assert!(code == StatusCode::CREATED || code == StatusCode::ACCEPTED, "{code} {accepted:?}");
    let order_id = accepted.order_id.clone();
    assert_ne!(order_id, alone);
    assert_eq!(final_status(&operator, &api, &order_id).await, OrderStatus::Completed);
    assert_eq!(charges(&cluster, &order_id).await, 1);
    assert_eq!(rows(&cluster).await.len(), 2, "one row per order, none without its workflow");
    let count =
        client.count_workflows(&format!("WorkflowId = 'order-{order_id}'"), Default::default()).await.unwrap().count();
    assert_eq!(count, 1, "one workflow run for the order");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_that_fails_writes_nothing_and_the_retry_runs_one_order() {
    // Temporal is down when the order arrives: the start fails and the server cannot be asked
    // whether it happened. The api answers 503 and has written nothing (the row comes after
    // the workflow); the client's retry with the same key starts the one order.
    let mut cluster = Cluster::start().await;
    let api = cluster.url("api").to_owned();
    let operator = client_with_key(&cluster.operator_key);
    let order = || operator.post(format!("{api}/orders")).header("Idempotency-Key", "down-1").json(&orders::example());
    cluster.stop_temporal().await;
    let refused = order().send().await.unwrap();
    let status = refused.status();
    let body: Value = refused.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("retry the same request"), "{body}");
    assert!(rows(&cluster).await.is_empty(), "no row without a workflow");

    cluster.start_temporal().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let accepted: Accepted = loop {
        let answer = order().send().await.unwrap();
        if answer.status().is_success() {
            break answer.json().await.unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "never accepted: {}", answer.status());
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let order_id = accepted.order_id.clone();
    assert_eq!(final_status(&operator, &api, &order_id).await, OrderStatus::Completed);
    assert_eq!(charges(&cluster, &order_id).await, 1);
    assert_eq!(rows(&cluster).await.len(), 1);
    cluster.stop().await;
}
