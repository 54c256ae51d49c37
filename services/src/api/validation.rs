//! Checking a new order at the edge: everything that can be known without asking another
//! service. A request that fails here gets a 422 naming every problem, and nothing happens.

use crate::http::ApiError;
use capstone_workflows::contracts::Address;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_LINES: usize = 50;
pub const MAX_QTY: i64 = 100;
pub use capstone_workflows::contracts::payments::PROVIDERS as PAYMENT_PROVIDERS;

/// `POST /orders` body.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateOrderRequest {
    /// Refused when present: the shop chooses order ids (see `create_order.rs`). Kept as a
    /// field so that a client still sending one learns why, instead of having it ignored.
    #[serde(default)]
    pub order_id: Option<serde_json::Value>,
    pub customer_id: String,
    /// Where the confirmation goes.
    pub email: String,
    pub items: Vec<ItemRequest>,
    pub shipping_address: Address,
    pub payment: PaymentRequest,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemRequest {
    pub sku: String,
    /// Signed on purpose: `-1` gets our clear message instead of a serde type error.
    pub qty: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentRequest {
    pub provider: String,
    pub card_token: String,
}

/// A request that passed every check: SKUs merged (two lines of one SKU become one) and
/// sorted, text trimmed. Its JSON is the request's fingerprint for idempotency.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ValidOrder {
    pub customer_id: String,
    pub email: String,
    pub items: Vec<(String, u32)>,
    pub shipping_address: Address,
    pub provider: String,
    pub card_token: String,
}

pub fn validate(request: &CreateOrderRequest) -> Result<ValidOrder, ApiError> {
    let mut problems = Vec::new();
    let customer_id = request.customer_id.trim();
    if let Err(error) = validate_customer_id(customer_id) {
        problems.push(error.detail);
    }
    let email = request.email.trim();
    if !is_email(email) {
        problems.push("email must be an e-mail address such as ada@example.com".to_owned());
    }

    if request.items.is_empty() {
        problems.push("items must not be empty".to_owned());
    }
    if request.items.len() > MAX_LINES {
        problems.push(format!("at most {MAX_LINES} items per order"));
    }
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for (index, item) in request.items.iter().enumerate() {
        let sku = item.sku.trim();
        if !is_identifier(sku, 32, |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-') {
            problems.push(format!("items[{index}].sku must be 1 to 32 characters of A-Z, 0-9 or '-'"));
        }
        if !(1..=MAX_QTY).contains(&item.qty) {
            problems.push(format!("items[{index}].qty must be between 1 and {MAX_QTY}"));
        }
        let total = merged.entry(sku.to_owned()).or_default();
        *total = total.saturating_add(item.qty);
    }
    if merged.values().any(|qty| *qty > MAX_QTY) && problems.is_empty() {
        problems.push(format!("at most {MAX_QTY} of one SKU per order"));
    }

    problems.extend(address_problems("shipping_address", &request.shipping_address));

    let provider = request.payment.provider.trim();
    if !PAYMENT_PROVIDERS.contains(&provider) {
        problems.push(format!("payment.provider must be one of: {}", PAYMENT_PROVIDERS.join(", ")));
    }
    let card_token = request.payment.card_token.trim();
    if !is_identifier(card_token, 64, |c| c.is_ascii_alphanumeric() || c == '_') {
        problems.push("payment.card_token must be 1 to 64 characters of letters, digits or '_'".to_owned());
    }

    if !problems.is_empty() {
        return Err(ApiError::invalid_request(problems.join("; ")));
    }
    Ok(ValidOrder {
        customer_id: customer_id.to_owned(),
        email: email.to_owned(),
        items: merged.into_iter().map(|(sku, qty)| (sku, qty as u32)).collect(),
        shipping_address: trimmed_address(&request.shipping_address),
        provider: provider.to_owned(),
        card_token: card_token.to_owned(),
    })
}

/// What is wrong with an address, each problem naming `field.part`.
pub fn address_problems(field: &str, address: &Address) -> Vec<String> {
    let mut problems = Vec::new();
    for (part, value) in [
        ("name", &address.name),
        ("line1", &address.line1),
        ("city", &address.city),
        ("postal_code", &address.postal_code),
    ] {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 100 || value.chars().any(char::is_control) {
            problems.push(format!("{field}.{part} must be 1 to 100 printable characters"));
        }
    }
    if let Some(line2) = &address.line2
        && (line2.chars().count() > 100 || line2.chars().any(char::is_control))
    {
        problems.push(format!("{field}.line2 must be at most 100 printable characters"));
    }
    let country = address.country.trim();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        problems.push(format!("{field}.country must be a two-letter ISO code such as DE"));
    }
    problems
}

