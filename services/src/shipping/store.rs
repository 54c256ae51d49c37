//! SQL for the shipments table. One shipment per order: `order_id` is unique.

use crate::{
    db::Db,
    http::{ApiError, ApiResult},
    now_ms,
};
use capstone_workflows::contracts::shipping::{CreateShipmentRequest, Shipment};
use sqlx::Row;

/// The simulated carriers: which one takes a parcel depends on where it goes.
fn carrier_for(country: &str) -> &'static str {
    match country {
        "DE" | "AT" | "CH" => "DHL",
        "US" | "CA" => "UPS",
        _ => "Parcel Express",
    }
}

/// Returns `(created, shipment)`: `created` is false when the order already had one.
pub async fn create(db: &Db, request: &CreateShipmentRequest) -> ApiResult<(bool, Shipment)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let country = request.address.country.to_ascii_uppercase();
    let carrier = carrier_for(&country);
    let tracking_number = format!("{}{}", carrier.chars().next().unwrap_or('P'), &id[..12].to_ascii_uppercase());
    let inserted = sqlx::query(
        "INSERT INTO shipping_shipments (shipment_id, order_id, carrier, tracking_number, country, address_json, lines_json, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', $8) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(format!("sh_{id}"))
    .bind(&request.order_id)
    .bind(carrier)
    .bind(&tracking_number)
    .bind(&country)
    .bind(serde_json::to_string(&request.address).map_err(ApiError::internal)?)
    .bind(serde_json::to_string(&request.lines).map_err(ApiError::internal)?)
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    let shipment = find(db, &request.order_id).await?.ok_or_else(|| ApiError::internal("shipment vanished"))?;
    Ok((inserted == 1, shipment))
}

pub async fn find(db: &Db, order_id: &str) -> sqlx::Result<Option<Shipment>> {
    let row = sqlx::query(
        "SELECT shipment_id, order_id, carrier, tracking_number FROM shipping_shipments WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(Shipment {
            shipment_id: row.try_get("shipment_id")?,
            order_id: row.try_get("order_id")?,
            carrier: row.try_get("carrier")?,
            tracking_number: row.try_get("tracking_number")?,
        })
    })
    .transpose()
}
