//! Property tests for the order validator: whatever arrives, it never panics; it accepts
//! exactly the orders the rules allow; and what it accepts is normalized the same way.

use super::validation::{
    CreateOrderRequest, ItemRequest, MAX_LINES, MAX_QTY, PAYMENT_PROVIDERS, PaymentRequest, validate,
};
use capstone_workflows::contracts::Address;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn good_address() -> impl Strategy<Value = Address> {
    (
        "[A-Za-z][A-Za-z .'-]{0,40}",
        "[0-9]{1,4} [A-Za-z ]{1,30}",
        "[A-Za-z][A-Za-z -]{0,30}",
        "[0-9A-Z]{3,8}",
        "[A-Z]{2}",
    )
        .prop_map(|(name, line1, city, postal_code, country)| Address {
            name,
            line1,
            line2: None,
            city,
            postal_code,
            country,
        })
}

fn good_items() -> impl Strategy<Value = Vec<ItemRequest>> {
    // Few SKUs, so that lines of the same SKU (merged by the validator) happen often.
    prop::collection::vec(("(KB|MS|MN)-00[1-3]", 1..=10i64), 1..=8)
        .prop_map(|lines| lines.into_iter().map(|(sku, qty)| ItemRequest { sku, qty }).collect())
}

fn good_order() -> impl Strategy<Value = CreateOrderRequest> {
    (
        "[a-z][a-z0-9_.-]{0,20}",
        good_items(),
        good_address(),
        prop::sample::select(PAYMENT_PROVIDERS.to_vec()),
        "tok_[a-z0-9]{1,20}",
    )
        .prop_map(|(customer_id, items, shipping_address, provider, card_token)| CreateOrderRequest {
            order_id: None,
            email: format!("{customer_id}@example.com"),
            customer_id,
            items,
            shipping_address,
            payment: PaymentRequest { provider: provider.to_owned(), card_token },
        })
}

proptest! {
    #[test]
    fn a_valid_order_is_accepted_with_its_lines_merged_and_sorted(order in good_order()) {
        let valid = validate(&order).expect("a good order passes");
        let mut expected: BTreeMap<String, u32> = BTreeMap::new();
        for item in &order.items {
            *expected.entry(item.sku.clone()).or_default() += item.qty as u32;
        }
        let expected: Vec<(String, u32)> = expected.into_iter().collect();
        prop_assert_eq!(valid.items, expected);
        prop_assert_eq!(valid.customer_id, order.customer_id);
    }

    #[test]
    fn a_quantity_outside_the_range_is_refused_and_named(order in good_order(), line in 0usize..8, qty in prop_oneof![i64::MIN..=0, (MAX_QTY + 1)..=i64::MAX]) {
        let mut order = order;
        let line = line % order.items.len();
        order.items[line].qty = qty;
        let error = validate(&order).expect_err("a bad quantity is refused");
        prop_assert_eq!(error.status.as_u16(), 422);
        let named = format!("items[{line}].qty");
        prop_assert!(error.detail.contains(&named), "{}", error.detail);
    }

    #[test]
    fn too_many_lines_are_refused(order in good_order(), extra in 1usize..20) {
        let mut order = order;
        while order.items.len() < MAX_LINES + extra {
            order.items.push(ItemRequest { sku: "KB-001".into(), qty: 1 });
        }
        prop_assert!(validate(&order).is_err());
    }

    #[test]
    fn any_text_anywhere_gets_an_answer_and_never_a_panic(
        order in good_order(),
        text in any::<String>(),
        field in 0usize..7,
    ) {
        let mut order = order;
        match field {
            0 => order.customer_id = text.clone(),
            1 => order.email = text.clone(),
            2 => order.items[0].sku = text.clone(),
            3 => order.shipping_address.city = text.clone(),
            4 => order.shipping_address.country = text.clone(),
            5 => order.payment.provider = text.clone(),
            _ => order.payment.card_token = text.clone(),
        }
        // Either outcome is fine; a refusal must be a 422 that says something.
        if let Err(error) = validate(&order) {
            prop_assert_eq!(error.status.as_u16(), 422);
            prop_assert!(!error.detail.is_empty());
        }
    }

    /// Inside the text: at either end, whitespace controls (tab, newline) are trimmed away.
    #[test]
    fn a_control_character_inside_the_address_is_refused(
        order in good_order(),
        before in "[A-Za-z]{1,10}",
        after in "[A-Za-z]{1,10}",
        control in prop::char::range('\u{0}', '\u{1f}'),
    ) {
        let mut order = order;
        order.shipping_address.city = format!("{before}{control}{after}");
        let error = validate(&order).expect_err("a control character is refused");
        prop_assert!(error.detail.contains("shipping_address.city"), "{}", error.detail);
    }
}
