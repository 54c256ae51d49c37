//! Bad input at the edge: every malformed, incomplete or invalid request gets a 4xx with a JSON
//! `{error, detail}` body and changes nothing: no row in any table, no workflow on the server.

use crate::support;
use capstone::api::api_keys::Role;
use capstone_workflows::order::OrderStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{PATIENCE, TestShop, orders};
use temporalio_client::WorkflowCountOptions;
use tokio::time::Instant;

/// One bad request: what we send and what we expect back.
struct Case {
    name: &'static str,
    body: Body,
    idempotency_key: Option<&'static str>,
    /// Who sends it (the operator, unless the case is about keys).
    caller: Caller,
    status: StatusCode,
    error: &'static str,
    /// A word the `detail` must contain (it has to name the problem).
    mentions: &'static str,
}

enum Body {
    Json(Value),
    Raw(&'static str, String),
    Bytes(&'static str, Vec<u8>),
}

#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Operator,
    NoKey,
    UnknownKey,
    /// A customer key for `bob`, placing an order for `ada`.
    AnotherCustomer,
}

/// The example order with one change.
fn example_with(change: impl FnOnce(&mut Value)) -> Body {
    let mut body = orders::example();
    change(&mut body);
    Body::Json(body)
}

fn cases() -> Vec<Case> {
    let case = |name, body, status, error, mentions| Case {
        name,
        body,
        idempotency_key: None,
        caller: Caller::Operator,
        status,
        error,
        mentions,
    };
    let as_caller = |caller, name, status, error, mentions| Case {
        name,
        body: example_with(|_| {}),
        idempotency_key: None,
        caller,
        status,
        error,
        mentions,
    };
    vec![
        case(
            "truncated JSON",
            Body::Raw("application/json", r#"{"customer_id": "ada", "items": ["#.into()),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "JSON",
        ),
        case(
            "not JSON",
            Body::Raw("text/plain", "customer=ada".into()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "application/json",
        ),
        case(
            "missing items",
            example_with(|b| {
                b.as_object_mut().unwrap().remove("items");
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "items",
        ),
        case(
            "quantity of the wrong type",
            example_with(|b| b["items"][0]["qty"] = json!("two")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "qty",
        ),
        case(
            "no items",
            example_with(|b| b["items"] = json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items must not be empty",
        ),
        case(
            "zero quantity",
            example_with(|b| b["items"][0]["qty"] = json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items[0].qty",
        ),
        case(
            "negative quantity",
            example_with(|b| b["items"][1]["qty"] = json!(-3)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items[1].qty",
        ),
        case(
            "huge quantity",
            example_with(|b| b["items"][0]["qty"] = json!(1_000_000_000_000i64)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items[0].qty",
        ),
        case(
            "unknown SKU",
            example_with(|b| b["items"][0]["sku"] = json!("NOPE-404")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_sku",
            "NOPE-404",
        ),
        case(
            "lowercase SKU",
            example_with(|b| b["items"][0]["sku"] = json!("kb-001")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items[0].sku",
        ),
        case(
            "empty customer",
            example_with(|b| b["customer_id"] = json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "customer_id",
        ),
        case(
            "country is not a code",
            example_with(|b| b["shipping_address"]["country"] = json!("Germany")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "country",
        ),
        case(
            "control characters in the address",
            example_with(|b| b["shipping_address"]["city"] = json!("Ber\u{0}lin")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "city",
        ),
        case(
            "unknown payment provider",
            example_with(|b| b["payment"]["provider"] = json!("barter")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "payment.provider",
        ),
        // The shop chooses order ids: a client naming one (another customer's, a batch
        // child's, `..`) is refused, and told what makes a retry safe instead.
        case(
            "an order id chosen by the client",
            example_with(|b| b["order_id"] = json!("web-2026-0001")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "Idempotency-Key",
        ),
        case(
            "an order id that is a path segment",
            example_with(|b| b["order_id"] = json!("..")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "order_id",
        ),
        case(
            "a customer id that is a path segment",
            example_with(|b| b["customer_id"] = json!("..")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "customer_id",
        ),
        case(
            "body over the limit",
            Body::Raw("application/json", format!(r#"{{"customer_id": "{}"}}"#, "a".repeat(100 * 1024))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "bytes",
        ),
        case(
            "a quantity no integer holds",
            example_with(|b| b["items"][0]["qty"] = json!(1e30)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "qty",
        ),
        case(
            "invalid UTF-8",
            Body::Bytes("application/json", b"{\"customer_id\": \"ad\xff\xfea\"}".to_vec()),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "unicode",
        ),
        case(
            "a zero-width space in a SKU",
            example_with(|b| b["items"][0]["sku"] = json!("KB-001\u{200b}")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "items[0].sku",
        ),
        case(
            "a right-to-left override in the customer id",
            example_with(|b| b["customer_id"] = json!("ada\u{202e}nimda")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "customer_id",
        ),
        case(
            "a customer id of emoji",
            example_with(|b| b["customer_id"] = json!("🛒🛒")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "customer_id",
        ),
        case(
            "a null where an object goes",
            example_with(|b| b["shipping_address"] = Value::Null),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "shipping_address",
        ),
        Case {
            name: "idempotency key with spaces",
            body: Body::Json(orders::example()),
            idempotency_key: Some("not a key"),
            caller: Caller::Operator,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_request",
            mentions: "Idempotency-Key",
        },
        Case {
            name: "idempotency key that is a path segment",
            body: Body::Json(orders::example()),
            idempotency_key: Some(".."),
            caller: Caller::Operator,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_request",
            mentions: "Idempotency-Key",
        },
        as_caller(Caller::NoKey, "no API key", StatusCode::UNAUTHORIZED, "missing_api_key", "Authorization"),
        as_caller(Caller::UnknownKey, "an unknown API key", StatusCode::UNAUTHORIZED, "invalid_api_key", "not known"),
        as_caller(
            Caller::AnotherCustomer,
            "a customer key placing an order for another customer",
            StatusCode::FORBIDDEN,
            "forbidden",
            "ada",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_orders_get_a_clear_4xx_and_change_nothing() {
    // No workers at all: if anything were started, it would sit on the server for us to find.
    let shop = TestShop::start().await;
    let stock_before: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, available FROM inventory_stock ORDER BY sku").fetch_all(shop.db()).await.unwrap();

    let bobs_key = shop.create_key(Role::Customer, Some("bob")).await;
    for case in cases() {
        let client = match case.caller {
            Caller::Operator => shop.http.clone(),
            Caller::NoKey => reqwest::Client::new(),
            Caller::UnknownKey => support::client_with_key("cap_not_a_key_we_issued"),
            Caller::AnotherCustomer => support::client_with_key(&bobs_key),
        };
        let mut request = client.post(format!("{}/orders", shop.api_url()));
        request = match &case.body {
            Body::Json(body) => request.json(body),
            Body::Raw(content_type, text) => request.header("content-type", *content_type).body(text.clone()),
            Body::Bytes(content_type, bytes) => request.header("content-type", *content_type).body(bytes.clone()),
        };
        if let Some(key) = case.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value =
            response.json().await.unwrap_or_else(|error| panic!("{}: the error body is not JSON: {error}", case.name));
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"], case.error, "{}: {body}", case.name);
        let detail = body["detail"].as_str().unwrap_or_else(|| panic!("{}: no detail in {body}", case.name));
        assert!(detail.contains(case.mentions), "{}: the detail should name {:?}: {detail}", case.name, case.mentions);
    }

    // Nothing was written anywhere ...
    for table in
        ["api_orders", "inventory_reservations", "payments_ledger", "shipping_shipments", "notifications_outbox"]
    {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(shop.db())
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table} has rows after bad requests");
    }
    let stock_after: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, available FROM inventory_stock ORDER BY sku").fetch_all(shop.db()).await.unwrap();
    assert_eq!(stock_before, stock_after);

    // ... and nothing was started.
    assert_nothing_was_started(&shop).await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_of_what_does_not_exist_are_json_errors() {
    let shop = TestShop::start().await;
    for (path, status, error) in [
        ("/orders/ord-unknown", StatusCode::NOT_FOUND, "order_not_found"),
        ("/orders?status=LOST", StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"),
        ("/orders?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"),
        ("/no/such/route", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (actual, body) = shop.get(path).await;
        assert_eq!(actual, status, "{path}: {body}");
        assert_eq!(body["error"], error, "{path}: {body}");
    }
    shop.stop().await;
}

/// Asserts that the server has no workflow but one started now as a sentinel: visibility is
/// eventually consistent, so "nothing" is proven by "only the one we started after" (once
/// visibility lists the sentinel, it would list anything started before it too).
async fn assert_nothing_was_started(shop: &TestShop) {
    let (status, _, accepted) = shop.post_order(&orders::example(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let deadline = Instant::now() + PATIENCE;
    let count = loop {
        let count = shop.client.count_workflows("", WorkflowCountOptions::default()).await.unwrap().count();
        if count >= 1 || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(count, 1, "only the sentinel order's workflow exists");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_and_subscriptions_with_bad_numbers_get_a_422_and_start_nothing() {
    let shop = TestShop::start().await;
    let order = json!({
        "items": [{ "sku": "KB-001", "qty": 1 }],
        "shipping_address": orders::example()["shipping_address"],
        "payment": { "provider": "card", "card_token": "tok_visa" },
    });
    let batch = |change: &dyn Fn(&mut Value)| {
        let mut body = json!({ "count": 3, "window": 2, "email": "bulk@example.com", "order": order.clone() });
        change(&mut body);
        body
    };
    let subscription = |change: &dyn Fn(&mut Value)| {
        let mut body = json!({ "customer_id": "ada", "plan": "basic", "payment": { "card_token": "tok_visa" } });
        change(&mut body);
        body
    };
    for (path, body, mentions) in [
        ("/batches", batch(&|b| b["count"] = json!(0)), "count"),
        ("/batches", batch(&|b| b["count"] = json!(1_000_000)), "count"),
        ("/batches", batch(&|b| b["window"] = json!(0)), "window"),
        ("/batches", batch(&|b| b["max_failure_percent"] = json!(101)), "max_failure_percent"),
        ("/batches", batch(&|b| b["order"]["items"][0]["qty"] = json!(-5)), "items[0].qty"),
        ("/batches", batch(&|b| b["order"]["items"][0]["sku"] = json!("NOPE-404")), "NOPE-404"),
        // Every child would wait for an operator: a batch must stay under the threshold.
        ("/batches", batch(&|b| b["order"]["items"] = json!([{ "sku": "MN-003", "qty": 3 }])), "cents"),
        ("/subscriptions", subscription(&|b| b["plan"] = json!("gold")), "plan"),
        ("/subscriptions", subscription(&|b| b["trial_days"] = json!(1000)), "trial_days"),
        ("/subscriptions", subscription(&|b| b["trial_days"] = json!(-1)), "trial_days"),
        ("/subscriptions", subscription(&|b| b["payment"]["card_token"] = json!("tok visa")), "card_token"),
    ] {
        let response = shop.http.post(format!("{}{path}", shop.api_url())).json(&body).send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {status} {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(mentions), "{path}: the detail should name {mentions:?}: {answer}");
    }
    assert_nothing_was_started(&shop).await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_a_finished_order_is_refused_and_changes_nothing() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let accepted = shop.place(&orders::example()).await;
        let order = shop.wait_until_final(accepted.order_id.as_str()).await;
        assert_eq!(order.status, OrderStatus::Completed);
        let order_id = order.order_id.as_str();
        let workflow_id = order.workflow_id.as_str();
        let events_before = shop.history(workflow_id).await.len();
        let ledger_before = shop.ledger(order_id).await;
        let (_, read_model_before) = shop.get(&format!("/orders/{order_id}")).await;

        let api = shop.api_url();
        let decision = json!({ "operator": "alice", "reason": "too late" });
        let address = orders::example()["shipping_address"].clone();
        for (request, error) in [
            (shop.http.post(format!("{api}/orders/{order_id}/approve")).json(&decision), "order_finished"),
            (shop.http.post(format!("{api}/orders/{order_id}/reject")).json(&decision), "order_finished"),
            (shop.http.post(format!("{api}/orders/{order_id}/cancel")), "order_finished"),
            (shop.http.put(format!("{api}/orders/{order_id}/shipping-address")).json(&address), "order_finished"),
            (shop.http.post(format!("{api}/orders/ord-nope/approve")).json(&decision), "order_not_found"),
        ] {
            let response = request.send().await.unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["error"], error, "{status} {answer}");
            assert!(status.is_client_error(), "{status} {answer}");
        }

        assert_eq!(shop.history(workflow_id).await.len(), events_before, "no event was added to the history");
        assert_eq!(shop.ledger(order_id).await, ledger_before, "no money moved");
        let (_, read_model_after) = shop.get(&format!("/orders/{order_id}")).await;
        assert_eq!(read_model_after, read_model_before, "the read model is unchanged");
    })
    .await;
    shop.stop().await;
}
