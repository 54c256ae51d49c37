//! What a load run sends: which kind of order each one is, and its body.

use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The load generator's own products, stocked at the start of a run so that no order is
/// rejected for want of stock (and the seeded catalog is left alone).
pub const STANDARD_SKU: &str = "LOAD-STD";
pub const LARGE_SKU: &str = "LOAD-BIG";
pub const STANDARD_PRICE_CENTS: i64 = 500;
/// Above the default approval threshold (1000.00), so a large order waits for an operator.
pub const LARGE_PRICE_CENTS: i64 = 150_000;

/// How one order is meant to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// Completes.
    Standard,
    /// Waits for an operator; the load generator approves it, as an operator would.
    Large,
    /// The card is declined: the saga releases the stock (`COMPENSATED`).
    Declined,
    /// Ships to a country no carrier serves: charged, then refunded (`COMPENSATED`).
    ShippingFails,
    /// Cancelled right after it is accepted (`CANCELLED`, or `COMPLETED` if it was too late).
    Cancelled,
}

/// Percentages of each kind; the rest are standard orders.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Mix {
    pub large: u32,
    pub declined: u32,
    pub shipping_fails: u32,
    pub cancelled: u32,
}

impl Mix {
    pub fn validate(&self) -> anyhow::Result<()> {
        let total = self.large + self.declined + self.shipping_fails + self.cancelled;
        anyhow::ensure!(
            total <= 100,
            "the mix adds up to {total}%: large + declined + shipping-fails + cancelled must be at most 100"
        );
        Ok(())
    }

    /// The kind of order number `index`. Deterministic, and spread evenly: every block of 100
    /// orders has exactly the mix's percentages (37 is coprime with 100, so `index * 37 % 100`
    /// visits every slot once per block, in a scattered order).
    pub fn kind_of(&self, index: u64) -> OrderKind {
        let slot = (index * 37 % 100) as u32;
        let mut bound = self.large;
        if slot < bound {
            return OrderKind::Large;
        }
        bound += self.declined;
        if slot < bound {
            return OrderKind::Declined;
        }
        bound += self.shipping_fails;
        if slot < bound {
            return OrderKind::ShippingFails;
        }
        bound += self.cancelled;
        if slot < bound {
            return OrderKind::Cancelled;
        }
        OrderKind::Standard
    }
}

/// When a run stops placing orders.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Count(u64),
    After(Duration),
}

/// How orders are placed: at a fixed rate, or as fast as `n` clients each following one
/// order to its end.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    PerSecond(f64),
    Concurrency(usize),
}

/// The `POST /orders` body of order `index` of `kind`.
pub fn order_body(index: u64, kind: OrderKind) -> Value {
    let (sku, country, card_token) = match kind {
        OrderKind::Large => (LARGE_SKU, "DE", "tok_visa"),
        OrderKind::Declined => (STANDARD_SKU, "DE", "tok_decline_load"),
        OrderKind::ShippingFails => (STANDARD_SKU, "AQ", "tok_visa"),
        OrderKind::Standard | OrderKind::Cancelled => (STANDARD_SKU, "DE", "tok_visa"),
    };
    json!({
        "customer_id": format!("load-{}", index % 50),
        "email": "load@example.com",
        "items": [{ "sku": sku, "qty": 1 }],
        "shipping_address": { "name": "Load Test", "line1": "1 Loop Road", "city": "Berlin", "postal_code": "10115", "country": country },
        "payment": { "provider": "card", "card_token": card_token },
    })
}

/// The idempotency key of order `index` in run `run_id`: a retried POST is the same order.
pub fn idempotency_key(run_id: &str, index: u64) -> String {
    format!("load-{run_id}-{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_of_a_hundred_has_the_mix() {
        let mix = Mix { large: 10, declined: 5, shipping_fails: 5, cancelled: 3 };
        let mut counts = std::collections::BTreeMap::new();
        for index in 200..300 {
            *counts.entry(mix.kind_of(index)).or_insert(0) += 1;
        }
        assert_eq!(counts[&OrderKind::Large], 10);
        assert_eq!(counts[&OrderKind::Declined], 5);
        assert_eq!(counts[&OrderKind::ShippingFails], 5);
        assert_eq!(counts[&OrderKind::Cancelled], 3);
        assert_eq!(counts[&OrderKind::Standard], 77);
    }

    #[test]
    fn a_mix_over_a_hundred_percent_is_refused() {
        assert!(Mix { large: 60, declined: 50, ..Mix::default() }.validate().is_err());
    }
}
