//! SQL for the order read model (`api_orders`).

use super::order_list::OrderFilter;
use crate::{db::Db, now_ms};
use capstone_workflows::order::{OrderSnapshot, OrderStatus};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub order_id: String,
    pub workflow_id: String,
    pub customer_id: String,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub request_fingerprint: String,
    pub snapshot: Option<OrderSnapshot>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The columns `order_row` reads (a macro so that queries stay literal SQL).
macro_rules! order_columns {
    () => {
        "order_id, workflow_id, customer_id, status, total_cents, request_fingerprint, snapshot_json, created_at_ms, updated_at_ms"
    };
}

fn order_row(row: &AnyRow) -> sqlx::Result<OrderRow> {
    let status: String = row.try_get("status")?;
    let snapshot: Option<String> = row.try_get("snapshot_json")?;
    Ok(OrderRow {
        order_id: row.try_get("order_id")?,
        workflow_id: row.try_get("workflow_id")?,
        customer_id: row.try_get("customer_id")?,
        status: OrderStatus::parse(&status).unwrap_or_default(),
        total_cents: row.try_get("total_cents")?,
        request_fingerprint: row.try_get("request_fingerprint")?,
        snapshot: snapshot.and_then(|json| serde_json::from_str(&json).ok()),
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

/// A new order, as accepted by `POST /orders`.
pub struct NewOrder<'a> {
    pub order_id: &'a str,
    pub workflow_id: &'a str,
    pub customer_id: &'a str,
    pub total_cents: i64,
    pub request_fingerprint: &'a str,
    pub snapshot: &'a OrderSnapshot,
}

/// Inserts the order as the api accepted it, after its workflow has started. The workflow may
/// have recorded it first (its own writes are newer and stay); then only the request's
/// fingerprint, which the workflow does not know, is filled in.
pub async fn insert_accepted(db: &Db, order: &NewOrder<'_>) -> sqlx::Result<()> {
    let now = now_ms();
    let snapshot = serde_json::to_string(order.snapshot).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query(
        "INSERT INTO api_orders (order_id, workflow_id, customer_id, status, total_cents, request_fingerprint, snapshot_json, created_at_ms, updated_at_ms, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (order_id) DO UPDATE SET request_fingerprint = excluded.request_fingerprint \
         WHERE api_orders.request_fingerprint = ''",
    )
    .bind(order.order_id)
    .bind(order.workflow_id)
    .bind(order.customer_id)
    .bind(order.snapshot.status.as_str())
    .bind(order.total_cents)
    .bind(order.request_fingerprint)
    .bind(snapshot)
    .bind(now)
    .bind(now)
    .bind(order.snapshot.revision as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes the workflow's view of the order (the workflow calls this through an activity),
/// unless the row already holds a later revision: the read model only moves forward, so a
/// late retry of an earlier write (`AWAITING_APPROVAL` after `COMPLETED`) changes nothing.
/// Returns whether the row was written.
pub async fn record(db: &Db, snapshot: &OrderSnapshot) -> sqlx::Result<bool> {
    let now = now_ms();
    let json = serde_json::to_string(snapshot).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let written = sqlx::query(
        "INSERT INTO api_orders (order_id, workflow_id, customer_id, status, total_cents, request_fingerprint, snapshot_json, created_at_ms, updated_at_ms, revision) \
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9) \
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, snapshot_json = excluded.snapshot_json, \
         updated_at_ms = excluded.updated_at_ms, revision = excluded.revision \
         WHERE api_orders.revision <= excluded.revision",
    )
    .bind(&snapshot.order_id)
    .bind(capstone_workflows::order::order_workflow_id(&snapshot.order_id))
    .bind(&snapshot.customer_id)
    .bind(snapshot.status.as_str())
    .bind(snapshot.total_cents)
    .bind(json)
    .bind(now)
    .bind(now)
    .bind(snapshot.revision as i64)
    .execute(db)
    .await?
    .rows_affected();
    Ok(written == 1)
}

pub async fn find(db: &Db, order_id: &str) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query(concat!("SELECT ", order_columns!(), " FROM api_orders WHERE order_id = $1"))
        .bind(order_id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(order_row)
        .transpose()
}

/// Newest first.
pub async fn list(db: &Db, filter: &OrderFilter, limit: i64) -> sqlx::Result<Vec<OrderRow>> {
    // Filters are bound as parameters; a NULL parameter disables its filter.
    let sql = concat!(
        "SELECT ",
        order_columns!(),
        " FROM api_orders WHERE ($1 IS NULL OR customer_id = $2) AND ($3 IS NULL OR status = $4) \
         AND ($5 IS NULL OR total_cents >= $6) ORDER BY created_at_ms DESC, order_id LIMIT $7"
    );
    let customer_id = filter.customer_id.as_deref();
    let status = filter.status.map(OrderStatus::as_str);
    sqlx::query(sql)
        .bind(customer_id)
        .bind(customer_id)
        .bind(status)
        .bind(status)
        .bind(filter.min_total)
        .bind(filter.min_total)
        .bind(limit)
        .fetch_all(db)
        .await?
        .iter()
        .map(order_row)
        .collect()
}

/// The final statuses as an SQL list, from `OrderStatus::TERMINAL`: `('COMPLETED', ...)`.
/// Built from our own constants, never from input: the queries that use it are safe to
/// assemble (`AssertSqlSafe`).
fn final_statuses() -> String {
    let quoted: Vec<String> = OrderStatus::TERMINAL.iter().map(|status| format!("'{}'", status.as_str())).collect();
    format!("({})", quoted.join(", "))
}

/// Rows created in `[since, settled)` that are not final and have not changed since `settled`:
/// what reconcile checks against the workflows.
pub async fn open_and_settled(db: &Db, since: i64, settled: i64, limit: i64) -> sqlx::Result<Vec<OrderRow>> {
    let sql = format!(
        "SELECT {} FROM api_orders WHERE status NOT IN {} \
         AND created_at_ms >= $1 AND updated_at_ms < $2 ORDER BY created_at_ms, order_id LIMIT $3",
        order_columns!(),
        final_statuses()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(since)
        .bind(settled)
        .bind(limit)
        .fetch_all(db)
        .await?
        .iter()
        .map(order_row)
        .collect()
}

/// Deletes up to `batch` rows of finished orders last changed before `older_than_ms`.
pub async fn purge_finished(db: &Db, older_than_ms: i64, batch: i64) -> sqlx::Result<i64> {
    let sql = format!(
        "DELETE FROM api_orders WHERE order_id IN (SELECT order_id FROM api_orders WHERE status IN {} \
         AND updated_at_ms < $1 ORDER BY updated_at_ms LIMIT $2)",
        final_statuses()
    );
    let deleted =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(older_than_ms).bind(batch).execute(db).await?.rows_affected();
    Ok(deleted as i64)
}

/// Orders created in `[from_ms, to_ms)`, counted by their status now.
pub async fn count_by_status(
    db: &Db,
    from_ms: i64,
    to_ms: i64,
) -> sqlx::Result<std::collections::BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM api_orders WHERE created_at_ms >= $1 AND created_at_ms < $2 GROUP BY status",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}
