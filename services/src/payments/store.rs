//! SQL for the ledger. Rows are only ever inserted; the unique `idempotency_key` is what makes
//! a repeated request find the first result instead of moving money again.

use crate::{
    db::Db,
    http::{ApiError, ApiResult},
    now_ms,
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::payments::{Charge, ChargeRequest, Refund, RefundRequest};
use serde::Serialize;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerEntry {
    pub entry_id: String,
    pub idempotency_key: String,
    pub kind: String,
    pub order_id: String,
    pub charge_id: Option<String>,
    pub provider: Option<String>,
    pub amount_cents: i64,
    pub created_at_ms: i64,
}

/// The columns `entry` reads (a macro so that queries stay literal SQL).
macro_rules! ledger_columns {
    () => {
        "entry_id, idempotency_key, kind, order_id, charge_id, provider, amount_cents, created_at_ms"
    };
}

fn entry(row: &AnyRow) -> sqlx::Result<LedgerEntry> {
    Ok(LedgerEntry {
        entry_id: row.try_get("entry_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        kind: row.try_get("kind")?,
        order_id: row.try_get("order_id")?,
        charge_id: row.try_get("charge_id")?,
        provider: row.try_get("provider")?,
        amount_cents: row.try_get("amount_cents")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

async fn by_key(executor: impl sqlx::AnyExecutor<'_>, key: &str) -> sqlx::Result<Option<LedgerEntry>> {
    sqlx::query(concat!("SELECT ", ledger_columns!(), " FROM payments_ledger WHERE idempotency_key = $1"))
        .bind(key)
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(entry)
        .transpose()
}

pub async fn entries(db: &Db, order_id: Option<&str>) -> sqlx::Result<Vec<LedgerEntry>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        ledger_columns!(),
        " FROM payments_ledger WHERE ($1 IS NULL OR order_id = $2) ORDER BY created_at_ms, entry_id"
    ))
    .bind(order_id)
    .bind(order_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(entry).collect()
}

/// Returns `(created, charge)`: `created` is false when the key was seen before.
pub async fn charge(db: &Db, request: &ChargeRequest) -> ApiResult<(bool, Charge)> {
    let entry_id = format!("ch_{}", uuid::Uuid::new_v4().simple());
    let inserted = sqlx::query(
        "INSERT INTO payments_ledger (entry_id, idempotency_key, kind, order_id, charge_id, provider, amount_cents, created_at_ms) \
         VALUES ($1, $2, 'charge', $3, NULL, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&entry_id)
    .bind(&request.idempotency_key)
    .bind(&request.order_id)
    .bind(&request.provider)
    .bind(request.amount_cents)
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    let existing =
        by_key(db, &request.idempotency_key).await?.ok_or_else(|| ApiError::internal("ledger entry vanished"))?;
    if inserted == 1 {
        return Ok((true, as_charge(existing)));
    }
    match existing.kind.as_str() {
        "charge" if existing.order_id == request.order_id && existing.amount_cents == request.amount_cents => {
            Ok((false, as_charge(existing)))
        }
        "void" => Err(ApiError::refused(
            refusals::CHARGE_VOIDED,
            "this charge was cancelled (refunded before it arrived); it will not be taken",
        )),
        _ => Err(ApiError::refused(
            refusals::IDEMPOTENCY_KEY_REUSED,
            "this idempotency key belongs to a different request",
        )),
    }
}

fn as_charge(entry: LedgerEntry) -> Charge {
    Charge {
        charge_id: entry.entry_id,
        order_id: entry.order_id,
        amount_cents: entry.amount_cents,
        provider: entry.provider.unwrap_or_default(),
    }
}

/// Refunds the charge made with `charge_idempotency_key`, at most once. When there is no such
/// charge, claims its key with a `void` row (amount 0) so that it can never be charged.
pub async fn refund(db: &Db, request: &RefundRequest) -> ApiResult<(bool, Refund)> {
    if let Some(previous) = by_key(db, &request.idempotency_key).await? {
        return Ok((false, as_refund(previous)));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let void_id = format!("vd_{}", uuid::Uuid::new_v4().simple());
    // Written first (SQLite takes its write lock here): claims the charge key if it is free.
    let voided = sqlx::query(
        "INSERT INTO payments_ledger (entry_id, idempotency_key, kind, order_id, charge_id, provider, amount_cents, created_at_ms) \
         VALUES ($1, $2, 'void', $3, NULL, NULL, 0, $4) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&void_id)
    .bind(&request.charge_idempotency_key)
    .bind(&request.order_id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let target = by_key(&mut *tx, &request.charge_idempotency_key)
        .await?
        .ok_or_else(|| ApiError::internal("ledger entry vanished"))?;
    if voided == 1 || target.kind == "void" {
        tx.commit().await?;
        return Ok((voided == 1, as_refund(target)));
    }
    if target.kind != "charge" {
        return Err(ApiError::refused(
            refusals::IDEMPOTENCY_KEY_REUSED,
            "charge_idempotency_key does not name a charge",
        ));
    }
    let refund_id = format!("rf_{}", uuid::Uuid::new_v4().simple());
    // ON CONFLICT without a target also covers "one refund per charge" (a unique index).
    let inserted = sqlx::query(
        "INSERT INTO payments_ledger (entry_id, idempotency_key, kind, order_id, charge_id, provider, amount_cents, created_at_ms) \
         VALUES ($1, $2, 'refund', $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&refund_id)
    .bind(&request.idempotency_key)
    .bind(&target.order_id)
    .bind(&target.entry_id)
    .bind(&target.provider)
    .bind(target.amount_cents)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let refund_row = sqlx::query(concat!(
        "SELECT ",
        ledger_columns!(),
        " FROM payments_ledger WHERE kind = 'refund' AND charge_id = $1"
    ))
    .bind(&target.entry_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((inserted == 1, as_refund(entry(&refund_row)?)))
}

fn as_refund(entry: LedgerEntry) -> Refund {
    match entry.kind.as_str() {
        "refund" => Refund { refund_id: entry.entry_id, charge_id: entry.charge_id, amount_cents: entry.amount_cents },
        _ => Refund { refund_id: entry.entry_id, charge_id: None, amount_cents: 0 },
    }
}

/// Distinct orders with a charge since `since_ms`, oldest first.
pub async fn charged_orders(db: &Db, since_ms: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT order_id FROM payments_ledger WHERE kind = 'charge' AND created_at_ms >= $1 \
         GROUP BY order_id ORDER BY MIN(created_at_ms), order_id LIMIT $2",
    )
    .bind(since_ms)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Cents charged and refunded in `[from_ms, to_ms)`.
pub async fn totals(
    db: &Db,
    from_ms: i64,
    to_ms: i64,
) -> sqlx::Result<capstone_workflows::contracts::operations::LedgerTotals> {
    let sum = |kind: &'static str| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM payments_ledger WHERE kind = $1 AND created_at_ms >= $2 AND created_at_ms < $3",
        )
        .bind(kind)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(db)
        .await
    };
    Ok(capstone_workflows::contracts::operations::LedgerTotals {
        charged_cents: sum("charge").await?,
        refunded_cents: sum("refund").await?,
    })
}
