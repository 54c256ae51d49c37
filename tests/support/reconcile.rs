//! The shop's promise, checked where each part of it lives: after any run, every order is
//! final, and the read model, Temporal, the ledger, the stock, the shipments and the e-mails
//! agree about it. Used by the fault suite (faults.rs) and the randomized suite
//! (saga_random.rs). Each check returns the violations it found instead of panicking at the
//! first, so that a failing run reports everything that went wrong.

use capstone::db::Db;
use capstone_workflows::order::order_workflow_id;
use capstone_workflows::order::{OrderStatus, visibility::ORDER_STATUS};
use std::collections::BTreeMap;
use temporalio_client::{Client, WorkflowCountOptions, WorkflowDescribeOptions, WorkflowExecutionStatus};
use tokio::time::{Duration, Instant};

/// What the client knows about one order it placed.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub order_id: String,
    /// `(sku, qty)`: what a completed order took from the stock.
    pub lines: Vec<(String, i64)>,
    pub total_cents: i64,
    /// The final status the client was told, when it followed the order to its end.
    pub seen_status: Option<String>,
}

async fn scalar(db: &Db, sql: &'static str, value: &str) -> i64 {
    sqlx::query_scalar(sql).bind(value).fetch_one(db).await.expect("the check's query runs")
}

pub async fn stock(db: &Db) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT sku, available FROM inventory_stock")
        .fetch_all(db)
        .await
        .expect("the stock is readable")
        .into_iter()
        .collect()
}

