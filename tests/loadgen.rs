//! `capstone loadgen` through the real binary against a real shop: every kind of order in the
//! mix ends the way it should, the JSON report adds up, and a wrong key is refused up front.

use crate::support;

use capstone::loadgen::{Mix, OrderKind};
use serde_json::Value;
use std::collections::BTreeMap;
use support::TestShop;
use tokio::process::Command;

/// Runs the binary without blocking this task: the workers of `with_workers` run on it.
async fn loadgen(shop: &TestShop, key: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_capstone"))
        .arg("loadgen")
        .args(args)
        .env("API_URL", shop.api_url())
        .env("INVENTORY_URL", shop.shop.urls().inventory)
        .env("CAPSTONE_API_KEY", key)
        .env("SERVICE_KEY", &shop.config.service_key)
        .output()
        .await
        .expect("capstone loadgen runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_load_ends_as_planned_and_the_report_adds_up() {
    let shop = TestShop::start().await;
    let args = [
        "--count",
        "20",
        "--concurrency",
        "5",
        "--large-percent",
        "20",
        "--declined-percent",
        "20",
        "--shipping-fails-percent",
        "20",
        "--cancelled-percent",
        "20",
        "--order-timeout",
        "60s",
        "--json",
    ];
    let output = shop.with_workers(|| loadgen(&shop, &shop.operator_key, &args)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loadgen failed: {stderr}\n{}", String::from_utf8_lossy(&output.stdout));
    let report: Value = serde_json::from_slice(&output.stdout).expect("--json prints the report");
    assert_eq!(report["orders"], 20);
    assert_eq!(report["completion"]["count"], 20, "every order reached a final status: {report}");
    assert!(report["acceptance"]["p99_ms"].as_f64().unwrap() > 0.0);

    // Each kind of order ended the way it should, as many of each as the mix planned.
    let mix = Mix { large: 20, declined: 20, shipping_fails: 20, cancelled: 20 };
    let mut planned: BTreeMap<OrderKind, u64> = BTreeMap::new();
    for index in 0..20 {
        *planned.entry(mix.kind_of(index)).or_default() += 1;
    }
    let ended = |kind: &str, statuses: &[&str]| -> u64 {
        statuses.iter().map(|status| report["by_kind"][kind][status].as_u64().unwrap_or(0)).sum()
    };
    assert_eq!(ended("standard", &["COMPLETED"]), planned[&OrderKind::Standard], "{report}");
    assert_eq!(ended("large", &["COMPLETED"]), planned[&OrderKind::Large], "{report}");
    assert_eq!(ended("declined", &["COMPENSATED"]), planned[&OrderKind::Declined], "{report}");
    assert_eq!(ended("shipping_fails", &["COMPENSATED"]), planned[&OrderKind::ShippingFails], "{report}");
    // A cancel can come after shipping started: then the order completes.
    assert_eq!(ended("cancelled", &["CANCELLED", "COMPLETED"]), planned[&OrderKind::Cancelled], "{report}");

    // What the report says happened, happened: the large orders were approved by alice.
    let approved: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_orders WHERE status = 'COMPLETED' AND snapshot_json LIKE '%\"operator\":\"alice\"%'",
    )
    .fetch_one(shop.db())
    .await
    .unwrap();
    assert_eq!(approved as u64, planned[&OrderKind::Large], "the large orders were approved by alice");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_refused_before_any_order() {
    let shop = TestShop::start().await;
    let output = loadgen(&shop, "cap_not_a_key", &["--count", "5"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused the key") && stderr.contains("CAPSTONE_API_KEY"), "{stderr}");
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_orders").fetch_one(shop.db()).await.unwrap();
    assert_eq!(orders, 0);
    shop.stop().await;
}
