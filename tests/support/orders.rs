//! Order bodies for tests, built from the same example the README's curl command sends.

use serde_json::{Value, json};

/// `docs/examples/order.json`: KB-001 x1 (89.00) and MS-002 x2 (29.00 each) = 14700 cents.
pub fn example() -> Value {
    serde_json::from_str(include_str!("../../docs/examples/order.json")).expect("the example order is JSON")
}

pub const EXAMPLE_TOTAL_CENTS: i64 = 8900 + 2 * 2900;

/// The example order for another customer and items.
pub fn with_items(customer_id: &str, items: &[(&str, i64)]) -> Value {
    let mut order = example();
    order["customer_id"] = json!(customer_id);
    order["items"] = items.iter().map(|(sku, qty)| json!({ "sku": sku, "qty": qty })).collect();
    order
}

/// Three monitors: 104700 cents, above the default approval threshold of 100000.
pub fn large() -> Value {
    with_items("ada", &[("MN-003", 3)])
}

pub const LARGE_TOTAL_CENTS: i64 = 3 * 34900;