/// Every order's money, stock, parcel, e-mail and workflow; the ledger in total; the stock of
/// `skus` (used by these orders only) against `initial_stock`.
pub async fn orders(
    db: &Db,
    client: &Client,
    facts: &[OrderFacts],
    initial_stock: &BTreeMap<String, i64>,
    skus: &[&str],
) -> Vec<String> {
    let mut violations = Vec::new();
    let mut taken_by_completed: BTreeMap<String, i64> = BTreeMap::new();
    let (mut kept, mut completed_totals) = (0i64, 0i64);
    for order in facts {
        let order_id = order.order_id.as_str();
        let mut fail = |problem: String| violations.push(format!("{order_id}: {problem}"));
        let row: Option<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT status, total_cents, snapshot_json FROM api_orders WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(db)
                .await
                .expect("the read model is readable");
        let Some((status, total, snapshot)) = row else {
            fail("no read-model row".into());
            continue;
        };
        if !OrderStatus::parse(&status).is_some_and(OrderStatus::is_terminal) {
            fail(format!("not final in the read model: {status}"));
        }
        if total != order.total_cents {
            fail(format!("total {total}, the client was told {}", order.total_cents));
        }
        if let Some(seen) = &order.seen_status
            && *seen != status
        {
            fail(format!("the client saw {seen}, the read model says {status}"));
        }
        let completed = status == "COMPLETED";

        // Money: at most one charge; a completed order keeps it, any other gave it back.
        let charges =
            scalar(db, "SELECT COUNT(*) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'", order_id).await;
        let charged = scalar(
            db,
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'",
            order_id,
        )
        .await;
        let refunded = scalar(
            db,
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payments_ledger WHERE order_id = $1 AND kind = 'refund'",
            order_id,
        )
        .await;
        if charges > 1 {
            fail(format!("charged {charges} times"));
        }
        let should_keep = if completed { total } else { 0 };
        if charged - refunded != should_keep {
            fail(format!("{status}: charged {charged}, refunded {refunded}, should keep {should_keep}"));
        }
        kept += charged - refunded;

        // One e-mail, whatever the end: the confirmation, or the notice named by the status.
        let emails =
            scalar(db, "SELECT COUNT(*) FROM notifications_outbox WHERE message_key LIKE $1 || ':%'", order_id).await;
        let kind = if completed { "confirmation".to_owned() } else { status.to_lowercase() };
        let keyed = scalar(
            db,
            "SELECT COUNT(*) FROM notifications_outbox WHERE message_key = $1",
            &format!("{order_id}:{kind}"),
        )
        .await;
        if (emails, keyed) != (1, 1) {
            fail(format!("{status}: {emails} e-mail(s), {keyed} of them the {kind}"));
        }

        // A booked parcel and held stock for a completed order, and neither for the others.
        let booked =
            scalar(db, "SELECT COUNT(*) FROM shipping_shipments WHERE order_id = $1 AND status = 'booked'", order_id)
                .await;
        let held = scalar(
            db,
            "SELECT COUNT(*) FROM inventory_reservations WHERE reservation_id = $1 AND status = 'reserved'",
            order_id,
        )
        .await;
        let expected = if completed { (1, 1) } else { (0, 0) };
        if (booked, held) != expected {
            fail(format!("{status}: {booked} booked parcel(s), {held} held reservation(s), expected {expected:?}"));
        }
        if completed {
            completed_totals += total;
            for (sku, qty) in &order.lines {
                *taken_by_completed.entry(sku.clone()).or_default() += qty;
            }
            // The parcel went where the order says it goes (an address change reached it).
            let city = snapshot
                .as_deref()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
                .and_then(|snapshot| snapshot["shipping_address"]["city"].as_str().map(str::to_owned));
            let shipped: Option<String> = sqlx::query_scalar(
                "SELECT address_json FROM shipping_shipments WHERE order_id = $1 AND status = 'booked'",
            )
            .bind(order_id)
            .fetch_optional(db)
            .await
            .expect("shipments are readable");
            if let (Some(city), Some(shipped)) = (&city, &shipped)
                && !shipped.contains(city.as_str())
            {
                fail(format!("shipped to {shipped}, but the order's address is in {city}"));
            }
        }

        // Temporal agrees: the workflow is closed, its OrderStatus search attribute is the row's.
        let handle = client.get_workflow_handle::<temporalio_common::UntypedWorkflow>(order_workflow_id(order_id));
        match handle.describe(WorkflowDescribeOptions::default()).await {
            Ok(description) => {
                if description.status() == WorkflowExecutionStatus::Running {
                    fail("its workflow still runs".into());
                }
                let attribute = description.search_attributes().get(&ORDER_STATUS);
                if attribute.as_deref() != Some(status.as_str()) {
                    fail(format!("the workflow's OrderStatus is {attribute:?}, the read model's {status}"));
                }
            }
            Err(error) => fail(format!("no workflow: {error}")),
        }
    }
    if kept != completed_totals {
        violations.push(format!("the ledger keeps {kept} cents, the completed orders total {completed_totals}"));
    }
    let now = stock(db).await;
    for sku in skus {
        let taken = initial_stock.get(*sku).copied().unwrap_or_default() - now.get(*sku).copied().unwrap_or_default();
        let expected = taken_by_completed.get(*sku).copied().unwrap_or_default();
        if taken != expected {
            violations.push(format!("stock of {sku}: {taken} taken, the completed orders took {expected}"));
        }
    }
    violations
}

/// Visibility counts the same final statuses as the whole read model, and no order workflow
/// still runs. Visibility is eventually consistent: asked until it settles, for `patience`.
pub async fn visibility_matches_read_model(db: &Db, client: &Client, patience: Duration) -> Vec<String> {
    let read_model: BTreeMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM api_orders GROUP BY status")
            .fetch_all(db)
            .await
            .expect("the read model is readable")
            .into_iter()
            .collect();
    let deadline = Instant::now() + patience;
    loop {
        let mut visible = BTreeMap::new();
        for status in OrderStatus::ALL.into_iter().map(OrderStatus::as_str) {
            let query = format!("WorkflowType = 'OrderWorkflow' AND OrderStatus = '{status}'");
            let count = client.count_workflows(query, WorkflowCountOptions::default()).await.map(|c| c.count());
            match count {
                Ok(0) => {}
                Ok(count) => {
                    visible.insert(status.to_owned(), count as i64);
                }
                Err(error) => return vec![format!("visibility cannot be asked: {error}")],
            }
        }
        let running = client
            .count_workflows("WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'", Default::default())
            .await
            .map(|count| count.count())
            .unwrap_or(usize::MAX);
        if visible == read_model && running == 0 {
            return Vec::new();
        }
        if Instant::now() > deadline {
            return vec![format!(
                "visibility {visible:?} ({running} running) never matched the read model {read_model:?}"
            )];
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
