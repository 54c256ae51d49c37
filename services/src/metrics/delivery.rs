//! The parcels' journeys, counted by the shipping service where each fact becomes true once: a
//! carrier event taken (or a redelivery recognised), a parcel delivered, a claim opened.

use prometheus::{IntCounterVec, register_int_counter_vec};
use std::sync::LazyLock;

static CARRIER_EVENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_carrier_events_total",
        "Carrier events received by the webhook, by kind, `taken` or `duplicate` (a redelivery of an event id already taken).",
        &["kind", "outcome"]
    )
    .expect("a valid metric")
});

static DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!("capstone_deliveries_total", "Parcels delivered, by carrier.", &["carrier"])
        .expect("a valid metric")
});

static CLAIMS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "capstone_delivery_claims_total",
        "Claims opened with a carrier because a parcel missed its delivery deadline, by carrier.",
        &["carrier"]
    )
    .expect("a valid metric")
});

pub fn carrier_event(kind: &str, taken: bool) {
    CARRIER_EVENTS.with_label_values(&[kind, if taken { "taken" } else { "duplicate" }]).inc();
}

pub fn delivered(carrier: &str) {
    DELIVERIES.with_label_values(&[carrier]).inc();
}

pub fn claim_opened(carrier: &str) {
    CLAIMS.with_label_values(&[carrier]).inc();
}
