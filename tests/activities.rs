//! Activity tests (day 3, day 11): the real activity code, run by the SDK's
//! `ActivityEnvironment` (no workflow, no Temporal server), against the real services over
//! HTTP. They prove the two things every activity here must get right: a repeated call never
//! acts twice, and each failure is retryable or not as it should be.

use crate::support;

use capstone_activities::{
    inventory::InventoryActivities, notifications::NotificationActivities, payments::PaymentActivities,
};
use capstone_workflows::contracts::{
    StockLine,
    failures::{CARD_DECLINED, CHARGE_VOIDED, INSUFFICIENT_STOCK, SERVICE_UNAVAILABLE},
    inventory::{ReleaseStockRequest, ReservationStatus, ReserveStockRequest},
    notifications::SendEmailRequest,
    payments::{ChargePurpose, ChargeRequest, RefundRequest},
};
use support::Backend;
use temporalio_sdk::{
    ApplicationFailure,
    activities::ActivityError,
    testing::{ActivityEnvironment, ActivityEnvironmentError},
};

/// The application failure an activity returned, or a panic if it succeeded.
fn failure<T: std::fmt::Debug>(result: Result<T, ActivityEnvironmentError>) -> Box<ApplicationFailure> {
    match result {
        Err(ActivityEnvironmentError::Activity(ActivityError::Application(failure))) => failure,
        other => panic!("expected an application failure, got {other:?}"),
    }
}

fn reserve(id: &str, sku: &str, qty: u32) -> ReserveStockRequest {
    ReserveStockRequest { reservation_id: id.into(), lines: vec![StockLine { sku: sku.into(), qty }] }
}

async fn stock(backend: &Backend, sku: &str) -> i64 {
    sqlx::query_scalar("SELECT available FROM inventory_stock WHERE sku = $1")
        .bind(sku)
        .fetch_one(&backend.db)
        .await
        .unwrap()
}

