//! SQL for the inventory tables. Portable across SQLite and PostgreSQL (see `db.rs`).

use crate::{
    db::Db,
    http::{ApiError, ApiResult},
    now_ms,
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::{
    StockLine,
    inventory::{
        CatalogItem, Reservation, ReservationStatus, ReserveStockRequest, StockReceiptBatch, StockReceiptResult,
    },
};
use sqlx::{AssertSqlSafe, Row};

pub enum Reserved {
    Created(Reservation),
    /// The reservation id was seen before: here is what it holds (or held).
    Existing(Reservation),
}

pub async fn catalog(db: &Db, skus: Option<&[String]>) -> sqlx::Result<Vec<CatalogItem>> {
    let rows = match skus {
        None => {
            sqlx::query("SELECT sku, name, unit_price_cents, available FROM inventory_stock ORDER BY sku")
                .fetch_all(db)
                .await?
        }
        Some([]) => Vec::new(),
        Some(skus) => {
            let placeholders: Vec<String> = (1..=skus.len()).map(|i| format!("${i}")).collect();
            // Audited: only numbered placeholders are formatted in; the SKUs are bound.
            let sql = AssertSqlSafe(format!(
                "SELECT sku, name, unit_price_cents, available FROM inventory_stock WHERE sku IN ({}) ORDER BY sku",
                placeholders.join(", ")
            ));
            let mut query = sqlx::query(sql);
            for sku in skus {
                query = query.bind(sku);
            }
            query.fetch_all(db).await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(CatalogItem {
                sku: row.try_get("sku")?,
                name: row.try_get("name")?,
                unit_price_cents: row.try_get("unit_price_cents")?,
                available: row.try_get("available")?,
            })
        })
        .collect()
}

/// Holds stock for every line or for none (one transaction).
pub async fn reserve(db: &Db, request: &ReserveStockRequest) -> ApiResult<Reserved> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    // The first statement writes, so that SQLite takes its write lock up front.
    let claimed = sqlx::query(
        "INSERT INTO inventory_reservations (reservation_id, status, created_at_ms, updated_at_ms) \
         VALUES ($1, 'reserved', $2, $3) ON CONFLICT (reservation_id) DO NOTHING",
    )
    .bind(&request.reservation_id)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        drop(tx);
        let existing = find_reservation(db, &request.reservation_id).await?;
        return existing
            .map(Reserved::Existing)
            .ok_or_else(|| ApiError::internal("reservation vanished while reading it"));
    }

    // Sorted, so that concurrent reservations lock rows in the same order (no deadlocks on PostgreSQL).
    let mut lines = request.lines.clone();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    for line in &lines {
        let qty = i64::from(line.qty);
        let taken =
            sqlx::query("UPDATE inventory_stock SET available = available - $1 WHERE sku = $2 AND available >= $3")
                .bind(qty)
                .bind(&line.sku)
                .bind(qty)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if taken == 0 {
            let available: Option<i64> = sqlx::query_scalar("SELECT available FROM inventory_stock WHERE sku = $1")
                .bind(&line.sku)
                .fetch_optional(&mut *tx)
                .await?;
            // Dropping the transaction rolls back every line reserved so far.
            return Err(match available {
                None => ApiError::refused(refusals::UNKNOWN_SKU, format!("no SKU {}", line.sku)),
                Some(available) => ApiError::refused(
                    refusals::INSUFFICIENT_STOCK,
                    format!("{}: {available} available, {} requested", line.sku, line.qty),
                ),
            });
        }
        sqlx::query("INSERT INTO inventory_reservation_lines (reservation_id, sku, qty) VALUES ($1, $2, $3)")
            .bind(&request.reservation_id)
            .bind(&line.sku)
            .bind(qty)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Reserved::Created(Reservation {
        reservation_id: request.reservation_id.clone(),
        status: ReservationStatus::Reserved,
        lines,
    }))
}

/// Gives the stock of a reservation back, once. Releasing an unknown reservation records it
/// as released (with nothing held), so a reserve arriving later cannot take stock.
pub async fn release(db: &Db, reservation_id: &str) -> ApiResult<Reservation> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let released = sqlx::query(
        "UPDATE inventory_reservations SET status = 'released', updated_at_ms = $1 \
         WHERE reservation_id = $2 AND status = 'reserved'",
    )
    .bind(now)
    .bind(reservation_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if released == 1 {
        sqlx::query(
            "UPDATE inventory_stock SET available = available + \
             (SELECT qty FROM inventory_reservation_lines l WHERE l.reservation_id = $1 AND l.sku = inventory_stock.sku) \
             WHERE sku IN (SELECT sku FROM inventory_reservation_lines WHERE reservation_id = $2)",
        )
        .bind(reservation_id)
        .bind(reservation_id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO inventory_reservations (reservation_id, status, created_at_ms, updated_at_ms) \
             VALUES ($1, 'released', $2, $3) ON CONFLICT (reservation_id) DO NOTHING",
        )
        .bind(reservation_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    find_reservation(db, reservation_id).await?.ok_or_else(|| ApiError::internal("released reservation vanished"))
}

/// Applies a batch of stock-file rows in one transaction; rows applied before are skipped.
pub async fn receive(db: &Db, batch: &StockReceiptBatch) -> ApiResult<StockReceiptResult> {
    let now = now_ms();
    let mut result = StockReceiptResult::default();
    let mut tx = db.begin().await?;
    for (offset, line) in batch.lines.iter().enumerate() {
        let qty = i64::from(line.qty);
        // A new SKU joins the catalog with no stock; an existing one keeps its stock here.
        sqlx::query(
            "INSERT INTO inventory_stock (sku, name, unit_price_cents, available) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, unit_price_cents = excluded.unit_price_cents",
        )
        .bind(&line.sku)
        .bind(&line.name)
        .bind(line.unit_price_cents)
        .execute(&mut *tx)
        .await?;
        let fresh = sqlx::query(
            "INSERT INTO inventory_stock_receipts (ingestion_id, row_number, sku, qty, applied_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ingestion_id, row_number) DO NOTHING",
        )
        .bind(&batch.ingestion_id)
        .bind((batch.first_row + offset as u64) as i64)
        .bind(&line.sku)
        .bind(qty)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 1 {
            sqlx::query("UPDATE inventory_stock SET available = available + $1 WHERE sku = $2")
                .bind(qty)
                .bind(&line.sku)
                .execute(&mut *tx)
                .await?;
            result.applied += 1;
        } else {
            result.already_applied += 1;
        }
    }
    tx.commit().await?;
    Ok(result)
}

pub async fn find_reservation(db: &Db, reservation_id: &str) -> sqlx::Result<Option<Reservation>> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM inventory_reservations WHERE reservation_id = $1")
            .bind(reservation_id)
            .fetch_optional(db)
            .await?;
    let Some(status) = status else { return Ok(None) };
    let lines = sqlx::query("SELECT sku, qty FROM inventory_reservation_lines WHERE reservation_id = $1 ORDER BY sku")
        .bind(reservation_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| {
            let qty: i64 = row.try_get("qty")?;
            Ok(StockLine { sku: row.try_get("sku")?, qty: qty as u32 })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Some(Reservation {
        reservation_id: reservation_id.to_owned(),
        status: if status == "released" { ReservationStatus::Released } else { ReservationStatus::Reserved },
        lines,
    }))
}
