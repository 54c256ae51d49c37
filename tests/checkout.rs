//! Day 5: checkout in one round trip. `POST /orders` starts the order and asks it, in the same
//! call (update-with-start, the `checkout` update), whether the stock is there: `201` with the
//! reservation, `409 out_of_stock` naming the SKU, `202` when the answer takes longer than
//! `CHECKOUT_WAIT` or the client asked not to wait (`Prefer: respond-async`). Checked where it
//! lands: the inventory's reservation rows, the ledger, the server's history.

use crate::support;
use capstone_workflows::order::{
    CheckoutRequest, OrderStatus, OrderWorkflow, checkout::IDEMPOTENCY_KEY_REUSED, order_workflow_id,
};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use support::{TestShop, orders};
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowUpdateWithStartOptions,
    errors::{WorkflowUpdateError, WorkflowUpdateWithStartError},
};
use temporalio_common::protos::temporal::api::enums::v1::EventType;

/// How many times the order's history records an accepted update.
async fn updates_accepted(shop: &TestShop, order_id: &str) -> usize {
    shop.history(&order_workflow_id(order_id))
        .await
        .iter()
        .filter(|event| event.event_type() == EventType::WorkflowExecutionUpdateAccepted)
        .count()
}

async fn reserved_lines(shop: &TestShop, reservation_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM inventory_reservation_lines WHERE reservation_id = $1")
        .bind(reservation_id)
        .fetch_one(shop.db())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_answers_201_with_the_reservation_in_one_round_trip() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let (status, headers, answer) = shop.check_out(&orders::example(), Some("checkout-1")).await;
        assert_eq!(status, StatusCode::CREATED, "{answer:?}");
        let answer = support::accepted(&answer);
        let order_id = answer.order_id.clone();
        assert_eq!(answer.reservation_id.as_deref(), Some(order_id.as_str()), "{answer:?}");
        assert_ne!(answer.status, OrderStatus::Received, "past the reservation: {answer:?}");
        assert_eq!(headers["location"], format!("/orders/{order_id}").as_str());
        // The reservation is there when the answer arrives, not later.
        assert_eq!(reserved_lines(&shop, &order_id).await, 2, "both lines held");

        // The same request again: the same order and answer, from the update the server ran.
        let (again, headers, repeat) = shop.check_out(&orders::example(), Some("checkout-1")).await;
        assert_eq!(again, StatusCode::CREATED, "{repeat}");
        assert_eq!(support::accepted(&repeat).order_id, order_id);
        assert_eq!(headers["idempotent-replayed"], "true");
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        assert_eq!(shop.ledger(&order_id).await, [("charge".to_owned(), orders::EXAMPLE_TOTAL_CENTS)]);
        assert_eq!(updates_accepted(&shop, &order_id).await, 1, "one checkout in the history");

        // After the order ended, the same request still gets its answer, and starts nothing.
        let (late, _, late_answer) = shop.check_out(&orders::example(), Some("checkout-1")).await;
        assert_eq!(late, StatusCode::CREATED, "{late_answer}");
        assert_eq!(support::accepted(&late_answer).order_id, order_id);
        let runs = shop
            .client
            .count_workflows(format!("WorkflowId = 'order-{order_id}'"), Default::default())
            .await
            .unwrap()
            .count();
        assert_eq!(runs, 1, "one run");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_order_checks_out_reserved_and_awaiting_approval() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let (status, _, answer) = shop.check_out(&orders::large(), None).await;
        assert_eq!(status, StatusCode::CREATED, "{answer:?}");
        let answer = support::accepted(&answer);
        assert_eq!(answer.status, OrderStatus::AwaitingApproval, "{answer:?}");
        let order_id = answer.order_id.as_str();
        assert_eq!(reserved_lines(&shop, order_id).await, 1);
        assert!(shop.ledger(order_id).await.is_empty(), "nothing charged before the decision");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_stock_is_a_409_naming_the_sku_and_holds_or_charges_nothing() {
    let shop = TestShop::start().await;
    sqlx::query("UPDATE inventory_stock SET available = 1 WHERE sku = 'MS-002'").execute(shop.db()).await.unwrap();
    let keyboards = shop.stock("KB-001").await;
    shop.with_workers(|| async {
        let (status, _, refused) = shop.check_out(&orders::example(), Some("too-many")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], "out_of_stock", "{refused}");
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains("MS-002: 1 available, 2 requested"), "names the SKU and the numbers: {detail}");

        // The order exists and ended, with nothing held or charged.
        let order_id = detail.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Rejected, "{done:?}");
        assert!(shop.ledger(&order_id).await.is_empty());
        assert_eq!(shop.stock("KB-001").await, keyboards, "the first line was not kept either");
        assert_eq!(shop.stock("MS-002").await, 1);
        assert_eq!(reserved_lines(&shop, &order_id).await, 0);
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_request_under_the_same_key_is_refused_before_it_is_written() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let (status, _, answer) = shop.check_out(&orders::large(), Some("mine")).await;
        assert_eq!(status, StatusCode::CREATED, "{answer:?}");
        let order_id = support::accepted(&answer).order_id;

        // Through the api: the row's fingerprint refuses it at once.
        let mut other = orders::large();
        other["items"] = json!([{ "sku": "MN-003", "qty": 4 }]);
        let (status, _, refused) = shop.check_out(&other, Some("mine")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], IDEMPOTENCY_KEY_REUSED);

        // And at the workflow, for a client that skips the api (or a row not written yet):
        // the checkout's validator refuses another fingerprint, and nothing reaches the history.
        let updates = async || {
            let history = shop.history(&order_workflow_id(&order_id)).await;
            history.iter().filter(|event| format!("{:?}", event.event_type()).contains("Update")).count()
        };
        let before = updates().await;
        let options = WorkflowUpdateWithStartOptions::new(
            shop.queues().workflows.clone(),
            order_workflow_id(&order_id),
            WorkflowIdConflictPolicy::UseExisting,
        )
        .update_id("checkout-someone-else")
        .build();
        let input = capstone_workflows::order::OrderInput { order_id: order_id.clone(), ..Default::default() };
        let outcome = shop
            .client
            .execute_update_with_start_workflow(
                OrderWorkflow::run,
                input,
                OrderWorkflow::checkout,
                CheckoutRequest { request_fingerprint: "another request".into() },
                options,
            )
            .await;
        match outcome {
            Err(WorkflowUpdateWithStartError::Update(WorkflowUpdateError::Failed(failure))) => {
                assert!(failure.message.contains(IDEMPOTENCY_KEY_REUSED), "{}", failure.message)
            }
            other => panic!("the validator should refuse it: {other:?}"),
        }
        assert_eq!(updates().await, before, "nothing written");
        assert_eq!(updates_accepted(&shop, &order_id).await, 1);
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_will_not_wait_gets_202_at_once_and_so_does_a_slow_checkout() {
    let shop = TestShop::start_with(|config| config.limits.checkout_wait = Duration::from_secs(1)).await;

    // No worker runs: nobody can answer the checkout.
    let asked = Instant::now();
    let (status, _, accepted) = shop.post_order(&orders::example(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert!(asked.elapsed() < Duration::from_millis(900), "respond-async does not wait: {:?}", asked.elapsed());
    let quick = support::accepted(&accepted).order_id;

    let asked = Instant::now();
    let (status, _, slow) = shop.check_out(&orders::example(), None).await;
    let waited = asked.elapsed();
    assert_eq!(status, StatusCode::ACCEPTED, "{slow:?}");
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(8), "CHECKOUT_WAIT, then 202: {waited:?}");
    let slow = support::accepted(&slow);
    let slow_id = slow.order_id.clone();
    assert_eq!(slow.status, OrderStatus::Received);

    // Both rows exist with their workflows; once the workers run, both complete, and the slow
    // one's checkout completes too (its update waited in the history).
    for order_id in [&quick, &slow_id] {
        let (status, _) = shop.get(&format!("/orders/{order_id}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    shop.with_workers(|| async {
        for order_id in [&quick, &slow_id] {
            let done = shop.wait_until_final(order_id).await;
            assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        }
    })
    .await;
    let completed = shop
        .history(&order_workflow_id(&slow_id))
        .await
        .iter()
        .filter(|event| event.event_type() == EventType::WorkflowExecutionUpdateCompleted)
        .count();
    assert_eq!(completed, 1, "the checkout answered once the workers ran");
    assert_eq!(updates_accepted(&shop, &quick).await, 0, "the async order had no checkout");
    shop.stop().await;
}
