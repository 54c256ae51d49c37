//! Failure types that cross the activity boundary.
//!
//! Services answer a refused request with an HTTP 4xx and a JSON body `{error, detail}`; the
//! activity turns the snake_case `error` code into the PascalCase type of a non-retryable
//! `ApplicationFailure` (see [`failure_type_for_code`]). Workflows match on these constants to
//! decide what the order's outcome is, and retry policies list them as non-retryable.

/// Not enough stock to reserve the requested quantity.
pub const INSUFFICIENT_STOCK: &str = "InsufficientStock";
/// A SKU the inventory does not know.
pub const UNKNOWN_SKU: &str = "UnknownSku";
/// The card provider declined the charge.
pub const CARD_DECLINED: &str = "CardDeclined";
/// Another provider declined the charge (an empty wallet, an invoice above the credit limit).
pub const PAYMENT_DECLINED: &str = "PaymentDeclined";
/// Every decline: no money moved, and retrying the same charge cannot succeed.
pub const DECLINES: [&str; 2] = [CARD_DECLINED, PAYMENT_DECLINED];
/// The carrier does not deliver to this destination.
pub const DESTINATION_BLOCKED: &str = "DestinationBlocked";
/// A booking arrived after its order's shipment had been cancelled (the saga gave up on it).
pub const SHIPMENT_CANCELLED: &str = "ShipmentCancelled";
/// A charge arrived after a refund had already voided its idempotency key.
pub const CHARGE_VOIDED: &str = "ChargeVoided";
/// The payment provider named in the order does not exist.
pub const UNKNOWN_PROVIDER: &str = "UnknownProvider";
/// An idempotency key was reused for a different request.
pub const IDEMPOTENCY_KEY_REUSED: &str = "IdempotencyKeyReused";
/// The request itself was invalid: retrying the same request cannot succeed.
pub const INVALID_REQUEST: &str = "InvalidRequest";
/// The service could not be reached or answered 5xx: retrying may succeed.
pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
/// The SDK's failure type when no worker on the queue registered the activity's name.
/// Retryable by default (a worker that has it may come); only a call whose name comes from
/// data (`retry_policies::call_by_name`) treats it as final.
pub const ACTIVITY_NOT_REGISTERED: &str = "NotFoundError";

/// Failure types that no retry can fix. Listed in every retry policy as a second line of
/// defence: activities already mark them non-retryable.
pub const NON_RETRYABLE: [&str; 10] = [
    INSUFFICIENT_STOCK,
    UNKNOWN_SKU,
    CARD_DECLINED,
    PAYMENT_DECLINED,
    CHARGE_VOIDED,
    DESTINATION_BLOCKED,
    SHIPMENT_CANCELLED,
    UNKNOWN_PROVIDER,
    IDEMPOTENCY_KEY_REUSED,
    INVALID_REQUEST,
];

/// `card_declined` -> `CardDeclined`: the failure type for a service's error code.
pub fn failure_type_for_code(code: &str) -> String {
    code.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_the_declared_failure_types() {
        assert_eq!(failure_type_for_code("card_declined"), CARD_DECLINED);
        assert_eq!(failure_type_for_code("payment_declined"), PAYMENT_DECLINED);
        assert_eq!(failure_type_for_code("insufficient_stock"), INSUFFICIENT_STOCK);
        assert_eq!(failure_type_for_code("unknown_sku"), UNKNOWN_SKU);
        assert_eq!(failure_type_for_code("invalid_request"), INVALID_REQUEST);
        assert_eq!(failure_type_for_code("charge_voided"), CHARGE_VOIDED);
        assert_eq!(failure_type_for_code("destination_blocked"), DESTINATION_BLOCKED);
        assert_eq!(failure_type_for_code("shipment_cancelled"), SHIPMENT_CANCELLED);
        assert_eq!(failure_type_for_code("unknown_provider"), UNKNOWN_PROVIDER);
        assert_eq!(failure_type_for_code("idempotency_key_reused"), IDEMPOTENCY_KEY_REUSED);
        assert_eq!(failure_type_for_code("service_unavailable"), SERVICE_UNAVAILABLE);
    }
}
