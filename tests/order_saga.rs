//! The order saga end to end: HTTP in, a real Temporal server and real workers in the middle,
//! real rows in every service's tables out. Day 1-2 (the happy path), plus the idempotency of
//! `POST /orders` and the two ways an order can fail without anyone's help.

use crate::support;
use capstone::api::views::{OrderList, ReadSource};
use capstone_workflows::order::OrderStatus;
use capstone_workflows::{
    hello::{HelloInput, HelloWorkflow},
    order::{OrderSnapshot, OrderWorkflow},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestShop, orders};
use temporalio_client::{
    WorkflowExecutionStatus, WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowQueryOptions,
    WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::enums::v1::EventType;

#[tokio::test(flavor = "multi_thread")]
async fn a_placed_order_runs_the_whole_saga_and_every_service_records_it() {
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    let mice = shop.stock("MS-002").await;

    let order = shop
        .with_workers(|| async {
            let (status, _, accepted) = shop.post_order(&orders::example(), None).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
            let accepted = support::accepted(&accepted);
            let order_id = accepted.order_id.clone();
            assert_eq!(accepted.status_url, format!("/orders/{order_id}"));
            assert_eq!(accepted.total_cents, orders::EXAMPLE_TOTAL_CENTS);
            shop.wait_until_final(&order_id).await
        })
        .await;

    let order_id = order.order_id.as_str();
    let workflow_id = order.workflow_id.as_str();
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
    assert_eq!(order.source, ReadSource::ReadModel, "a finished order is answered from the read model");
    let steps: Vec<OrderStatus> = order.timeline.iter().map(|entry| entry.status).collect();
    let mut phases = steps.clone();
    phases.dedup();
    use OrderStatus::*;
    assert_eq!(phases, [Received, ReservingStock, ChargingPayment, Shipping, SendingConfirmation, Shipped, Completed]);

    // On the server: the order and its shipment child both completed. (The read model is
    // written by the workflow's last activity, so the workflow closes just after it.)
    assert_eq!(shop.wait_until_closed(workflow_id).await, WorkflowExecutionStatus::Completed);
    assert_eq!(
        shop.workflow_status(&format!("{workflow_id}-shipment")).await,
        Some(WorkflowExecutionStatus::Completed)
    );

    // In every service's own tables.
    assert_eq!(shop.stock("KB-001").await, keyboards - 1);
    assert_eq!(shop.stock("MS-002").await, mice - 2);
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), orders::EXAMPLE_TOTAL_CENTS)]);
    assert_eq!(order.charge_id.as_deref().map(|id| id.starts_with("ch_")), Some(true));
    let shipments = shop.count("SELECT COUNT(*) FROM shipping_shipments WHERE order_id = $1", order_id).await;
    assert_eq!(shipments, 1);
    let emails = shop
        .count("SELECT COUNT(*) FROM notifications_outbox WHERE message_key = $1", &format!("{order_id}:confirmation"))
        .await;
    assert_eq!(emails, 1);
    let recorded = shop.count("SELECT COUNT(*) FROM api_orders WHERE order_id = $1 AND status = 'COMPLETED' AND snapshot_json IS NOT NULL", order_id).await;
    assert_eq!(recorded, 1, "the read model holds the final state");

    // The query still answers after completion (a worker replays the history) and agrees
    // with what the workflow wrote to the read model.
    let snapshot = shop
        .with_workers(|| async {
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(workflow_id.to_owned());
            handle.query(OrderWorkflow::status, (), WorkflowQueryOptions::default()).await.unwrap()
        })
        .await;
    let recorded: String = sqlx::query_scalar("SELECT snapshot_json FROM api_orders WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(shop.db())
        .await
        .unwrap();
    assert_eq!(snapshot, serde_json::from_str::<OrderSnapshot>(&recorded).unwrap());

    let (status, list) = shop.get("/orders").await;
    assert_eq!(status, StatusCode::OK);
    let list: OrderList = support::typed(&list);
    assert_eq!(list.orders[0].order_id, order_id);
    assert_eq!(list.orders[0].status, Some(OrderStatus::Completed));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeating_a_post_with_the_same_idempotency_key_never_charges_twice() {
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    let body = orders::example();

    let (first, replays, order) = shop
        .with_workers(|| async {
            // Two clients racing with the same key, then a late retry after the saga finished.
            let ((status_a, _, a), (status_b, _, b)) =
                tokio::join!(shop.post_order(&body, Some("checkout-7")), shop.post_order(&body, Some("checkout-7")));
            assert_eq!((status_a, status_b), (StatusCode::ACCEPTED, StatusCode::ACCEPTED), "{a} {b}");
            let (a, b) = (support::accepted(&a), support::accepted(&b));
            assert_eq!(a.order_id, b.order_id);
            let order_id = a.order_id.clone();
            let order = shop.wait_until_final(&order_id).await;
            let workflow_id = order.workflow_id.as_str();
            let run_before = shop.run_id(workflow_id).await;
            let (status_c, headers_c, c) = shop.post_order(&body, Some("checkout-7")).await;
            assert_eq!(status_c, StatusCode::ACCEPTED);
            let c = support::accepted(&c);
            assert_eq!(c.order_id, order_id);
            assert_eq!(c.status, OrderStatus::Completed, "a replay reports the order as it is now");
            assert_eq!(shop.run_id(workflow_id).await, run_before, "a late repeat starts no second run");
            assert_eq!(shop.workflow_status(workflow_id).await, Some(WorkflowExecutionStatus::Completed));
            (order_id, headers_c, order)
        })
        .await;
    assert_eq!(replays.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(shop.ledger(&first).await.len(), 1, "one charge for one order");
    assert_eq!(shop.stock("KB-001").await, keyboards - 1, "stock taken once");
    assert_eq!(shop.count("SELECT COUNT(*) FROM api_orders WHERE customer_id = $1", "ada").await, 1);

    // The same key with a different request is refused and changes nothing.
    let other = orders::with_items("ada", &[("CB-004", 3)]);
    let (status, _, error) = shop.post_order(&other, Some("checkout-7")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"], "idempotency_key_reused");
    assert_eq!(shop.count("SELECT COUNT(*) FROM api_orders WHERE customer_id = $1", "ada").await, 1);
    assert_eq!(shop.ledger(&first).await.len(), 1);

    // The same key from another customer is another order.
    let (status, _, elsewhere) =
        shop.post_order(&orders::with_items("grace", &[("KB-001", 1)]), Some("checkout-7")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(elsewhere["order_id"], first.as_str());
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_cannot_name_an_order_id_not_even_a_batch_childs() {
    // The shop makes every order id. A client naming one could take a batch child's
    // (`{batch_id}-00000`: the batch id is in its 202), whose charge would then be shared.
    let shop = TestShop::start().await;
    let order = orders::with_items("x", &[("CB-004", 1)]);
    let batch = json!({
        "count": 1, "window": 1, "customer_prefix": "bulk", "email": "bulk@example.com",
        "order": { "items": order["items"], "shipping_address": order["shipping_address"], "payment": order["payment"] },
    });
    let (batch_id, claim, child) = shop
        .with_workers(|| async {
            let accepted: Value = shop
                .http
                .post(format!("{}/batches", shop.api_url()))
                .json(&batch)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let batch_id = accepted["batch_id"].as_str().unwrap().to_owned();
            let mut body = orders::with_items("ada", &[("CB-004", 1)]);
            body["order_id"] = json!(format!("{batch_id}-00000"));
            let (status, _, claim) = shop.post_order(&body, None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{claim}");
            // The child's row appears when it records its end (batch children start in the batch).
            let child_id = format!("{batch_id}-00000");
            shop.wait_for_order(&child_id, "its final record", |order| order.status == OrderStatus::Completed).await;
            let child = shop.wait_until_final(&child_id).await;
            (batch_id, claim, child)
        })
        .await;
    assert!(claim["detail"].as_str().unwrap().contains("Idempotency-Key"), "{claim}");
    assert_eq!(child.status, OrderStatus::Completed, "{child:?}");
    assert_eq!(child.customer_id, "bulk-0", "the child is the batch's, not the claimant's");
    let child_id = format!("{batch_id}-00000");
    assert_eq!(shop.ledger(&child_id).await, [("charge".to_owned(), 1200)], "one charge, the batch's");
    assert_eq!(shop.count("SELECT COUNT(*) FROM api_orders WHERE customer_id = $1", "ada").await, 0);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_beyond_the_stock_is_rejected_and_holds_nothing() {
    let shop = TestShop::start().await;
    let posters = shop.stock("PR-007").await;
    let order = shop
        .with_workers(|| async {
            let (status, _, accepted) =
                shop.post_order(&orders::with_items("ada", &[("PR-007", posters + 1)]), None).await;
            assert_eq!(status, StatusCode::ACCEPTED, "stock is the saga's business, not the edge's: {accepted}");
            shop.wait_until_final(&support::accepted(&accepted).order_id).await
        })
        .await;
    let order_id = order.order_id.as_str();
    assert_eq!(order.status, OrderStatus::Rejected, "{order:?}");
    assert!(order.reason.as_deref().unwrap().contains("stock unavailable"), "{order:?}");
    assert_eq!(shop.stock("PR-007").await, posters);
    assert!(shop.ledger(order_id).await.is_empty(), "no money moved");
    // One e-mail tells the customer, and says that nothing was charged.
    let emails = shop.emails(order_id).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let (key, subject, body) = &emails[0];
    assert_eq!(key, &format!("{order_id}:rejected"));
    assert_eq!(subject, &format!("Order {order_id} was not accepted"));
    assert!(body.contains("stock unavailable") && body.ends_with("Nothing was charged."), "{body}");
    // A refusal is a business outcome: the workflow itself completed normally.
    assert_eq!(shop.wait_until_closed(order.workflow_id.as_str()).await, WorkflowExecutionStatus::Completed);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_gives_the_reserved_stock_back() {
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    let mut body = orders::with_items("ada", &[("KB-001", 2)]);
    body["payment"]["card_token"] = json!("tok_decline_insufficient_funds");
    let order = shop
        .with_workers(|| async {
            let accepted = shop.place(&body).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = order.order_id.as_str();
    assert_eq!(order.status, OrderStatus::Compensated, "{order:?}");
    assert!(order.reason.as_deref().unwrap().starts_with("payment declined"), "{order:?}");
    assert_eq!(shop.stock("KB-001").await, keyboards, "the reservation was released");
    let released = shop
        .count(
            "SELECT COUNT(*) FROM inventory_reservations WHERE reservation_id = $1 AND status = 'released'",
            order_id,
        )
        .await;
    assert_eq!(released, 1);
    assert!(shop.ledger(order_id).await.is_empty(), "a decline moves no money, so nothing is refunded");
    assert_eq!(shop.count("SELECT COUNT(*) FROM shipping_shipments WHERE order_id = $1", order_id).await, 0);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hello_workflow_greets_after_a_durable_timer() {
    let shop = TestShop::start().await;
    let (greeting, history) = shop
        .with_workers(|| async {
            let input =
                HelloInput { name: "Ada".into(), pause_ms: 300, activity_task_queue: shop.queues().activities.clone() };
            let options = WorkflowStartOptions::new(shop.queues().workflows.clone(), "hello-ada").build();
            let handle = shop.client.start_workflow(HelloWorkflow::run, input, options).await.unwrap();
            let greeting = handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
            let history = handle.fetch_history(WorkflowFetchHistoryOptions::default()).into_events().await.unwrap();
            (greeting, history)
        })
        .await;
    assert_eq!(greeting, "Hello, Ada!");
    let kinds: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    let fired = kinds.iter().position(|kind| *kind == EventType::TimerFired).expect("a TimerFired event");
    let scheduled = kinds.iter().position(|kind| *kind == EventType::ActivityTaskScheduled).expect("an activity");
    assert!(fired < scheduled, "the timer fired before the activity was scheduled: {kinds:?}");
    assert_eq!(kinds.last(), Some(&EventType::WorkflowExecutionCompleted));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_can_wait_for_an_order_to_change_instead_of_polling() {
    let shop = TestShop::start().await;
    // No workers yet: the order stays RECEIVED, so the wait runs to its end.
    let accepted = shop.place(&orders::example()).await;
    let order_id = accepted.order_id.clone();
    let wait = |secs: u64| format!("/orders/{order_id}?source=read_model&changed_from=RECEIVED&wait_secs={secs}");
    let started = std::time::Instant::now();
    let (status, order) = shop.get(&wait(1)).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(support::order_view(&order).status, OrderStatus::Received);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited: {:?}", started.elapsed());

    // With workers: one look of up to 20 s answers when the workflow records its next status
    // (`SHIPPED`, while the parcel travels; `COMPLETED` if it arrived before that record).
    let (order, took) = shop
        .with_workers(|| async {
            let started = std::time::Instant::now();
            let (status, order) = shop.get(&wait(20)).await;
            assert_eq!(status, StatusCode::OK, "{order:?}");
            (order, started.elapsed())
        })
        .await;
    let status = support::order_view(&order).status;
    assert!([OrderStatus::Shipped, OrderStatus::Completed].contains(&status), "{order}");
    assert!(took < std::time::Duration::from_secs(15), "answered at the change, not at the deadline: {took:?}");

    // A wait that cannot be served is refused, naming what is wrong.
    for (query, problem) in [
        ("source=read_model&changed_from=RECEIVED", "changed_from and wait_secs go together"),
        ("changed_from=RECEIVED&wait_secs=5", "needs source=read_model"),
        ("source=read_model&changed_from=SHIPPED_MAYBE&wait_secs=5", "must be an order status"),
        ("source=read_model&changed_from=RECEIVED&wait_secs=0", "wait_secs must be 1 to 20"),
        ("source=read_model&changed_from=RECEIVED&wait_secs=600", "wait_secs must be 1 to 20"),
    ] {
        let (status, body) = shop.get(&format!("/orders/{order_id}?{query}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
            "{query}"
        );
        assert!(body["detail"].as_str().unwrap().contains(problem), "{query}: {body}");
    }
    shop.stop().await;
}
