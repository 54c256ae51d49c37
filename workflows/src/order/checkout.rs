//! The checkout update: `POST /orders` starts the order and asks it, in one round trip
//! (update-with-start), whether the stock is there. The update does not reserve anything
//! itself: it waits until the saga's own reservation step has an outcome and reports it, so
//! the order's story is the same whichever way it was started.

use super::{OrderSnapshot, OrderStatus};
use serde::{Deserialize, Serialize};

/// The update's argument: what the client asked for, as a fingerprint of its request.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckoutRequest {
    /// The api's hash of the validated request. An update carrying another hash than the
    /// order's own is a reused `Idempotency-Key` and is refused before it is written.
    pub request_fingerprint: String,
}

/// What the checkout learned: the stock is held (the order goes on), or it is not.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckoutAnswer {
    pub order_id: String,
    /// Where the order is now: past the reservation (`CHARGING_PAYMENT`, `AWAITING_APPROVAL`,
    /// or further), or ended (`REJECTED` when the stock was not there).
    pub status: OrderStatus,
    /// The held reservation, when the stock was reserved.
    pub reservation_id: Option<String>,
    /// The inventory's refusal (`MS-002: 3 available, 5 requested`) when it was not.
    pub out_of_stock: Option<String>,
    pub reason: Option<String>,
}

/// The refusal a validator answers when an update's fingerprint is not the order's.
pub const IDEMPOTENCY_KEY_REUSED: &str = crate::contracts::failures::refusals::IDEMPOTENCY_KEY_REUSED.code;

/// Whether the reservation step has an outcome the checkout can report.
pub fn settled(snapshot: &OrderSnapshot, out_of_stock: &Option<String>) -> bool {
    snapshot.reservation_id.is_some()
        || out_of_stock.is_some()
        || snapshot.status.is_terminal()
        || snapshot.status == OrderStatus::Compensating
}

pub fn answer(snapshot: &OrderSnapshot, out_of_stock: &Option<String>) -> CheckoutAnswer {
    CheckoutAnswer {
        order_id: snapshot.order_id.clone(),
        status: snapshot.status,
        reservation_id: snapshot.reservation_id.clone(),
        out_of_stock: out_of_stock.clone(),
        reason: snapshot.reason.clone(),
    }
}

/// `None` when `request` may check this order out: its fingerprint is the order's, or the
/// order predates fingerprints in its input.
pub fn refusal(order_fingerprint: &str, request: &CheckoutRequest) -> Option<String> {
    (!order_fingerprint.is_empty() && order_fingerprint != request.request_fingerprint).then(|| {
        format!(
            "{IDEMPOTENCY_KEY_REUSED}: this order was placed with a different request under the same Idempotency-Key"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_request_checks_an_order_out() {
        let same = CheckoutRequest { request_fingerprint: "abc".into() };
        let other = CheckoutRequest { request_fingerprint: "xyz".into() };
        assert_eq!(refusal("abc", &same), None);
        assert!(refusal("abc", &other).unwrap().starts_with(IDEMPOTENCY_KEY_REUSED));
        assert_eq!(refusal("", &other), None, "an order without a fingerprint takes any");
    }

    #[test]
    fn the_checkout_waits_for_the_reservation_or_the_end() {
        let mut snapshot = OrderSnapshot { status: OrderStatus::ReservingStock, ..Default::default() };
        assert!(!settled(&snapshot, &None));
        assert!(settled(&snapshot, &Some("MS-002: 0 available, 1 requested".into())));
        snapshot.reservation_id = Some("ord-1".into());
        assert!(settled(&snapshot, &None));
        let cancelled = OrderSnapshot { status: OrderStatus::Cancelled, ..Default::default() };
        assert!(settled(&cancelled, &None));
    }
}
