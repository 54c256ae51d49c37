//! SQL for the shipments table. One row per order: `order_id` is unique, and a cancelled row
//! stays, so that the order id can never be booked again.

use crate::{
    db::Db,
    http::{ApiError, ApiResult},
    now_ms,
};
use capstone_workflows::contracts::failures::refusals;
use capstone_workflows::contracts::shipping::{
    CancelShipmentRequest, CreateShipmentRequest, Shipment, ShipmentCancellation, ShipmentStatus,
};
use sqlx::Row;

const BOOKED: &str = "booked";
const CANCELLED: &str = "cancelled";

/// The simulated carriers: which one takes a parcel depends on where it goes.
fn carrier_for(country: &str) -> &'static str {
    match country {
        "DE" | "AT" | "CH" => "DHL",
        "US" | "CA" => "UPS",
        _ => "Parcel Express",
    }
}

/// Returns `(created, shipment)`: `created` is false when the order already had one. An order
/// whose shipment was cancelled (even before any booking arrived) is refused: the saga gave
/// up on it, and a booking arriving late must not ship the goods.
pub async fn create(db: &Db, request: &CreateShipmentRequest) -> ApiResult<(bool, Shipment)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let country = request.address.country.to_ascii_uppercase();
    let carrier = carrier_for(&country);
    let tracking_number = format!("{}{}", carrier.chars().next().unwrap_or('P'), &id[..12].to_ascii_uppercase());
    let inserted = sqlx::query(
        "INSERT INTO shipping_shipments (shipment_id, order_id, carrier, tracking_number, country, address_json, lines_json, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(format!("sh_{id}"))
    .bind(&request.order_id)
    .bind(carrier)
    .bind(&tracking_number)
    .bind(&country)
    .bind(serde_json::to_string(&request.address).map_err(ApiError::internal)?)
    .bind(serde_json::to_string(&request.lines).map_err(ApiError::internal)?)
    .bind(BOOKED)
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    let shipment = find(db, &request.order_id).await?.ok_or_else(|| ApiError::internal("shipment vanished"))?;
    if shipment.status == ShipmentStatus::Cancelled {
        return Err(ApiError::refused(
            refusals::SHIPMENT_CANCELLED,
            format!("the shipment of order {} was cancelled; it will not be booked", request.order_id),
        ));
    }
    Ok((inserted == 1, shipment))
}

/// Calls the order's booking off, or claims its order id when there is none yet. Idempotent:
/// a repeat finds the cancelled row and answers the same.
pub async fn cancel(db: &Db, request: &CancelShipmentRequest) -> ApiResult<(bool, ShipmentCancellation)> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    // Written first (SQLite takes its write lock here): claims the order id if it is free.
    let claimed = sqlx::query(
        "INSERT INTO shipping_shipments (shipment_id, order_id, carrier, tracking_number, country, address_json, lines_json, status, created_at_ms, cancelled_at_ms) \
         VALUES ($1, $2, '', '', '', '{}', '[]', $3, $4, $5) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(format!("sh_{}", uuid::Uuid::new_v4().simple()))
    .bind(&request.order_id)
    .bind(CANCELLED)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let called_off = if claimed == 1 {
        0
    } else {
        sqlx::query(
            "UPDATE shipping_shipments SET status = $1, cancelled_at_ms = $2 WHERE order_id = $3 AND status = $4",
        )
        .bind(CANCELLED)
        .bind(now)
        .bind(&request.order_id)
        .bind(BOOKED)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    };
    let row = sqlx::query("SELECT shipment_id, carrier FROM shipping_shipments WHERE order_id = $1")
        .bind(&request.order_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let carrier: String = row.try_get("carrier")?;
    let cancellation = ShipmentCancellation {
        order_id: request.order_id.clone(),
        shipment_id: row.try_get("shipment_id")?,
        // A claimed order id has no carrier: nothing was ever booked.
        booked: !carrier.is_empty(),
    };
    Ok((claimed == 1 || called_off == 1, cancellation))
}

pub async fn find(db: &Db, order_id: &str) -> sqlx::Result<Option<Shipment>> {
    let row = sqlx::query(
        "SELECT shipment_id, order_id, carrier, tracking_number, status FROM shipping_shipments WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        let status: String = row.try_get("status")?;
        Ok(Shipment {
            shipment_id: row.try_get("shipment_id")?,
            order_id: row.try_get("order_id")?,
            carrier: row.try_get("carrier")?,
            tracking_number: row.try_get("tracking_number")?,
            status: if status == CANCELLED { ShipmentStatus::Cancelled } else { ShipmentStatus::Booked },
        })
    })
    .transpose()
}
