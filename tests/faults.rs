//! The fault suite: under a steady load of mixed orders, every worker and every service is
//! killed with SIGKILL in turn and restarted, the Temporal server is restarted, and payments
//! has an outage. Afterwards every order has reached a final status and everything
//! reconciles: money, stock, e-mails, shipments, the read model and Temporal's visibility.
//! Bounded (about a minute of load), loopback only; runs in CI.

mod support;

use capstone::bench::system::{SERVICES, WORKERS};
use capstone::loadgen::{self, LoadPlan, LoadReport, Mix, OrderRecord, Pace, Stop};
use capstone_workflows::order::OrderStatus;
use indicatif::ProgressBar;
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use support::{PATIENCE, cluster::Cluster, test_keys};
use temporalio_client::{Client, WorkflowCountOptions};

#[tokio::test(flavor = "multi_thread")]
async fn crashes_restarts_and_an_outage_under_load_lose_nothing() {
    let mut cluster = Cluster::start().await;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    loadgen::stock_skus(cluster.url("inventory"), &run_id, 1_000).await.unwrap();
    let initial_stock = stock(&cluster).await;

    let plan = LoadPlan {
        api_url: cluster.url("api").to_owned(),
        api_key: cluster.operator_key.clone(),
        pace: Pace::PerSecond(3.0),
        stop: Stop::After(Duration::from_secs(50)),
        mix: Mix { large: 10, declined: 10, shipping_fails: 10, cancelled: 10 },
        operator: "alice".to_owned(),
        run_id,
        order_timeout: Duration::from_secs(240),
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
    for (kind, wanted) in [
        ("standard", &["COMPLETED"][..]),
        ("large", &["COMPLETED"]),
        ("declined", &["COMPENSATED"]),
        ("shipping_fails", &["COMPENSATED"]),
        ("cancelled", &["CANCELLED", "COMPLETED"]),
    ] {
        let outcomes = &report.by_kind[kind];
        assert!(outcomes.keys().all(|outcome| wanted.contains(&outcome.as_str())), "{kind}: {outcomes:?}");
    }

    reconcile(&cluster, &records, &initial_stock).await;
    cluster.stop().await;
}

async fn stock(cluster: &Cluster) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT sku, available FROM inventory_stock")
        .fetch_all(&cluster.db)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn scalar(cluster: &Cluster, sql: &'static str, order_id: &str) -> i64 {
    sqlx::query_scalar(sql).bind(order_id).fetch_one(&cluster.db).await.unwrap()
}

/// Everything the orders did, checked where it lives.
async fn reconcile(cluster: &Cluster, records: &[OrderRecord], initial_stock: &BTreeMap<String, i64>) {
    let mut completed_by_sku: BTreeMap<String, i64> = BTreeMap::new();
    let mut read_model_counts: BTreeMap<String, i64> = BTreeMap::new();
    let (mut charged, mut refunded, mut completed_totals) = (0i64, 0i64, 0i64);
    for record in records {
        let order_id = record.order_id.as_deref().expect("every order was accepted");
        // The read model has the status the client saw, and the total it was told.
        let (status, total): (String, i64) =
            sqlx::query_as("SELECT status, total_cents FROM api_orders WHERE order_id = $1")
                .bind(order_id)
                .fetch_one(&cluster.db)
                .await
                .unwrap();
        assert_eq!((status.as_str(), total), (record.outcome.as_str(), record.total_cents), "{order_id}");
        *read_model_counts.entry(status.clone()).or_default() += 1;

        // Money: at most one charge; a completed order keeps it, any other order gave it back.
        let charges =
            scalar(cluster, "SELECT COUNT(*) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'", order_id)
                .await;
        assert!(charges <= 1, "{order_id} was charged {charges} times");
        let order_charged = scalar(
            cluster,
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'",
            order_id,
        )
        .await;
        let order_refunded = scalar(
            cluster,
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payments_ledger WHERE order_id = $1 AND kind = 'refund'",
            order_id,
        )
        .await;
        let kept = if status == "COMPLETED" { total } else { 0 };
        assert_eq!(
            order_charged - order_refunded,
            kept,
            "{order_id} ({status}): charged {order_charged}, refunded {order_refunded}"
        );
        charged += order_charged;
        refunded += order_refunded;

        // One e-mail per order, whatever its end: the confirmation of a completed order, the
        // notice of any other (its key names the status). One shipment per completed order.
        let emails =
            scalar(cluster, "SELECT COUNT(*) FROM notifications_outbox WHERE message_key LIKE $1 || ':%'", order_id)
                .await;
        let email_key = if status == "COMPLETED" { "confirmation".to_owned() } else { status.to_lowercase() };
        let keyed = scalar(
            cluster,
            "SELECT COUNT(*) FROM notifications_outbox WHERE message_key = $1",
            &format!("{order_id}:{email_key}"),
        )
        .await;
        assert_eq!((emails, keyed), (1, 1), "{order_id} ({status}): one e-mail, the {email_key}");
        let shipments = scalar(cluster, "SELECT COUNT(*) FROM shipping_shipments WHERE order_id = $1", order_id).await;
        let held = scalar(
            cluster,
            "SELECT COUNT(*) FROM inventory_reservations WHERE reservation_id = $1 AND status = 'reserved'",
            order_id,
        )
        .await;
        if status == "COMPLETED" {
            completed_totals += total;
            assert_eq!((shipments, held), (1, 1), "{order_id}: shipments, held reservations");
            let sku = if record.kind == loadgen::OrderKind::Large {
                loadgen::plan::LARGE_SKU
            } else {
                loadgen::plan::STANDARD_SKU
            };
            *completed_by_sku.entry(sku.to_owned()).or_default() += 1;
        } else {
            assert_eq!((shipments, held), (0, 0), "{order_id} ({status}): no shipment, nothing held");
        }
    }
    assert_eq!(charged - refunded, completed_totals, "the ledger balances against the completed orders");

    // Stock: what the completed orders took, nothing more, nothing less.
    let now = stock(cluster).await;
    for sku in [loadgen::plan::STANDARD_SKU, loadgen::plan::LARGE_SKU] {
        let taken = initial_stock[sku] - now[sku];
        assert_eq!(taken, completed_by_sku.get(sku).copied().unwrap_or(0), "stock of {sku}");
    }

    // Temporal agrees: no order workflow still runs, and visibility counts the same final
    // statuses as the read model (it is eventually consistent: ask until it settles).
    let server = cluster.server.as_ref().unwrap();
    let client: Client =
        capstone::temporal::connect(&server.address, "default", "fault-suite", PATIENCE, &test_keys()).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut visible = BTreeMap::new();
        for status in OrderStatus::ALL.into_iter().filter(|status| status.is_terminal()).map(OrderStatus::as_str) {
            let query = format!("WorkflowType = 'OrderWorkflow' AND OrderStatus = '{status}'");
            let count = client.count_workflows(query, WorkflowCountOptions::default()).await.unwrap().count() as i64;
            if count > 0 {
                visible.insert(status.to_owned(), count);
            }
        }
        let running = client
            .count_workflows(
                "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'",
                WorkflowCountOptions::default(),
            )
            .await
            .unwrap()
            .count();
        if visible == read_model_counts && running == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "visibility {visible:?} ({running} running) never matched the read model {read_model_counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