/// The address with surrounding whitespace removed (and an empty `line2` dropped).
pub fn trimmed_address(address: &Address) -> Address {
    Address {
        name: address.name.trim().to_owned(),
        line1: address.line1.trim().to_owned(),
        line2: address.line2.as_ref().map(|line| line.trim().to_owned()).filter(|line| !line.is_empty()),
        city: address.city.trim().to_owned(),
        postal_code: address.postal_code.trim().to_owned(),
        country: address.country.trim().to_owned(),
    }
}

/// An `Idempotency-Key` header, an operator's name: a safe alphabet, and never `.` or `..`
/// (anything the shop may one day put into a URL path must stay inside its segment).
pub fn validate_key(what: &str, key: &str, max_len: usize) -> Result<(), ApiError> {
    if is_identifier(key, max_len, |c| c.is_ascii_alphanumeric() || "_-.:".contains(c)) && !is_dot_segment(key) {
        Ok(())
    } else {
        Err(ApiError::invalid_request(format!(
            "{what} must be 1 to {max_len} characters of letters, digits, '_', '-', '.' or ':'"
        )))
    }
}

/// No '@': the customer id is a search attribute, visible to anyone who lists workflows, so
/// it must be an account id, never an e-mail address (that goes in `email`).
pub fn validate_customer_id(customer_id: &str) -> Result<(), ApiError> {
    if is_identifier(customer_id, 64, |c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !is_dot_segment(customer_id)
    {
        Ok(())
    } else {
        Err(ApiError::invalid_request(
            "customer_id must be 1 to 64 characters of letters, digits, '_', '.' or '-' (an account id; the e-mail address goes in `email`)",
        ))
    }
}

/// `.` and `..`: a URL parser resolves them as path segments instead of keeping them as names.
fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

fn is_identifier(value: &str, max_len: usize, allowed: impl Fn(char) -> bool) -> bool {
    !value.is_empty() && value.len() <= max_len && value.chars().all(allowed)
}

/// `local@domain.tld`, printable, at most 254 characters: enough to catch mistakes; whether
/// the mailbox exists only the notifications service can tell.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    value.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && value.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CreateOrderRequest {
        serde_json::from_value(serde_json::json!({
            "customer_id": "cust-42",
            "email": "ada@example.com",
            "items": [{"sku": "KB-001", "qty": 1}, {"sku": "MS-002", "qty": 2}, {"sku": "KB-001", "qty": 3}],
            "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "payment": {"provider": "card", "card_token": "tok_visa"}
        }))
        .unwrap()
    }

    #[test]
    fn a_good_order_is_merged_by_sku_and_sorted() {
        let order = validate(&request()).unwrap();
        assert_eq!(order.items, vec![("KB-001".to_owned(), 4), ("MS-002".to_owned(), 2)]);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut bad = request();
        bad.customer_id = " ".into();
        bad.items[1].qty = 0;
        bad.shipping_address.country = "Germany".into();
        bad.payment.provider = "bitcoin".into();
        bad.email = "ada".into();
        let error = validate(&bad).unwrap_err();
        assert_eq!(error.status.as_u16(), 422);
        for expected in ["customer_id", "email", "items[1].qty", "shipping_address.country", "payment.provider"] {
            assert!(error.detail.contains(expected), "{expected} missing from: {}", error.detail);
        }
    }

    #[test]
    fn quantities_outside_1_to_100_are_refused() {
        for qty in [-1, 0, 101, i64::MAX] {
            let mut bad = request();
            bad.items[0].qty = qty;
            assert!(validate(&bad).is_err(), "qty {qty} was accepted");
        }
        let mut too_many_of_one = request();
        too_many_of_one.items[0].qty = 99; // 99 + 3 of KB-001
        assert!(validate(&too_many_of_one).unwrap_err().detail.contains("of one SKU"));
    }

    #[test]
    fn an_email_address_cannot_be_a_customer_id() {
        let mut bad = request();
        bad.customer_id = "ada@example.com".into();
        assert!(validate(&bad).unwrap_err().detail.contains("the e-mail address goes in `email`"));
        for email in ["ada@example", "@example.com", "ada@.com", "ada @example.com", "a@b@c.de"] {
            assert!(!is_email(email), "{email} passed");
        }
        assert!(is_email("ada.lovelace+shop@example.co.uk"));
    }

    #[test]
    fn keys_allow_a_safe_alphabet_only() {
        assert!(validate_key("Idempotency-Key", "order-2026-11-26:1", 128).is_ok());
        assert!(validate_key("Idempotency-Key", "", 128).is_err());
        assert!(validate_key("Idempotency-Key", "a b", 128).is_err());
        assert!(validate_key("operator", &"x".repeat(65), 64).is_err());
        for dots in [".", ".."] {
            assert!(validate_key("Idempotency-Key", dots, 128).is_err(), "{dots}");
            assert!(validate_customer_id(dots).is_err(), "{dots}");
        }
        assert!(validate_key("Idempotency-Key", "v1.2...3", 128).is_ok());
    }
}
