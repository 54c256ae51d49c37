//! Bad input at the edge: every malformed, incomplete or invalid request gets a 4xx with a JSON
//! `{error, detail}` body and changes nothing: no row in any table, no workflow on the server.

mod support;

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
    status: StatusCode,
    error: &'static str,
    /// A word the `detail` must contain (it has to name the problem).
    mentions: &'static str,
}

enum Body {
    Json(Value),
    Raw(&'static str, String),
}

/// The example order with one change, and a known order id so that we can check the server
/// never started its workflow.
fn example_with(change: impl FnOnce(&mut Value)) -> Body {
    let mut body = orders::example();
    body["order_id"] = json!("must-not-exist");
    change(&mut body);
    Body::Json(body)
}

fn cases() -> Vec<Case> {
    let case =
        |name, body, status, error, mentions| Case { name, body, idempotency_key: None, status, error, mentions };
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
        case(
            "order id with spaces",
            example_with(|b| b["order_id"] = json!("my order")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "order_id",
        ),
        case(
            "body over the limit",
            Body::Raw("application/json", format!(r#"{{"customer_id": "{}"}}"#, "a".repeat(100 * 1024))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "bytes",
        ),
        Case {
            name: "idempotency key with spaces",
            body: Body::Json(orders::example()),
            idempotency_key: Some("not a key"),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_request",
            mentions: "Idempotency-Key",
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_orders_get_a_clear_4xx_and_change_nothing() {
    // No workers at all: if anything were started, it would sit on the server for us to find.
    let shop = TestShop::start().await;
    let stock_before: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, available FROM inventory_stock ORDER BY sku").fetch_all(shop.db()).await.unwrap();

    for case in cases() {
        let mut request = shop.http.post(format!("{}/orders", shop.api_url()));
        request = match &case.body {
            Body::Json(body) => request.json(body),
            Body::Raw(content_type, text) => request.header("content-type", *content_type).body(text.clone()),
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
    assert_eq!(shop.workflow_status("order-must-not-exist").await, None);

    // ... and nothing was started: place one good order as a sentinel; once the server's
    // visibility lists it, it would list anything started before it too.
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
