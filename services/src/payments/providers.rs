//! The simulated payment providers: each answers at its own speed and declines in its own way,
//! like the real ones would (day 10: the workflow picks one by name at run time).
//!
//! | provider  | latency | declines                                   | also                            |
//! |-----------|---------|--------------------------------------------|---------------------------------|
//! | `card`    | 50 ms   | tokens starting `tok_decline` (`card_declined`) |                            |
//! | `wallet`  | 200 ms  | tokens starting `wal_empty` (`payment_declined`) | busy (503) on the first attempt of every charge: the activity's retry takes it |
//! | `invoice` | 1.5 s   | totals above 5000.00 (`payment_declined`)  | slow enough that the charge heartbeats |

use crate::http::ApiError;
use capstone_workflows::contracts::failures::refusals;
#[cfg(test)]
use capstone_workflows::contracts::payments::ChargePurpose;
use capstone_workflows::contracts::payments::{ChargeRequest, PROVIDERS};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Card tokens with this prefix are declined, like a test card number at a real provider.
pub const DECLINED_TOKEN_PREFIX: &str = "tok_decline";
/// Wallet tokens with this prefix belong to an empty wallet.
pub const EMPTY_WALLET_PREFIX: &str = "wal_empty";
/// The most an invoice may be for.
pub const INVOICE_CREDIT_LIMIT_CENTS: i64 = 500_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Card,
    Wallet,
    Invoice,
}

impl Provider {
    pub fn named(name: &str) -> Result<Self, ApiError> {
        match name {
            "card" => Ok(Self::Card),
            "wallet" => Ok(Self::Wallet),
            "invoice" => Ok(Self::Invoice),
            other => Err(ApiError::refused(
                refusals::UNKNOWN_PROVIDER,
                format!("no payment provider {other:?} (known: {})", PROVIDERS.join(", ")),
            )),
        }
    }

    /// How long the provider takes to answer.
    pub fn latency(self) -> Duration {
        match self {
            Self::Card => Duration::from_millis(50),
            Self::Wallet => Duration::from_millis(200),
            Self::Invoice => Duration::from_millis(1500),
        }
    }

    /// The provider's refusal of this charge, if it refuses it.
    pub fn decline(self, request: &ChargeRequest) -> Option<ApiError> {
        let declined = |refusal, detail: String| Some(ApiError::refused(refusal, detail));
        match self {
            Self::Card if request.card_token.starts_with(DECLINED_TOKEN_PREFIX) => {
                declined(refusals::CARD_DECLINED, "the card was declined by the issuer".to_owned())
            }
            Self::Wallet if request.card_token.starts_with(EMPTY_WALLET_PREFIX) => {
                declined(refusals::PAYMENT_DECLINED, "the wallet has insufficient funds".to_owned())
            }
            Self::Invoice if request.amount_cents > INVOICE_CREDIT_LIMIT_CENTS => declined(
                refusals::PAYMENT_DECLINED,
                format!("invoices are limited to {} cents", INVOICE_CREDIT_LIMIT_CENTS),
            ),
            _ => None,
        }
    }
}

/// The wallet provider's habit of being busy on the first attempt of every charge. In memory:
/// a restarted payments service forgets, which a real flaky provider would not mind either.
#[derive(Debug, Clone, Default)]
pub struct BusyOnFirstAttempt {
    seen: Arc<Mutex<HashSet<String>>>,
}

impl BusyOnFirstAttempt {
    /// A 503 the first time this idempotency key is charged through `provider`.
    pub fn check(&self, provider: Provider, idempotency_key: &str) -> Result<(), ApiError> {
        if provider != Provider::Wallet {
            return Ok(());
        }
        let first = self.seen.lock().expect("the set is never poisoned").insert(idempotency_key.to_owned());
        if first {
            return Err(ApiError::unavailable("provider_busy", "the wallet provider is busy; retry the same charge"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn request(token: &str, amount_cents: i64) -> ChargeRequest {
        ChargeRequest {
            idempotency_key: "k".into(),
            order_id: "o".into(),
            amount_cents,
            provider: String::new(),
            card_token: token.into(),
            purpose: ChargePurpose::Order,
        }
    }

    #[test]
    fn each_provider_declines_in_its_own_way() {
        assert_eq!(Provider::Card.decline(&request("tok_decline_x", 1)).unwrap().error, "card_declined");
        assert!(Provider::Card.decline(&request("wal_empty", 1)).is_none());
        assert_eq!(Provider::Wallet.decline(&request("wal_empty_1", 1)).unwrap().error, "payment_declined");
        assert!(Provider::Invoice.decline(&request("any", INVOICE_CREDIT_LIMIT_CENTS)).is_none());
        assert!(Provider::Invoice.decline(&request("any", INVOICE_CREDIT_LIMIT_CENTS + 1)).is_some());
        assert_eq!(Provider::named("barter").unwrap_err().error, "unknown_provider");
    }

    #[test]
    fn the_wallet_is_busy_once_per_charge() {
        let busy = BusyOnFirstAttempt::default();
        assert_eq!(busy.check(Provider::Wallet, "a").unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(busy.check(Provider::Wallet, "a").is_ok());
        assert!(busy.check(Provider::Card, "b").is_ok());
    }
}
