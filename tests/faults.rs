//! The fault suite: under a steady load of mixed orders, every worker and every service is
//! killed with SIGKILL in turn and restarted, the Temporal server is restarted, and payments
//! has an outage. Afterwards every order has reached a final status and everything
//! reconciles: money, stock, e-mails, shipments, the read model and Temporal's visibility.
//! Bounded (about a minute of load), loopback only; runs in CI.

use crate::support;

use capstone::loadgen::{self, LoadPlan, LoadReport, Mix, OrderRecord, Outcome, Pace, Stop, plan};
use capstone_processes::{SERVICES, WORKERS};
use capstone_workflows::order::OrderStatus;
use indicatif::ProgressBar;
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use support::{
    PATIENCE,
    cluster::Cluster,
    reconcile::{self, OrderFacts},
};

#[tokio::test(flavor = "multi_thread")]
async fn crashes_restarts_and_an_outage_under_load_lose_nothing() {
    let mut cluster = Cluster::start().await;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    loadgen::stock_skus(cluster.url("inventory"), &cluster.service_key, &run_id, 1_000).await.unwrap();
    let initial_stock = reconcile::stock(&cluster.db).await;

    let plan = LoadPlan {
        api_url: cluster.url("api").to_owned(),
        api_key: cluster.operator_key.clone(),
        pace: Pace::PerSecond(3.0),
        stop: Stop::After(Duration::from_secs(50)),
        mix: Mix { large: 10, declined: 10, shipping_fails: 10, cancelled: 10 },
        run_id,
        order_timeout: Duration::from_secs(240),
        // The default checkout (update-with-start): the crashes meet it mid-call too.
        respond_async: false,
    };
    let started = Instant::now();
    let load = tokio::spawn(async move { loadgen::drive(&plan, &ProgressBar::hidden()).await });

    // The faults, one after the other, while orders keep arriving.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for role in WORKERS.iter().chain(SERVICES.iter()) {
        eprintln!("[{:>5.1?}] kill -9 {role}, restart it", started.elapsed());
        cluster.crash_and_restart(role, Duration::from_millis(1500)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("[{:>5.1?}] restart the Temporal server", started.elapsed());
    cluster.restart_temporal(Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every fault must land while orders still arrive, or the test proves less than it says.
    assert!(started.elapsed() < Duration::from_secs(45), "the faults took too long: {:?}", started.elapsed());
    eprintln!("[{:>5.1?}] payments outage, 5 s", started.elapsed());
    let outage = reqwest::Client::new()
        .post(format!("{}/admin/faults", cluster.url("payments")))
        .bearer_auth(&cluster.service_key)
        .json(&json!({ "outage_secs": 5 }))
        .send()
        .await
        .unwrap();
    assert!(outage.status().is_success());

    let records = load.await.unwrap().expect("the load ran");
    let report = LoadReport::new(&records, started.elapsed());
    report.print();
    assert!(report.orders >= 100, "the load was steady: {} orders", report.orders);
    assert!(report.nothing_lost(), "every order reached a final status: {:?}", report.outcomes);
    // The mix happened: each kind ended the way it should (a cancel may come too late).
    use OrderStatus::{Cancelled, Compensated, Completed};
    for (kind, wanted) in [
        ("standard", &[Completed][..]),
        ("large", &[Completed]),
        ("declined", &[Compensated]),
        ("shipping_fails", &[Compensated]),
        ("cancelled", &[Cancelled, Completed]),
    ] {
        let outcomes = &report.by_kind[kind];
        let wanted = |outcome: &String| wanted.iter().any(|status| Outcome::Ended(*status).as_str() == outcome);
        assert!(outcomes.keys().all(wanted), "{kind}: {outcomes:?}");
    }

    reconcile(&cluster, &records, &initial_stock).await;
    cluster.stop().await;
}

/// Everything the orders did, checked where it lives (`support::reconcile`).
async fn reconcile(cluster: &Cluster, records: &[OrderRecord], initial_stock: &BTreeMap<String, i64>) {
    let facts: Vec<OrderFacts> = records
        .iter()
        .map(|record| {
            let sku = if record.kind == loadgen::OrderKind::Large { plan::LARGE_SKU } else { plan::STANDARD_SKU };
            OrderFacts {
                order_id: record.order_id.clone().expect("every order was accepted"),
                lines: vec![(sku.to_owned(), 1)],
                total_cents: record.total_cents,
                seen_status: Some(record.outcome.as_str().to_owned()),
            }
        })
        .collect();
    let client = cluster.client().await;
    let mut violations =
        reconcile::orders(&cluster.db, &client, &facts, initial_stock, &[plan::STANDARD_SKU, plan::LARGE_SKU]).await;
    violations.extend(reconcile::visibility_matches_read_model(&cluster.db, &client, PATIENCE).await);
    assert!(violations.is_empty(), "{} violation(s):\n{}", violations.len(), violations.join("\n"));
}