async fn ledger_rows(backend: &Backend) -> Vec<(String, String, i64)> {
    sqlx::query_as("SELECT kind, idempotency_key, amount_cents FROM payments_ledger ORDER BY created_at_ms, entry_id")
        .fetch_all(&backend.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn reserving_twice_with_one_reservation_id_takes_stock_once() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(InventoryActivities::new(Backend::client("inventory", &backend.inventory.url())))
        .build();
    let before = stock(&backend, "KB-001").await;

    let first = env.run(InventoryActivities::reserve_stock, reserve("res-1", "KB-001", 5)).await.unwrap();
    let second = env.run(InventoryActivities::reserve_stock, reserve("res-1", "KB-001", 5)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.status, ReservationStatus::Reserved);
    assert_eq!(stock(&backend, "KB-001").await, before - 5);

    // Releasing twice gives the stock back once.
    for _ in 0..2 {
        let released = env
            .run(InventoryActivities::release_stock, ReleaseStockRequest { reservation_id: "res-1".into() })
            .await
            .unwrap();
        assert_eq!(released.status, ReservationStatus::Released);
    }
    assert_eq!(stock(&backend, "KB-001").await, before);
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_that_overtakes_its_reserve_blocks_the_late_reserve() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(InventoryActivities::new(Backend::client("inventory", &backend.inventory.url())))
        .build();
    let before = stock(&backend, "MS-002").await;
    env.run(InventoryActivities::release_stock, ReleaseStockRequest { reservation_id: "res-late".into() })
        .await
        .unwrap();
    let late = env.run(InventoryActivities::reserve_stock, reserve("res-late", "MS-002", 2)).await.unwrap();
    assert_eq!(late.status, ReservationStatus::Released, "the late reserve finds the release");
    assert!(late.lines.is_empty());
    assert_eq!(stock(&backend, "MS-002").await, before, "no stock was taken");
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn too_little_stock_is_a_non_retryable_failure_that_holds_nothing() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(InventoryActivities::new(Backend::client("inventory", &backend.inventory.url())))
        .build();
    let request = ReserveStockRequest {
        reservation_id: "res-2".into(),
        lines: vec![StockLine { sku: "KB-001".into(), qty: 1 }, StockLine { sku: "PR-007".into(), qty: 50 }],
    };
    let keyboards = stock(&backend, "KB-001").await;
    let failure = failure(env.run(InventoryActivities::reserve_stock, request).await);
    assert_eq!(failure.type_name(), Some(INSUFFICIENT_STOCK));
    assert!(failure.is_non_retryable());
    assert!(failure.to_string().contains("PR-007"), "{failure}");
    assert_eq!(stock(&backend, "KB-001").await, keyboards, "the KB-001 line was rolled back");
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn charging_twice_with_one_key_leaves_one_ledger_row_and_declines_are_final() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(PaymentActivities::new(Backend::client("payments", &backend.payments.url())))
        .build();
    let charge = |key: &str, token: &str| ChargeRequest {
        idempotency_key: key.into(),
        order_id: "ord-1".into(),
        amount_cents: 4200,
        provider: "card".into(),
        card_token: token.into(),
        purpose: ChargePurpose::Order,
    };
    let first = env.run(PaymentActivities::charge, charge("order-ord-1:charge", "tok_visa")).await.unwrap();
    let again = env.run(PaymentActivities::charge, charge("order-ord-1:charge", "tok_visa")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(ledger_rows(&backend).await, [("charge".to_owned(), "order-ord-1:charge".to_owned(), 4200)]);

    let declined = failure(env.run(PaymentActivities::charge, charge("order-ord-2:charge", "tok_decline")).await);
    assert_eq!(declined.type_name(), Some(CARD_DECLINED));
    assert!(declined.is_non_retryable());
    assert_eq!(ledger_rows(&backend).await.len(), 1, "a decline writes nothing");

    // Refunding twice gives the money back once.
    let refund = RefundRequest {
        idempotency_key: "order-ord-1:refund".into(),
        charge_idempotency_key: "order-ord-1:charge".into(),
        order_id: "ord-1".into(),
        reason: "test".into(),
    };
    let refunded = env.run(PaymentActivities::refund, refund.clone()).await.unwrap();
    let refunded_again = env.run(PaymentActivities::refund, refund).await.unwrap();
    assert_eq!(refunded, refunded_again);
    assert_eq!(refunded.charge_id.as_deref(), Some(first.charge_id.as_str()));
    assert_eq!(refunded.amount_cents, 4200);
    let kinds: Vec<String> = ledger_rows(&backend).await.into_iter().map(|(kind, _, _)| kind).collect();
    assert_eq!(kinds, ["charge", "refund"]);
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_that_overtakes_its_charge_voids_the_charge() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(PaymentActivities::new(Backend::client("payments", &backend.payments.url())))
        .build();
    let refund = RefundRequest {
        idempotency_key: "order-ord-9:refund".into(),
        charge_idempotency_key: "order-ord-9:charge".into(),
        order_id: "ord-9".into(),
        reason: "cancelled".into(),
    };
    let voided = env.run(PaymentActivities::refund, refund).await.unwrap();
    assert_eq!((voided.charge_id, voided.amount_cents), (None, 0));
    let late = ChargeRequest {
        idempotency_key: "order-ord-9:charge".into(),
        order_id: "ord-9".into(),
        amount_cents: 999,
        provider: "card".into(),
        card_token: "tok_visa".into(),
        purpose: ChargePurpose::Order,
    };
    let refused = failure(env.run(PaymentActivities::charge, late).await);
    assert_eq!(refused.type_name(), Some(CHARGE_VOIDED));
    assert!(refused.is_non_retryable());
    let money: i64 = ledger_rows(&backend).await.iter().map(|(_, _, amount)| amount).sum();
    assert_eq!(money, 0, "the late charge took nothing");
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_message_key_means_one_email() {
    let backend = Backend::start().await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(NotificationActivities::new(Backend::client(
            "notifications",
            &backend.notifications.url(),
        )))
        .build();
    let email = SendEmailRequest {
        message_key: "ord-1:confirmation".into(),
        to: "ada".into(),
        subject: "Your order".into(),
        body: "It ships today.".into(),
    };
    for _ in 0..3 {
        env.run(NotificationActivities::send_email, email.clone()).await.unwrap();
    }
    let emails: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications_outbox").fetch_one(&backend.db).await.unwrap();
    assert_eq!(emails, 1);
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_service_is_a_retryable_failure() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(PaymentActivities::new(Backend::client("payments", &format!("http://127.0.0.1:{port}"))))
        .build();
    let request = ChargeRequest {
        idempotency_key: "k".into(),
        order_id: "o".into(),
        amount_cents: 1,
        provider: "card".into(),
        card_token: "tok_visa".into(),
        purpose: ChargePurpose::Order,
    };
    let failure = failure(env.run(PaymentActivities::charge, request).await);
    assert_eq!(failure.type_name(), Some(SERVICE_UNAVAILABLE));
    assert!(!failure.is_non_retryable(), "an outage is worth retrying");
}
