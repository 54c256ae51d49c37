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

/// A refusal that crosses from a service into a workflow, declared once: the snake_case
/// `code` the service answers with (`{error, detail}`), its HTTP status, and the failure
/// type the activity makes of it, which workflows and retry policies match on. The services
/// answer with [`refusals`] (`ApiError::refused`), never with a code written by hand, so a
/// misspelt code cannot turn a business refusal into an outage the saga compensates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub http_status: u16,
    pub failure_type: &'static str,
}

/// Every refusal a workflow branches on.
pub mod refusals {
    use super::Refusal;

    pub const INSUFFICIENT_STOCK: Refusal =
        Refusal { code: "insufficient_stock", http_status: 409, failure_type: super::INSUFFICIENT_STOCK };
    pub const UNKNOWN_SKU: Refusal =
        Refusal { code: "unknown_sku", http_status: 422, failure_type: super::UNKNOWN_SKU };
    pub const CARD_DECLINED: Refusal =
        Refusal { code: "card_declined", http_status: 402, failure_type: super::CARD_DECLINED };
    pub const PAYMENT_DECLINED: Refusal =
        Refusal { code: "payment_declined", http_status: 402, failure_type: super::PAYMENT_DECLINED };
    pub const UNKNOWN_PROVIDER: Refusal =
        Refusal { code: "unknown_provider", http_status: 422, failure_type: super::UNKNOWN_PROVIDER };
    pub const CHARGE_VOIDED: Refusal =
        Refusal { code: "charge_voided", http_status: 409, failure_type: super::CHARGE_VOIDED };
    pub const IDEMPOTENCY_KEY_REUSED: Refusal =
        Refusal { code: "idempotency_key_reused", http_status: 409, failure_type: super::IDEMPOTENCY_KEY_REUSED };
    pub const DESTINATION_BLOCKED: Refusal =
        Refusal { code: "destination_blocked", http_status: 422, failure_type: super::DESTINATION_BLOCKED };
    pub const SHIPMENT_CANCELLED: Refusal =
        Refusal { code: "shipment_cancelled", http_status: 409, failure_type: super::SHIPMENT_CANCELLED };
    pub const INVALID_REQUEST: Refusal =
        Refusal { code: "invalid_request", http_status: 422, failure_type: super::INVALID_REQUEST };

    pub const ALL: [Refusal; 10] = [
        INSUFFICIENT_STOCK,
        UNKNOWN_SKU,
        CARD_DECLINED,
        PAYMENT_DECLINED,
        UNKNOWN_PROVIDER,
        CHARGE_VOIDED,
        IDEMPOTENCY_KEY_REUSED,
        DESTINATION_BLOCKED,
        SHIPMENT_CANCELLED,
        INVALID_REQUEST,
    ];
}

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
        for refusal in refusals::ALL {
            assert_eq!(failure_type_for_code(refusal.code), refusal.failure_type, "{refusal:?}");
            assert!((400..500).contains(&refusal.http_status), "a refusal is a 4xx: {refusal:?}");
        }
        assert_eq!(failure_type_for_code("service_unavailable"), SERVICE_UNAVAILABLE);
    }

    #[test]
    fn every_non_retryable_type_is_a_declared_refusal() {
        for failure_type in NON_RETRYABLE {
            assert!(
                refusals::ALL.iter().any(|refusal| refusal.failure_type == failure_type),
                "{failure_type} is in NON_RETRYABLE but no refusal declares it"
            );
        }
    }
}
