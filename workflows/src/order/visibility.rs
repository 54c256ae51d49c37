//! What the order tells Temporal's visibility store: custom search attributes to
//! find orders with a list query, and a memo with a one-line summary for people.
//!
//! Search attributes are indexed in plain text by the server (a payload codec does not
//! encrypt them), so only values that are safe to show anyone who can list workflows go
//! here: a status, an opaque customer id, a total, a region. Never a card token, an e-mail
//! address or a shipping address: those travel in payloads, which the codec encrypts.

use super::{OrderInput, OrderSnapshot, OrderStatus};
use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributeUpdate};

/// Where the order is (`AWAITING_APPROVAL`, `COMPLETED`, ...): upserted at every change.
pub const ORDER_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderStatus");
/// The customer's account id (an opaque id, never an e-mail address).
pub const CUSTOMER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomerId");
/// The order total in cents.
pub const ORDER_TOTAL: SearchAttributeKey<i64> = SearchAttributeKey::int("OrderTotal");
/// The region whose workers run the order (`shared` when it runs on the shared queues).
pub const REGION: SearchAttributeKey<String> = SearchAttributeKey::keyword("Region");

/// The memo key of the one-line summary the Web UI shows.
pub const SUMMARY_MEMO: &str = "summary";

/// The region of an order that runs on the shared queues.
pub const SHARED_REGION: &str = "shared";

/// Every custom search attribute the shop uses, as `(name, type)` for the server's
/// registration (`temporal operator search-attribute create --name N --type T`).
pub fn custom_search_attributes() -> [(&'static str, &'static str); 4] {
    [
        (ORDER_STATUS.name(), "Keyword"),
        (CUSTOMER_ID.name(), "Keyword"),
        (ORDER_TOTAL.name(), "Int"),
        (REGION.name(), "Keyword"),
    ]
}

/// The search attributes of an order in `status`. All four every time: an upsert is cheap, and
/// a workflow started without them (by a test, or `temporal workflow start`) still gets them.
pub fn search_attributes(input: &OrderInput, status: OrderStatus) -> [SearchAttributeUpdate; 4] {
    [
        ORDER_STATUS.value_set(status.as_str().to_owned()),
        CUSTOMER_ID.value_set(input.customer_id.clone()),
        ORDER_TOTAL.value_set(input.total_cents),
        REGION.value_set(region(input).to_owned()),
    ]
}

/// The region an order runs in, as recorded in its search attributes.
pub fn region(input: &OrderInput) -> &str {
    if input.settings.region.is_empty() { SHARED_REGION } else { &input.settings.region }
}

/// `3 item(s), 1234 cents by card: COMPENSATED (payment declined)`. Built from fields that
/// carry no personal data, never from the timeline's notes (they name the destination city).
/// The memo is encrypted like every payload, but the Web UI shows it to anyone who can list.
pub fn summary(input: &OrderInput, snapshot: &OrderSnapshot) -> String {
    let items: u32 = input.lines.iter().map(|line| line.qty).sum();
    let headline = format!(
        "{items} item(s), {} cents by {}: {}",
        input.total_cents,
        input.payment.provider,
        snapshot.status.as_str()
    );
    match snapshot.reason.as_deref().map(first_clause).filter(|reason| !reason.is_empty()) {
        Some(reason) => format!("{headline} ({reason})"),
        None => headline,
    }
}

/// The reason up to its first colon: "payment declined: the card was declined" -> "payment
/// declined". Reasons may quote a service's message; the summary keeps only our own words.
fn first_clause(note: &str) -> &str {
    note.split(':').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{OrderLine, OrderSettings, PaymentDetails};

    fn input() -> OrderInput {
        OrderInput {
            order_id: "o-1".into(),
            customer_id: "ada".into(),
            email: "ada@example.com".into(),
            lines: vec![OrderLine { sku: "KB-001".into(), qty: 2, unit_price_cents: 500 }],
            payment: PaymentDetails { provider: "card".into(), card_token: "tok_visa".into() },
            total_cents: 1000,
            settings: OrderSettings { region: String::new(), ..Default::default() },
            ..Default::default()
        }
    }

    /// Exactly the four registered attributes, every time. (That their values carry no
    /// personal data is checked on a real server, in tests/visibility.rs.)
    #[test]
    fn every_upsert_sets_the_four_registered_attributes() {
        let updates = search_attributes(&input(), OrderStatus::Completed);
        let names: Vec<&str> = updates.iter().map(|update| update.name()).collect();
        let registered: Vec<&str> = custom_search_attributes().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, registered);
        assert!(updates.iter().all(|update| !update.is_unset()));
    }

    #[test]
    fn the_summary_keeps_no_notes_and_only_the_first_clause_of_a_reason() {
        let input = input();
        let mut snapshot = OrderSnapshot::received(&input, 0);
        snapshot.advance(OrderStatus::Shipping, 1, "booking shipment to Berlin, DE");
        assert_eq!(summary(&input, &snapshot), "2 item(s), 1000 cents by card: SHIPPING");
        snapshot.advance(OrderStatus::Compensated, 2, "payment declined: card tok_visa refused");
        snapshot.reason = Some("payment declined: card tok_visa refused".into());
        assert_eq!(summary(&input, &snapshot), "2 item(s), 1000 cents by card: COMPENSATED (payment declined)");
    }

    #[test]
    fn every_attribute_is_registered_with_its_type() {
        let names: Vec<_> = custom_search_attributes().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["OrderStatus", "CustomerId", "OrderTotal", "Region"]);
    }
}
