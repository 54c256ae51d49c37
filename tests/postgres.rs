//! The same saga and the same idempotency guarantees on PostgreSQL (the default is SQLite).
//! Every query is written once, in SQL both databases accept; these tests keep it that way.
//! Each test gets a fresh database from `CAPSTONE_TEST_POSTGRES_URL` (`make test` provides one).

use crate::support;
use capstone_activities::{inventory::InventoryActivities, payments::PaymentActivities};
use capstone_workflows::contracts::{
    StockLine,
    inventory::{ReleaseStockRequest, ReservationStatus, ReserveStockRequest},
    payments::{ChargePurpose, ChargeRequest, RefundRequest},
};
use capstone_workflows::order::OrderStatus;
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, TestShop, fresh_postgres_database, orders};
use temporalio_sdk::testing::ActivityEnvironment;

#[tokio::test(flavor = "multi_thread")]
async fn orders_complete_and_compensate_on_postgresql() {
    let Some(database_url) = fresh_postgres_database().await else { return };
    let shop = TestShop::start_on(support::test_config(database_url), tempfile::tempdir().unwrap()).await;
    let keyboards = shop.stock("KB-001").await;
    let mut declined = orders::with_items("grace", &[("KB-001", 2)]);
    declined["payment"]["card_token"] = json!("tok_decline");

    let (completed, compensated, replay) = shop
        .with_workers(|| async {
            let (status, _, good) = shop.post_order(&orders::example(), Some("pg-1")).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{good}");
            let (_, _, bad) = shop.post_order(&declined, None).await;
            let completed = shop.wait_until_final(&support::accepted(&good).order_id).await;
            let compensated = shop.wait_until_final(&support::accepted(&bad).order_id).await;
            let (_, _, replay) = shop.post_order(&orders::example(), Some("pg-1")).await;
            (completed, compensated, replay)
        })
        .await;

    assert_eq!(completed.status, OrderStatus::Completed, "{completed:?}");
    assert_eq!(compensated.status, OrderStatus::Compensated, "{compensated:?}");
    assert_eq!(support::accepted(&replay).order_id, completed.order_id);
    let order_id = completed.order_id.as_str();
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), orders::EXAMPLE_TOTAL_CENTS)]);
    assert!(shop.ledger(compensated.order_id.as_str()).await.is_empty());
    assert_eq!(shop.stock("KB-001").await, keyboards - 1, "only the completed order keeps its keyboard");
    // One e-mail each: the confirmation, and the notice of the compensated order.
    let compensated_id = compensated.order_id.as_str();
    let keys = |emails: Vec<(String, String, String)>| emails.into_iter().map(|(key, ..)| key).collect::<Vec<_>>();
    assert_eq!(keys(shop.emails(order_id).await), [format!("{order_id}:confirmation")]);
    assert_eq!(keys(shop.emails(compensated_id).await), [format!("{compensated_id}:compensated")]);
    let (_, list) = shop.get("/orders?status=COMPLETED&min_total=1&source=read_model").await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 1, "{list}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reservations_refunds_and_voids_are_idempotent_on_postgresql() {
    let Some(database_url) = fresh_postgres_database().await else { return };
    let backend = Backend::start_on(&database_url, tempfile::tempdir().unwrap()).await;
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(InventoryActivities::new(Backend::client("inventory", &backend.inventory.url())))
        .register_activities(PaymentActivities::new(Backend::client("payments", &backend.payments.url())))
        .build();

    let reserve =
        ReserveStockRequest { reservation_id: "r-1".into(), lines: vec![StockLine { sku: "CB-004".into(), qty: 4 }] };
    let first = env.run(InventoryActivities::reserve_stock, reserve.clone()).await.unwrap();
    assert_eq!(env.run(InventoryActivities::reserve_stock, reserve).await.unwrap(), first);
    let released = env
        .run(InventoryActivities::release_stock, ReleaseStockRequest { reservation_id: "r-1".into() })
        .await
        .unwrap();
    assert_eq!(released.status, ReservationStatus::Released);
    let available: i64 = sqlx::query_scalar("SELECT available FROM inventory_stock WHERE sku = $1")
        .bind("CB-004")
        .fetch_one(&backend.db)
        .await
        .unwrap();
    assert_eq!(available, 1000);

    let charge = ChargeRequest {
        idempotency_key: "o-1:charge".into(),
        order_id: "o-1".into(),
        amount_cents: 500,
        provider: "card".into(),
        card_token: "tok_visa".into(),
        purpose: ChargePurpose::Order,
    };
    env.run(PaymentActivities::charge, charge.clone()).await.unwrap();
    env.run(PaymentActivities::charge, charge).await.unwrap();
    for key in ["o-1:refund", "o-1:refund", "o-2:refund"] {
        let charge_key = if key.starts_with("o-1") { "o-1:charge" } else { "o-2:charge" };
        let refund = RefundRequest {
            idempotency_key: key.into(),
            charge_idempotency_key: charge_key.into(),
            order_id: key[..3].into(),
            reason: "test".into(),
        };
        env.run(PaymentActivities::refund, refund).await.unwrap();
    }
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, amount_cents FROM payments_ledger ORDER BY created_at_ms, entry_id")
            .fetch_all(&backend.db)
            .await
            .unwrap();
    assert_eq!(kinds, [("charge".to_owned(), 500), ("refund".to_owned(), 500), ("void".to_owned(), 0)]);
    backend.stop().await;
}
