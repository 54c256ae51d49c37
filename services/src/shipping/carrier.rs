//! The carrier simulator: stands in for the carriers' side of the webhook, in `dev`,
//! compose, kind and the tests. Every booked parcel moves a step each `CARRIER_STEP`: picked
//! up, out for delivery, delivered; some first attempts fail (`CARRIER_FAILURE_PERCENT`) and
//! some parcels are ten times slower (`CARRIER_LATE_PERCENT`, the ones that miss their
//! deadline). Each step is a real `POST /carrier/events` to this shipping service, with an
//! event id derived from the parcel's state, so a step whose answer was lost is sent again
//! under the same id. What the simulator knows lives in the shipments table: a restarted
//! service picks every parcel up where it was.

use super::journey_store::{self, InTransit};
use crate::{db::Db, now_ms};
use capstone_workflows::contracts::shipping::{CarrierEvent, CarrierEventKind};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct CarrierSettings {
    /// Between two events of one parcel.
    pub step: Duration,
    /// Percent of parcels whose first delivery attempt fails (the carrier tries again).
    pub failure_percent: u32,
    /// Percent of parcels that take ten times as long between events.
    pub late_percent: u32,
    /// Presented to the webhook, like any caller of a backend service.
    pub service_key: String,
}

/// Runs the simulator against the webhook at `shipping_url` until `shutdown`.
pub fn spawn(db: Db, shipping_url: String, settings: CarrierSettings, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let webhook = format!("{}/carrier/events", shipping_url.trim_end_matches('/'));
        let tick = (settings.step / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        tracing::info!(step = ?settings.step, failure_percent = settings.failure_percent, late_percent = settings.late_percent, "carrier simulator started");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = shutdown.cancelled() => return,
            }
            let parcels = match journey_store::in_transit(&db, 500).await {
                Ok(parcels) => parcels,
                Err(error) => {
                    tracing::warn!("carrier simulator: the shipments are not readable: {error}");
                    continue;
                }
            };
            let now = now_ms();
            for parcel in parcels.iter().filter(|parcel| due(parcel, &settings, now)) {
                let Some(kind) = next_step(parcel, &settings) else { continue };
                let event = CarrierEvent {
                    // The parcel's state names the event: a resend after a lost answer is the
                    // same event, and a second attempt after a failure is a new one.
                    event_id: format!("carrier-{}-{}-{}", parcel.order_id, kind.as_str(), parcel.delivery_attempts),
                    order_id: parcel.order_id.clone(),
                    kind,
                    at_ms: now,
                    detail: (kind == CarrierEventKind::DeliveryFailed).then(|| "nobody at home".to_owned()),
                };
                let sent = http.post(&webhook).bearer_auth(&settings.service_key).json(&event).send().await;
                match sent {
                    Ok(response) if response.status().is_success() => {}
                    // A cancelled shipment (the order gave up) has no journey.
                    Ok(response) if response.status().as_u16() == 409 => {}
                    Ok(response) => {
                        tracing::debug!(order_id = %parcel.order_id, "carrier event refused: {}", response.status())
                    }
                    Err(error) => tracing::debug!(order_id = %parcel.order_id, "carrier event not delivered: {error}"),
                }
            }
        }
    });
}

fn due(parcel: &InTransit, settings: &CarrierSettings, now: i64) -> bool {
    let since = parcel.last_event_at_ms.unwrap_or(parcel.booked_at_ms);
    let slow = if percent_of(&parcel.order_id, "late") < settings.late_percent { 10 } else { 1 };
    now - since >= settings.step.as_millis() as i64 * slow
}

fn next_step(parcel: &InTransit, settings: &CarrierSettings) -> Option<CarrierEventKind> {
    match parcel.delivery_state.as_str() {
        "booked" => Some(CarrierEventKind::Dispatched),
        "dispatched" | "delivery_failed" => Some(CarrierEventKind::OutForDelivery),
        "out_for_delivery" => {
            let fails =
                parcel.delivery_attempts == 0 && percent_of(&parcel.order_id, "fail") < settings.failure_percent;
            Some(if fails { CarrierEventKind::DeliveryFailed } else { CarrierEventKind::Delivered })
        }
        _ => None,
    }
}

/// A stable number in 0..100 for an order (FNV-1a): the same parcel always has the same luck.
fn percent_of(order_id: &str, salt: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in salt.bytes().chain(order_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 100) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel(state: &str, attempts: i64) -> InTransit {
        InTransit {
            order_id: "ord-1".into(),
            carrier: "DHL".into(),
            tracking_number: "D1".into(),
            country: "DE".into(),
            delivery_state: state.into(),
            delivery_attempts: attempts,
            booked_at_ms: 0,
            last_event_at_ms: None,
            claim_id: None,
        }
    }

    #[test]
    fn a_parcel_goes_from_booked_to_delivered_one_step_at_a_time() {
        let settings = CarrierSettings {
            step: Duration::from_secs(1),
            failure_percent: 0,
            late_percent: 0,
            service_key: String::new(),
        };
        assert_eq!(next_step(&parcel("booked", 0), &settings), Some(CarrierEventKind::Dispatched));
        assert_eq!(next_step(&parcel("dispatched", 0), &settings), Some(CarrierEventKind::OutForDelivery));
        assert_eq!(next_step(&parcel("out_for_delivery", 0), &settings), Some(CarrierEventKind::Delivered));
        assert_eq!(next_step(&parcel("delivered", 0), &settings), None);
        assert!(!due(&parcel("booked", 0), &settings, 999));
        assert!(due(&parcel("booked", 0), &settings, 1000));
    }

    #[test]
    fn a_failed_attempt_is_tried_again_once() {
        let always = CarrierSettings {
            step: Duration::from_secs(1),
            failure_percent: 100,
            late_percent: 100,
            service_key: String::new(),
        };
        assert_eq!(next_step(&parcel("out_for_delivery", 0), &always), Some(CarrierEventKind::DeliveryFailed));
        assert_eq!(next_step(&parcel("delivery_failed", 1), &always), Some(CarrierEventKind::OutForDelivery));
        assert_eq!(next_step(&parcel("out_for_delivery", 1), &always), Some(CarrierEventKind::Delivered));
        assert!(!due(&parcel("booked", 0), &always, 9_999), "a late parcel takes ten steps");
        assert!(due(&parcel("booked", 0), &always, 10_000));
    }
}
