//! Temporal Schedules (days 1, 6 and 12): created once by `setup-temporal`/`dev`, each
//! triggered here and its effect checked in the rows, the ledger and the SMTP server; one
//! paused and backfilled.

use crate::support;
use capstone::temporal::schedules::{self, DAILY_REPORT, RECONCILE, RETENTION, ScheduleSettings};
use capstone_workflows::order::OrderStatus;
use capstone_workflows::{
    contracts::operations::{FindingKind, ReconcileReport},
    operations::reconcile::ReconcileWorkflow,
};
use futures::StreamExt;
use std::time::{Duration, Instant, SystemTime};
use support::{TestShop, mail, orders};
use temporalio_client::{
    WorkflowGetResultOptions, WorkflowListOptions,
    schedules::{BackfillScheduleOptions, ListSchedulesOptions, ScheduleBackfill, ScheduleOverlapPolicy},
};

fn settings(shop: &TestShop) -> ScheduleSettings {
    ScheduleSettings {
        task_queue: shop.config.task_queues.workflows.clone(),
        activity_task_queue: shop.config.task_queues.activities.clone(),
        reconcile_every: Duration::from_secs(3600),
        reconcile_settle: Duration::ZERO,
        reconcile_lookback: Duration::from_secs(3600),
        retention_keep: Duration::from_secs(30 * 24 * 3600),
        report_recipients: vec!["ops@capstone.local".to_owned()],
    }
}

