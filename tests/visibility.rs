//! Day 10: finding orders through Temporal's visibility store (custom search attributes and
//! a memo, upserted by the workflow), and payment providers chosen by name at run time.

use crate::support;

use capstone::api::api_keys::Role;
use capstone_workflows::order::order_workflow_id;
use capstone_workflows::{
    contracts::Address,
    order::{
        ApprovalPolicy, OrderInput, OrderLine, OrderSettings, OrderStatus, OrderWorkflow, PaymentDetails,
        visibility::{CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL, REGION},
    },
};
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{future::Future, time::Duration};
use support::{TestShop, client_with_key, history::activity_runs, orders};
use temporalio_client::{WorkflowDescribeOptions, WorkflowGetResultOptions, WorkflowStartOptions};
use tokio::time::Instant;

/// Visibility is eventually consistent: ask again until `accept` likes the answer.
async fn eventually<F, Fut>(what: &str, mut ask: F, accept: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Value>,
{
    let deadline = Instant::now() + support::PATIENCE;
    loop {
        let answer = ask().await;
        if accept(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{what}: never got there; last answer {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn order_ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list["orders"].as_array().unwrap().iter().map(|order| order["order_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

async fn place(shop: &TestShop, body: Value) -> String {
    let (status, _, accepted) = shop.post_order(&body, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let order_id = support::accepted(&accepted).order_id;
    shop.wait_until_final(&order_id).await;
    order_id
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_found_by_status_customer_and_total_through_visibility() {
    let shop = TestShop::start().await;
    // ada: 14700 cents; grace: 5 mice, 14500 cents; linus: declined card.
    let (ada, grace, linus) = shop
        .with_workers(|| async {
            let ada = place(&shop, orders::example()).await;
            let grace = place(&shop, orders::with_items("grace", &[("MS-002", 5)])).await;
            let mut declined = orders::with_items("linus", &[("CB-004", 1)]);
            declined["payment"]["card_token"] = json!("tok_decline_1");
            let linus = place(&shop, declined).await;
            (ada, grace, linus)
        })
        .await;

    let completed = eventually(
        "both completed orders listed",
        || async { shop.get("/orders?status=COMPLETED").await.1 },
        |list| list["orders"].as_array().is_some_and(|orders| orders.len() == 2),
    )
    .await;
    assert_eq!(completed["source"], "visibility");
    assert_eq!(completed["query"], "WorkflowType = 'OrderWorkflow' AND OrderStatus = 'COMPLETED'");
    let mut expected = vec![ada.clone(), grace.clone()];
    expected.sort();
    assert_eq!(order_ids(&completed), expected);
    let first = &completed["orders"][0];
    assert_eq!(first["region"], "shared");
    assert_eq!(first["execution_status"], "Completed");
    let summary = first["summary"].as_str().expect("the memo's summary");
    assert!(summary.contains("COMPLETED") && !summary.contains('@'), "{summary}");

    // Each filter narrows the query; all are answered by the visibility store.
    let by_customer = shop.get("/orders?customer=grace").await.1;
    assert_eq!(order_ids(&by_customer), [grace.as_str()], "{by_customer}");
    let by_total = shop.get("/orders?status=COMPLETED&min_total=14600").await.1;
    assert_eq!(order_ids(&by_total), [ada.as_str()], "{by_total}");
    let compensated = eventually(
        "the declined order listed",
        || async { shop.get("/orders?status=COMPENSATED").await.1 },
        |list| list["orders"].as_array().is_some_and(|orders| orders.len() == 1),
    )
    .await;
    assert_eq!(order_ids(&compensated), [linus.as_str()]);
    let (_, count) = shop.get("/orders/count?status=COMPLETED&min_total=1").await;
    assert_eq!(count["count"], 2, "{count}");

    // The read model answers the same filter from our own table.
    let from_table = shop.get("/orders?status=COMPLETED&source=read_model").await.1;
    assert_eq!(from_table["source"], "read_model");
    assert_eq!(order_ids(&from_table), expected);

    // On the server: the four attributes, and no e-mail address, card token or street in
    // anything visibility keeps (search attributes and memo).
    let description = shop
        .client
        .get_workflow_handle::<OrderWorkflow>(order_workflow_id(&ada))
        .describe(WorkflowDescribeOptions::default())
        .await
        .unwrap();
    let attributes = description.search_attributes();
    assert_eq!(attributes.get(&ORDER_STATUS).as_deref(), Some("COMPLETED"));
    assert_eq!(attributes.get(&CUSTOMER_ID).as_deref(), Some("ada"));
    assert_eq!(attributes.get(&ORDER_TOTAL), Some(orders::EXAMPLE_TOTAL_CENTS));
    assert_eq!(attributes.get(&REGION).as_deref(), Some("shared"));
    let info = description.raw().workflow_execution_info.clone().unwrap();
    let visible: Vec<u8> = [info.search_attributes.map(|a| a.encode_to_vec()), info.memo.map(|m| m.encode_to_vec())]
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    for secret in ["ada@example.com", "tok_visa", "12 Analytical Street"] {
        assert!(!contains(&visible, secret.as_bytes()), "{secret} is visible to anyone who lists workflows");
    }

    // A customer key lists its own orders only.
    let ada_key = shop.create_key(Role::Customer, Some("ada")).await;
    let as_ada = client_with_key(&ada_key);
    let own: Value = as_ada.get(format!("{}/orders", shop.api_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(order_ids(&own), [ada.as_str()], "{own}");
    let response = as_ada.get(format!("{}/orders?customer=grace", shop.api_url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    shop.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn paid_with(provider: &str, token: &str, items: &[(&str, i64)]) -> Value {
    let mut body = orders::with_items("ada", items);
    body["payment"] = json!({ "provider": provider, "card_token": token });
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn each_provider_is_called_by_its_own_activity_name() {
    // No approvals in the way of the large invoice.
    let shop = TestShop::start_with(|config| config.approval.threshold_cents = 10_000_000).await;
    let (wallet, invoice, too_much, empty) = shop
        .with_workers(|| async {
            let wallet = place(&shop, paid_with("wallet", "wal_ada", &[("CB-004", 1)])).await;
            let invoice = place(&shop, paid_with("invoice", "inv_ada", &[("CB-004", 2)])).await;
            // 15 monitors: 523500 cents, above the invoice provider's 500000 credit limit.
            let too_much = place(&shop, paid_with("invoice", "inv_ada", &[("MN-003", 15)])).await;
            let empty = place(&shop, paid_with("wallet", "wal_empty_ada", &[("CB-004", 1)])).await;
            (wallet, invoice, too_much, empty)
        })
        .await;

    for (order_id, status, provider) in [
        (&wallet, OrderStatus::Completed, "wallet"),
        (&invoice, OrderStatus::Completed, "invoice"),
        (&too_much, OrderStatus::Compensated, "invoice"),
        (&empty, OrderStatus::Compensated, "wallet"),
    ] {
        let order = shop.order(order_id).await;
        assert_eq!(order.status, status, "{order:?}");
        let runs = activity_runs(&shop.history(&order_workflow_id(order_id)).await);
        let charges: Vec<_> = runs.iter().filter(|run| run.name.ends_with(".charge")).collect();
        assert_eq!(charges.len(), 1, "{runs:?}");
        assert_eq!(charges[0].name, format!("payments.{provider}.charge"));
        if status == OrderStatus::Completed {
            assert_eq!(shop.ledger(order_id).await.len(), 1, "charged once");
        } else {
            assert!(order.reason.as_deref().unwrap().contains("payment declined"), "{order:?}");
            assert!(shop.ledger(order_id).await.is_empty(), "a declined charge leaves no ledger row");
        }
    }
    // The wallet answers "busy" to the first attempt of every charge: the activity's retry
    // policy takes it, and the idempotency key keeps it to one charge.
    let runs = activity_runs(&shop.history(&order_workflow_id(&wallet)).await);
    let charge = runs.iter().find(|run| run.name == "payments.wallet.charge").unwrap();
    assert_eq!((charge.attempt, charge.outcome), (2, "completed"), "{charge:?}");
    let provider: String = sqlx::query_scalar("SELECT provider FROM payments_ledger WHERE order_id = $1")
        .bind(&invoice)
        .fetch_one(shop.db())
        .await
        .unwrap();
    assert_eq!(provider, "invoice");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_provider_fails_fast_and_compensates() {
    let shop = TestShop::start().await;
    // The api refuses unknown providers (422, nothing started) ...
    let (status, _, refused) = shop.post_order(&paid_with("barter", "goats", &[("CB-004", 1)]), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("provider"), "{refused}");
    assert_eq!(shop.count("SELECT COUNT(*) FROM api_orders WHERE customer_id = $1", "ada").await, 0);

    // ... so start the workflow directly, as another client could.
    let cables = shop.stock("CB-004").await;
    let queues = shop.queues().clone();
    let input = OrderInput {
        order_id: "barter-1".into(),
        customer_id: "ada".into(),
        email: "ada@example.com".into(),
        lines: vec![OrderLine { sku: "CB-004".into(), qty: 1, unit_price_cents: 1200 }],
        shipping_address: Address {
            name: "Ada".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
        },
        payment: PaymentDetails { provider: "barter".into(), card_token: "goats".into() },
        total_cents: 1200,
        settings: OrderSettings {
            activity_task_queue: queues.activities.clone(),
            payments_task_queue: queues.payments.clone(),
            approval: ApprovalPolicy { threshold_cents: 100_000, timeout_secs: 60, operators: vec!["alice".into()] },
            region: String::new(),
            delivery: None,
        },
        request_fingerprint: String::new(),
    };
    let started = Instant::now();
    let snapshot = shop
        .with_workers(|| async {
            let options = WorkflowStartOptions::new(queues.workflows.clone(), "order-barter-1").build();
            let handle = shop.client.start_workflow(OrderWorkflow::run, input, options).await.unwrap();
            handle.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Compensated);
    assert!(snapshot.reason.as_deref().unwrap_or_default().contains("provider unknown"), "{snapshot:?}");
    // Fast: one attempt, no retries with backoff.
    let runs = activity_runs(&shop.history("order-barter-1").await);
    let charge = runs.iter().find(|run| run.name == "payments.barter.charge").expect("the call by name");
    assert_eq!(charge.attempt, 1, "{charge:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(shop.stock("CB-004").await, cables, "the reservation was released");
    assert!(shop.ledger("barter-1").await.is_empty(), "nothing was charged");
    shop.stop().await;
}
