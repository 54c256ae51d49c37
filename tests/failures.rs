//! Days 3 and 7: retries, non-retryable failures and compensation in the real order flow, with
//! faults injected into the real services (`/admin/faults`, a destination no carrier serves).

use crate::support;
use capstone_workflows::order::OrderStatus;
use serde_json::json;
use support::{TestShop, history, orders};

#[tokio::test(flavor = "multi_thread")]
async fn a_shipping_failure_after_the_charge_refunds_then_releases() {
    let shop = TestShop::start().await;
    let keyboards = shop.stock("KB-001").await;
    let mut body = orders::with_items("ada", &[("KB-001", 2)]);
    body["shipping_address"]["country"] = json!("AQ");
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&body).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.as_str();
    assert_eq!(done.status, OrderStatus::Compensated, "{done:?}");
    assert!(done.reason.as_deref().unwrap().contains("no carrier delivers to AQ"), "{done:?}");
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), 17800), ("refund".to_owned(), 17800)]);
    assert_eq!(shop.stock("KB-001").await, keyboards, "the stock went back");
    assert!(done.unresolved.is_empty());

    // Newest first, each once: refund, then release.
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let undo: Vec<&str> = runs
        .iter()
        .map(|run| run.name.as_str())
        .filter(|name| ["payments.refund", "inventory.release_stock"].contains(name))
        .collect();
    assert_eq!(undo, ["payments.refund", "inventory.release_stock"]);
    let charge = runs.iter().find(|run| run.name == "payments.card.charge").unwrap();
    assert_eq!(charge.task_queue, "payments", "payments run on their own queue");

    // The customer hears why, and that the money came back: one notice, after the refund.
    let refund_id = done.refund_id.as_deref().unwrap();
    let emails = shop.emails(order_id).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let (key, subject, body) = &emails[0];
    assert_eq!(
        (key.as_str(), subject.as_str()),
        (&*format!("{order_id}:compensated"), &*format!("Order {order_id} could not be completed"))
    );
    assert!(body.contains("no carrier delivers to AQ"), "{body}");
    assert!(body.ends_with(&format!("Your payment of 17800 cents was refunded ({refund_id}).")), "{body}");
    let names: Vec<&str> = runs.iter().map(|run| run.name.as_str()).collect();
    let (refund, email) = (
        names.iter().position(|name| *name == "payments.refund").unwrap(),
        names.iter().rposition(|name| *name == "notifications.send_email").unwrap(),
    );
    assert!(refund < email, "the notice follows the refund: {names:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_outage_of_a_few_seconds_is_ridden_out_with_one_charge() {
    let shop = TestShop::start().await;
    shop.inject("payments", json!({"outage_secs": 3})).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(shop.ledger(done.order_id.as_str()).await.len(), 1, "one charge");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let charge = runs.iter().find(|run| run.name == "payments.card.charge").unwrap();
    assert!(charge.attempt > 1, "the charge was retried through the outage: {charge:?}");
    assert_eq!(charge.outcome, "completed");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_confirmation_email_is_retried_through_failures_and_sent_once() {
    let shop = TestShop::start().await;
    shop.inject("notifications", json!({"fail_next": 3})).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let order_id = done.order_id.as_str();
    let emails = shop
        .count("SELECT COUNT(*) FROM notifications_outbox WHERE message_key = $1", &format!("{order_id}:confirmation"))
        .await;
    assert_eq!(emails, 1);
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let email = runs.iter().find(|run| run.name == "notifications.send_email").unwrap();
    assert_eq!(email.attempt, 4, "three injected failures, then success");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_after_the_charge_is_retried_without_a_second_charge() {
    // The provider takes the money, then holds its answer back for 35 s. The activity's HTTP
    // client gives up after 25 s (before the 30 s start-to-close timeout would), the attempt
    // fails as retryable, the retry presents the same idempotency key, and the ledger keeps
    // one charge.
    let shop = TestShop::start().await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            let order_id = accepted.order_id.clone();
            shop.inject("payments", json!({"delay_ms": 35_000})).await;
            shop.wait_for_status(&order_id, OrderStatus::ChargingPayment).await;
            // Wait for the charge to be taken (its answer is held back), then let answers flow.
            let deadline = tokio::time::Instant::now() + support::PATIENCE;
            while shop.ledger(&order_id).await.is_empty() {
                assert!(tokio::time::Instant::now() < deadline, "the charge never reached the ledger");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            shop.inject("payments", json!({"delay_ms": 0})).await;
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(shop.ledger(done.order_id.as_str()).await.len(), 1, "exactly one charge");
    let runs = history::activity_runs(&shop.history(done.workflow_id.as_str()).await);
    let charge = runs.iter().find(|run| run.name == "payments.card.charge").unwrap();
    assert_eq!(charge.attempt, 2, "the first attempt timed out, the second found the first charge");
    shop.stop().await;
}