/// Ids of the completed runs of `workflow_type`, waiting until there are at least `count`.
async fn completed_runs(shop: &TestShop, workflow_type: &str, count: usize) -> Vec<String> {
    let query = format!("WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Completed'");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut ids = Vec::new();
        let mut runs = shop.client.list_workflows(query.clone(), WorkflowListOptions::default());
        while let Some(run) = runs.next().await {
            ids.push(run.expect("visibility answers").id().to_owned());
        }
        if ids.len() >= count {
            return ids;
        }
        assert!(Instant::now() < deadline, "{count} completed {workflow_type} runs expected, found {ids:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn exec(shop: &TestShop, sql: &'static str, value: i64, key: &str) {
    sqlx::query(sql).bind(value).bind(key).execute(shop.db()).await.expect("the setup SQL runs");
}

/// Places the example order and waits until it ends (inside `with_workers`).
async fn finished(shop: &TestShop) -> String {
    let order_id = shop.place(&orders::example()).await.order_id.clone();
    let done = shop.wait_until_final(&order_id).await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    order_id
}

fn days_ago(days: i64) -> i64 {
    capstone::now_ms() - days * 24 * 3600 * 1000
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedules_are_created_once_with_their_policies() {
    let shop = TestShop::start().await;
    // Two at once, as the api's and the workflow worker's setup steps run on Kubernetes: each
    // schedule is created once, and neither fails.
    let wanted = settings(&shop);
    let (first, second) =
        tokio::join!(schedules::ensure(&shop.client, &wanted), schedules::ensure(&shop.client, &wanted));
    let mut created = [first.unwrap(), second.unwrap()].concat();
    created.sort();
    let mut all = schedules::ALL.to_vec();
    all.sort();
    assert_eq!(created, all, "each is created once, by one of the two");
    let again = schedules::ensure(&shop.client, &settings(&shop)).await.unwrap();
    assert!(again.is_empty(), "a second run creates nothing: {again:?}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut listed = Vec::new();
        let mut stream = shop.client.list_schedules(ListSchedulesOptions::default());
        while let Some(entry) = stream.next().await {
            listed.push(entry.unwrap().schedule_id().to_owned());
        }
        listed.sort();
        if listed.len() == 3 {
            let mut expected = schedules::ALL.map(str::to_owned).to_vec();
            expected.sort();
            assert_eq!(listed, expected);
            break;
        }
        assert!(Instant::now() < deadline, "listed {listed:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for (id, overlap, catchup_secs) in
        [(RECONCILE, 1, 3600), (RETENTION, 1, 24 * 3600), (DAILY_REPORT, 3, 3 * 24 * 3600)]
    {
        let description = shop.client.get_schedule_handle(id).describe(Default::default()).await.unwrap();
        let policies = description.raw().schedule.as_ref().unwrap().policies.unwrap();
        assert_eq!(policies.overlap_policy, overlap, "{id}: 1 is Skip, 3 BufferAll");
        assert_eq!(policies.catchup_window.unwrap().seconds, catchup_secs, "{id}");
        assert!(!description.paused(), "{id}");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_repairs_the_rows_and_reports_what_needs_a_person() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let lost = finished(&shop).await;
        let behind = finished(&shop).await;
        // The first order's row is gone; the second's is stuck at RECEIVED; a row with no
        // workflow; a charge with no order.
        sqlx::query("DELETE FROM api_orders WHERE order_id = $1").bind(&lost).execute(shop.db()).await.unwrap();
        exec(&shop, "UPDATE api_orders SET status = 'RECEIVED', updated_at_ms = $1 WHERE order_id = $2", days_ago(0) - 60_000, &behind).await;
        let now = capstone::now_ms() - 60_000;
        sqlx::query(
            "INSERT INTO api_orders (order_id, workflow_id, customer_id, status, total_cents, request_fingerprint, created_at_ms, updated_at_ms, revision) \
             VALUES ('ord-ghost', 'order-ord-ghost', 'ada', 'CHARGING_PAYMENT', 100, '', $1, $2, 1)",
        )
        .bind(now)
        .bind(now)
        .execute(shop.db())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO payments_ledger (entry_id, idempotency_key, kind, order_id, charge_id, provider, amount_cents, created_at_ms) \
             VALUES ('e-nobody', 'k-nobody', 'charge', 'ord-nobody', 'ch-nobody', 'card', 500, $1)",
        )
        .bind(now)
        .execute(shop.db())
        .await
        .unwrap();

        schedules::ensure(&shop.client, &settings(&shop)).await.unwrap();
        shop.client.get_schedule_handle(RECONCILE).trigger(ScheduleOverlapPolicy::Skip, Default::default()).await.unwrap();
        let run = completed_runs(&shop, "ReconcileWorkflow", 1).await.remove(0);
        let report: ReconcileReport = shop
            .client
            .get_workflow_handle::<ReconcileWorkflow>(run)
            .get_result(WorkflowGetResultOptions::default())
            .await
            .unwrap();

        let found = |kind: FindingKind, order_id: &str| {
            report.findings.iter().find(|finding| finding.kind == kind && finding.order_id == order_id).cloned()
        };
        assert!(found(FindingKind::WorkflowWithoutRow, &lost).is_some_and(|f| f.repaired), "{report:#?}");
        assert!(found(FindingKind::StatusMismatch, &behind).is_some_and(|f| f.repaired), "{report:#?}");
        assert!(found(FindingKind::RowWithoutWorkflow, "ord-ghost").is_some_and(|f| !f.repaired), "{report:#?}");
        assert!(found(FindingKind::ChargeWithoutOrder, "ord-nobody").is_some_and(|f| !f.repaired), "{report:#?}");
        assert_eq!(report.findings.len(), 4, "nothing else: {report:#?}");
        // The rows are back, from the workflows themselves.
        for order_id in [&lost, &behind] {
            let status: String = sqlx::query_scalar("SELECT status FROM api_orders WHERE order_id = $1")
                .bind(order_id)
                .fetch_one(shop.db())
                .await
                .unwrap();
            assert_eq!(status, "COMPLETED", "{order_id}");
        }
        // Counted for the alert: two kinds need a person.
        let metrics = shop.http.get(format!("{}/metrics", shop.api_url())).send().await.unwrap().text().await.unwrap();
        for kind in ["row_without_workflow", "charge_without_order"] {
            let line = format!("capstone_reconcile_unresolved{{kind=\"{kind}\"}} 1");
            assert!(metrics.contains(&line), "{line} in the metrics");
        }
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_purges_old_app_rows_in_batches_and_never_the_ledger() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let old = finished(&shop).await;
        let new = finished(&shop).await;
        // Age everything of the first order by 100 days; its e-mails were delivered.
        exec(&shop, "UPDATE api_orders SET updated_at_ms = $1 WHERE order_id = $2", days_ago(100), &old).await;
        exec(&shop, "UPDATE notifications_outbox SET status = 'delivered', created_at_ms = $1 WHERE message_key LIKE $2 || ':%'", days_ago(100), &old).await;
        exec(&shop, "UPDATE shipping_shipments SET last_event_at_ms = $1 WHERE order_id = $2", days_ago(100), &old).await;
        let ledger_before = shop.ledger(&old).await;
        assert!(!ledger_before.is_empty());

        schedules::ensure(&shop.client, &settings(&shop)).await.unwrap();
        shop.client.get_schedule_handle(RETENTION).trigger(ScheduleOverlapPolicy::Skip, Default::default()).await.unwrap();
        completed_runs(&shop, "RetentionWorkflow", 1).await;

        const ROWS: &str = "SELECT COUNT(*) FROM api_orders WHERE order_id = $1";
        const EMAILS: &str = "SELECT COUNT(*) FROM notifications_outbox WHERE message_key LIKE $1 || ':%'";
        const EVENTS: &str = "SELECT COUNT(*) FROM shipping_carrier_events WHERE order_id = $1";
        for sql in [ROWS, EMAILS, EVENTS] {
            assert_eq!(shop.count(sql, &old).await, 0, "purged: {sql}");
            assert!(shop.count(sql, &new).await > 0, "the recent order keeps its rows: {sql}");
        }
        assert_eq!(shop.ledger(&old).await, ledger_before, "the ledger is never purged");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_report_reaches_the_operators_and_a_paused_schedule_still_backfills() {
    let dir = tempfile::tempdir().unwrap();
    let catcher = mail::catcher(dir.path()).await;
    let shop = TestShop::start_with(|config| config.smtp = Some(mail::relay_to(&catcher.smtp_url(), 8))).await;
    shop.with_workers(|| async {
        let completed = finished(&shop).await;
        let charged: i64 =
            shop.ledger(&completed).await.iter().filter(|(kind, _)| kind == "charge").map(|(_, cents)| cents).sum();

        schedules::ensure(&shop.client, &settings(&shop)).await.unwrap();
        let report = shop.client.get_schedule_handle(DAILY_REPORT);
        report.trigger(ScheduleOverlapPolicy::BufferAll, Default::default()).await.unwrap();
        completed_runs(&shop, "DailyReportWorkflow", 1).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mail = loop {
            let received = catcher.messages().unwrap();
            if let Some(mail) = received.into_iter().find(|mail| mail.to == "ops@capstone.local") {
                break mail;
            }
            assert!(Instant::now() < deadline, "no report e-mail");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(mail.body.contains("COMPLETED: 1"), "{}", mail.body);
        assert!(mail.body.contains(&format!("Charged: {charged} cents")), "{}", mail.body);

        // Paused: nothing runs on its own. A backfill over the last two days runs each day's
        // report all the same (BufferAll: one after the other).
        report.pause(Some("test"), Default::default()).await.unwrap();
        assert!(report.describe(Default::default()).await.unwrap().paused());
        let end = SystemTime::now();
        let start = end - Duration::from_secs(2 * 24 * 3600);
        report
            .backfill(
                [ScheduleBackfill::new(start, end).overlap_policy(ScheduleOverlapPolicy::BufferAll).build()],
                BackfillScheduleOptions::default(),
            )
            .await
            .unwrap();
        let runs = completed_runs(&shop, "DailyReportWorkflow", 3).await;
        assert_eq!(runs.len(), 3, "the trigger and two backfilled days: {runs:?}");
        assert!(report.describe(Default::default()).await.unwrap().paused(), "still paused");
    })
    .await;
    shop.stop().await;
    catcher.stop().await.unwrap();
}
