//! SQL for the parcels' journeys: carrier events (each event id taken once), where each
//! parcel is, and claims (one per order).

use crate::{db::Db, http::ApiResult, now_ms};
use capstone_workflows::contracts::shipping::{CarrierEvent, CarrierEventKind, Claim};
use serde::Serialize;
use sqlx::Row;

/// A booked shipment whose parcel has not been delivered yet, as the courier view lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InTransit {
    pub order_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub country: String,
    /// `booked`, `dispatched`, `out_for_delivery`, `delivery_failed`.
    pub delivery_state: String,
    pub delivery_attempts: i64,
    pub booked_at_ms: i64,
    pub last_event_at_ms: Option<i64>,
    pub claim_id: Option<String>,
}

/// Whether the event was new, and whether its workflow still has to be told.
pub struct Received {
    pub new: bool,
    pub signalled: bool,
}

/// Stores a carrier event (once per event id) and, when it is new, moves the parcel's state.
pub async fn receive(db: &Db, event: &CarrierEvent) -> sqlx::Result<Received> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO shipping_carrier_events (event_id, order_id, kind, at_ms, detail, received_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.event_id)
    .bind(&event.order_id)
    .bind(event.kind.as_str())
    .bind(event.at_ms)
    .bind(&event.detail)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        let attempts = i64::from(event.kind == CarrierEventKind::DeliveryFailed);
        sqlx::query(
            "UPDATE shipping_shipments SET delivery_state = $1, last_event_at_ms = $2, \
             delivery_attempts = delivery_attempts + $3 WHERE order_id = $4",
        )
        .bind(event.kind.as_str())
        .bind(now)
        .bind(attempts)
        .bind(&event.order_id)
        .execute(&mut *tx)
        .await?;
    }
    let signalled: Option<i64> =
        sqlx::query_scalar("SELECT signalled_at_ms FROM shipping_carrier_events WHERE event_id = $1")
            .bind(&event.event_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Received { new: inserted == 1, signalled: signalled.is_some() })
}

/// The order id an event id was first taken for (an event id belongs to one parcel).
pub async fn order_of_event(db: &Db, event_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT order_id FROM shipping_carrier_events WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(db)
        .await
}

/// Whether the order has an event older than `event_id` that its workflow has not been told
/// yet: then this one waits its turn (the relay tells them in the order they came).
pub async fn has_earlier_unsignalled(db: &Db, order_id: &str, event_id: &str) -> sqlx::Result<bool> {
    let earlier: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM shipping_carrier_events WHERE order_id = $1 AND signalled_at_ms IS NULL \
         AND event_id <> $2 AND received_at_ms <= (SELECT received_at_ms FROM shipping_carrier_events WHERE event_id = $2)",
    )
    .bind(order_id)
    .bind(event_id)
    .fetch_one(db)
    .await?;
    Ok(earlier > 0)
}

/// Events received before `received_before_ms` and not yet passed on to their workflow,
/// oldest first.
pub async fn unsignalled(db: &Db, received_before_ms: i64, limit: i64) -> sqlx::Result<Vec<CarrierEvent>> {
    let rows = sqlx::query(
        "SELECT event_id, order_id, kind, at_ms, detail FROM shipping_carrier_events \
         WHERE signalled_at_ms IS NULL AND received_at_ms < $1 ORDER BY received_at_ms, event_id LIMIT $2",
    )
    .bind(received_before_ms)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .filter_map(|row| {
            let kind: String = row.try_get("kind").ok()?;
            Some(Ok(CarrierEvent {
                event_id: row.try_get("event_id").ok()?,
                order_id: row.try_get("order_id").ok()?,
                kind: CarrierEventKind::parse(&kind)?,
                at_ms: row.try_get("at_ms").ok()?,
                detail: row.try_get("detail").ok()?,
            }))
        })
        .collect()
}

pub async fn mark_signalled(db: &Db, event_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE shipping_carrier_events SET signalled_at_ms = $1 WHERE event_id = $2")
        .bind(now_ms())
        .bind(event_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Opens the order's claim, or returns the one it has: `(opened now, claim)`.
pub async fn open_claim(db: &Db, order_id: &str, carrier: &str, reason: &str) -> ApiResult<(bool, Claim)> {
    let claim_id = format!("CLM-{}", &uuid::Uuid::new_v4().simple().to_string()[..10].to_ascii_uppercase());
    let inserted = sqlx::query(
        "INSERT INTO shipping_claims (order_id, claim_id, carrier, reason, opened_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order_id)
    .bind(&claim_id)
    .bind(carrier)
    .bind(reason)
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    let row = sqlx::query("SELECT claim_id, carrier FROM shipping_claims WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(db)
        .await?;
    let claim =
        Claim { claim_id: row.try_get("claim_id")?, order_id: order_id.to_owned(), carrier: row.try_get("carrier")? };
    Ok((inserted == 1, claim))
}

/// Booked parcels not delivered yet, oldest first.
pub async fn in_transit(db: &Db, limit: i64) -> sqlx::Result<Vec<InTransit>> {
    let rows = sqlx::query(
        "SELECT s.order_id, s.carrier, s.tracking_number, s.country, s.delivery_state, s.delivery_attempts, \
         s.created_at_ms, s.last_event_at_ms, c.claim_id \
         FROM shipping_shipments s LEFT JOIN shipping_claims c ON c.order_id = s.order_id \
         WHERE s.status = 'booked' AND s.delivery_state <> 'delivered' ORDER BY s.created_at_ms LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InTransit {
                order_id: row.try_get("order_id")?,
                carrier: row.try_get("carrier")?,
                tracking_number: row.try_get("tracking_number")?,
                country: row.try_get("country")?,
                delivery_state: row.try_get("delivery_state")?,
                delivery_attempts: row.try_get("delivery_attempts")?,
                booked_at_ms: row.try_get("created_at_ms")?,
                last_event_at_ms: row.try_get("last_event_at_ms")?,
                claim_id: row.try_get("claim_id")?,
            })
        })
        .collect()
}

/// Deletes up to `batch` carrier events of delivered parcels whose last event came before
/// `older_than_ms`, once their workflow was told.
pub async fn purge_delivered(db: &Db, older_than_ms: i64, batch: i64) -> sqlx::Result<i64> {
    let deleted = sqlx::query(
        "DELETE FROM shipping_carrier_events WHERE event_id IN (SELECT e.event_id FROM shipping_carrier_events e \
         JOIN shipping_shipments s ON s.order_id = e.order_id \
         WHERE s.delivery_state = 'delivered' AND s.last_event_at_ms < $1 AND e.signalled_at_ms IS NOT NULL \
         ORDER BY e.received_at_ms LIMIT $2)",
    )
    .bind(older_than_ms)
    .bind(batch)
    .execute(db)
    .await?
    .rows_affected();
    Ok(deleted as i64)
}
