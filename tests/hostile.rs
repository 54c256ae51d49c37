//! Day 10: the shop as an attacker (or an unlucky operator) sees it. Ids a client cannot
//! claim, a read model that cannot go backwards or be knocked over by its own size, decisions
//! only in the key's own name, metrics no request can inflate, limits in front of the small
//! database pool, and backend services that trust no network.

use crate::support;

use capstone::api::{api_keys::Role, limits::LimitSettings};
use capstone_workflows::batch::child_order_id;
use capstone_workflows::order::order_workflow_id;
use capstone_workflows::{
    batch::{BatchInput, BatchProgress, BatchWorkflow, OrderTemplate, RollbackPolicy},
    hello::{HelloInput, HelloWorkflow},
    order::{OrderLine, OrderSettings, OrderSnapshot, OrderStatus, OrderWorkflow, PaymentDetails, SignalPayload},
    payloads::Packed,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use support::{TestShop, client_with_key, orders};
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions, WorkflowStartOptions};

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_child_never_runs_under_an_id_that_already_exists() {
    // Someone (with access to Temporal) ran a workflow under the id a batch's first child will
    // have. The batch must not start its child there: a second run under the id would share
    // its idempotency keys (one charge for two orders).
    let shop = TestShop::start().await;
    let batch_id = "b-probe";
    let squatter =
        WorkflowStartOptions::new(shop.queues().workflows.clone(), order_workflow_id(&child_order_id(batch_id, 0)))
            .build();
    let template = OrderTemplate {
        customer_prefix: "bulk".into(),
        email: "bulk@example.com".into(),
        lines: vec![OrderLine { sku: "CB-004".into(), qty: 1, unit_price_cents: 1200 }],
        shipping_address: serde_json::from_value(orders::example()["shipping_address"].clone()).unwrap(),
        payment: PaymentDetails { provider: "card".into(), card_token: "tok_visa".into() },
        total_cents: 1200,
        settings: OrderSettings {
            activity_task_queue: shop.queues().activities.clone(),
            payments_task_queue: shop.queues().payments.clone(),
            approval: shop.config.approval.clone(),
            region: String::new(),
            delivery: shop.config.delivery.clone(),
        },
    };
    let input = BatchInput {
        batch_id: batch_id.into(),
        count: 2,
        template,
        window: 1,
        rollback: RollbackPolicy { max_failure_percent: 100, min_finished: 10 },
        children_per_run: 10,
        progress: BatchProgress::default(),
    };
    let progress = shop
        .with_workers(|| async {
            let hello_input = HelloInput {
                name: "squatter".into(),
                pause_ms: 0,
                activity_task_queue: shop.queues().activities.clone(),
            };
            let hello = shop.client.start_workflow(HelloWorkflow::run, hello_input, squatter).await;
            hello.unwrap().get_result(WorkflowGetResultOptions::default()).await.unwrap();
            let options =
                WorkflowStartOptions::new(shop.queues().workflows.clone(), format!("batch-{batch_id}")).build();
            let batch = shop.client.start_workflow(BatchWorkflow::run, Packed(input), options).await.unwrap();
            batch.get_result(WorkflowGetResultOptions::default()).await.unwrap().0
        })
        .await;
    assert_eq!(progress.by_status.get("FAILED"), Some(&1), "{progress:?}");
    assert!(progress.last_failure.as_deref().unwrap().contains("could not start"), "{progress:?}");
    assert_eq!(progress.by_status.get("COMPLETED"), Some(&1), "the other child ran");
    assert!(shop.ledger(&format!("{batch_id}-00000")).await.is_empty(), "no charge under the squatted id");
    assert_eq!(shop.ledger(&format!("{batch_id}-00001")).await.len(), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_from_two_customers_is_two_orders_and_no_probe() {
    // Order ids derive from the key *and* the customer: another customer's key never collides,
    // so a 409 can never tell a customer that someone else used a key.
    let shop = TestShop::start().await;
    let (ada, grace) = (
        client_with_key(&shop.create_key(Role::Customer, Some("ada")).await),
        client_with_key(&shop.create_key(Role::Customer, Some("grace")).await),
    );
    let post = |http: reqwest::Client, body: Value| {
        let url = format!("{}/orders", shop.api_url());
        async move {
            let response = http.post(url).header("Idempotency-Key", "checkout-1").json(&body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (first, a) = post(ada, orders::with_items("ada", &[("KB-001", 1)])).await;
    let (second, g) = post(grace, orders::with_items("grace", &[("CB-004", 5)])).await;
    assert_eq!((first, second), (StatusCode::ACCEPTED, StatusCode::ACCEPTED), "{a} {g}");
    let (a, g) = (support::accepted(&a), support::accepted(&g));
    assert_ne!(a.order_id, g.order_id);
    for accepted in [&a, &g] {
        let order_id = accepted.order_id.as_str();
        assert!(order_id.starts_with("ord-") && order_id.len() == 4 + 32, "a shop-made id: {order_id}");
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_write_never_takes_the_read_model_back() {
    let shop = TestShop::start().await;
    let accepted = shop.place(&orders::example()).await;
    let order_id = accepted.order_id.clone();
    let service = shop.service_http();
    let url = format!("{}/internal/orders/{order_id}", shop.api_url());
    let snapshot = |status: OrderStatus, revision: u64| OrderSnapshot {
        order_id: order_id.clone(),
        customer_id: "ada".into(),
        status,
        total_cents: orders::EXAMPLE_TOTAL_CENTS,
        revision,
        ..OrderSnapshot::default()
    };
    let put = |snapshot: OrderSnapshot| {
        let request = service.put(&url).json(&snapshot);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(put(snapshot(OrderStatus::Completed, 12)).await["recorded"], true);
    // The retry of an earlier write (waiting at the gate) arrives after the final one.
    let late = put(snapshot(OrderStatus::AwaitingApproval, 5)).await;
    assert_eq!((late["recorded"].clone(), late["status"].clone()), (json!(false), json!("COMPLETED")));
    let (_, order) = shop.get(&format!("/orders/{order_id}?source=read_model")).await;
    assert_eq!(support::order_view(&order).status, OrderStatus::Completed, "{order}");
    // The same write again (an activity retried after its answer was lost) is fine.
    assert_eq!(put(snapshot(OrderStatus::Completed, 12)).await["recorded"], true);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_service_key_delays_the_record_and_never_fails_the_order() {
    // The api stops accepting the workers' key (a rotation half done). Before, the 401 was a
    // final refusal and the order that had charged and shipped ended FAILED.
    let shop = TestShop::start().await;
    let (done, status_while_refused) = shop
        .with_workers(|| async {
            sqlx::query("DELETE FROM api_keys WHERE label = 'service'").execute(shop.db()).await.unwrap();
            let accepted = shop.place(&orders::example()).await;
            let order_id = accepted.order_id.clone();
            let workflow_id = accepted.workflow_id.clone();
            // The saga is done; its record is being retried.
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(workflow_id.clone());
            let deadline = tokio::time::Instant::now() + support::PATIENCE;
            loop {
                let snapshot = handle.query(OrderWorkflow::status, (), Default::default()).await.unwrap();
                if snapshot.status == OrderStatus::Completed {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "never completed: {snapshot:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (_, refused) = shop.get(&format!("/orders/{order_id}?source=read_model")).await;
            // The rotation finishes: the key is accepted again.
            capstone::api::api_keys::store(shop.db(), &shop.config.service_key, Role::Service, None, "service")
                .await
                .unwrap();
            (shop.wait_until_final(&order_id).await, support::order_view(&refused).status)
        })
        .await;
    assert_eq!(status_while_refused, OrderStatus::Received, "nothing was recorded while the key was refused");
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let workflow_id = done.workflow_id.as_str();
    assert_eq!(shop.workflow_status(workflow_id).await, Some(temporalio_client::WorkflowExecutionStatus::Completed));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_number_of_notes_makes_an_order_too_large_to_record() {
    // Every ignored signal is noted in the timeline, with its payload. Before, 300 of them made
    // the final record larger than the api's body limit: a final 413, and the order FAILED.
    let shop = TestShop::start().await;
    let done = shop
        .with_workers(|| async {
            let (_, _, accepted) = shop.post_order(&orders::large(), None).await;
            let order_id = support::accepted(&accepted).order_id;
            let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(waiting.workflow_id.clone());
            let junk = SignalPayload::Unreadable(json!("x".repeat(2_000)));
            for _ in 0..300 {
                handle.signal(OrderWorkflow::approve, junk.clone(), WorkflowSignalOptions::default()).await.unwrap();
            }
            let (status, _) = shop.get(&format!("/orders/{order_id}")).await;
            assert_eq!(status, StatusCode::OK);
            let response = shop
                .http
                .post(format!("{}/orders/{order_id}/approve", shop.api_url()))
                .json(&json!({"reason": "fine"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let timeline = done.timeline;
    assert!(timeline.len() <= 100, "bounded: {} entries", timeline.len());
    assert!(done.omitted_entries >= 200, "{}", done.omitted_entries);
    assert_eq!(timeline.last().unwrap().status, OrderStatus::Completed, "the newest entries are kept");
    shop.stop().await;
}

/// The api's HTTP request series: `/metrics` lines of `capstone_http_server_requests_total`
/// (other tests of this binary add series of their own, with real routes and methods).
async fn request_series(shop: &TestShop) -> Vec<String> {
    let text = reqwest::get(format!("{}/metrics", shop.api_url())).await.unwrap().text().await.unwrap();
    text.lines().filter(|line| line.starts_with("capstone_http_server_requests_total{")).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let shop = TestShop::start().await;
    let anonymous = reqwest::Client::new();
    // One of each, so that every series this test can create exists before counting.
    for method in ["FOO0", "GET"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        anonymous.request(method, format!("{}/orders/x", shop.api_url())).send().await.unwrap();
    }
    anonymous.get(format!("{}/nowhere/0", shop.api_url())).send().await.unwrap();
    let other = |series: &[String]| series.iter().filter(|line| line.contains("method=\"other\"")).count();
    let before = request_series(&shop).await;
    for index in 1..=40 {
        let method = Method::from_bytes(format!("FOO{index}").as_bytes()).unwrap();
        let answer = anonymous.request(method, format!("{}/orders/x", shop.api_url())).send().await.unwrap();
        assert!(answer.status().is_client_error(), "{}", answer.status());
        anonymous.get(format!("{}/nowhere/{index}", shop.api_url())).send().await.unwrap();
    }
    let after = request_series(&shop).await;
    assert!(after.iter().all(|line| !line.contains("FOO")), "a raw method became a label: {after:?}");
    assert!(after.iter().all(|line| !line.contains("nowhere")), "a raw path became a label: {after:?}");
    assert_eq!(other(&after), other(&before), "40 made-up methods and paths later: {after:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_answer_429_with_retry_after_and_count_per_key() {
    let limits = LimitSettings {
        max_in_flight: 64,
        customer_requests_per_sec: 5,
        operator_requests_per_sec: 1000,
        key_lookups_per_sec_per_address: 5,
        long_polls_per_key: 2,
        ..LimitSettings::default()
    };
    let shop = TestShop::start_with(|config| config.limits = limits).await;
    let accepted = shop.place(&orders::example()).await;
    let order_id = accepted.order_id.clone();

    // A customer key: a burst of twice its rate, then 429; another customer is not affected.
    let ada = client_with_key(&shop.create_key(Role::Customer, Some("ada")).await);
    let grace = client_with_key(&shop.create_key(Role::Customer, Some("grace")).await);
    let mut refused = 0;
    for _ in 0..30 {
        let answer = ada.get(format!("{}/orders/{order_id}?source=read_model", shop.api_url())).send().await.unwrap();
        refused += usize::from(answer.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 15, "{refused} of 30 refused");
    let other = grace.get(format!("{}/orders?source=read_model", shop.api_url())).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    // Long polls: at most two open per key (no workers run, so the order stays RECEIVED).
    let poll = format!("{}/orders/{order_id}?source=read_model&changed_from=RECEIVED&wait_secs=3", shop.api_url());
    let (a, b, c) = tokio::join!(shop.http.get(&poll).send(), shop.http.get(&poll).send(), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        shop.http.get(&poll).send().await
    });
    let statuses = [a.unwrap().status(), b.unwrap().status(), c.unwrap().status()];
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    // Last, made-up keys (they use up this address's lookups): each costs a database lookup,
    // so an address gets only a few per second.
    let mut statuses = Vec::new();
    for index in 0..30 {
        let stranger = client_with_key(&format!("cap_made_up_{index}"));
        let answer = stranger.get(format!("{}/orders", shop.api_url())).send().await.unwrap();
        statuses.push(answer.status().as_u16());
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.headers()["retry-after"], "1");
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error"], "too_many_requests", "{body}");
        }
    }
    assert!(statuses.contains(&401) && statuses.contains(&429), "{statuses:?}");

    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backend_services_refuse_every_call_without_the_service_key() {
    let shop = TestShop::start().await;
    let anonymous = reqwest::Client::new();
    let operator = shop.http.clone(); // an api key is not a service key
    let wrong = client_with_key("cap_not_the_service_key");
    let email = json!({"message_key": "x:1", "to": "eve@example.com", "subject": "hi", "body": "spam"});
    let refund =
        json!({"idempotency_key": "r", "charge_idempotency_key": "c", "order_id": "o", "reason": "free money"});
    let calls = [
        ("inventory", Method::GET, "/skus", None),
        ("inventory", Method::POST, "/stock/receipts", Some(json!({"ingestion_id": "x", "first_row": 0, "lines": []}))),
        ("payments", Method::GET, "/ledger", None),
        ("payments", Method::POST, "/refunds", Some(refund)),
        ("shipping", Method::GET, "/shipments/o", None),
        ("notifications", Method::GET, "/emails", None),
        ("notifications", Method::POST, "/emails", Some(email)),
        ("payments", Method::POST, "/admin/faults", Some(json!({"outage_secs": 60}))),
    ];
    let base = |service: &str| match service {
        "inventory" => shop.shop.inventory.url(),
        "payments" => shop.shop.payments.url(),
        "shipping" => shop.shop.shipping.url(),
        _ => shop.shop.notifications.url(),
    };
    for (service, method, path, body) in &calls {
        for (who, http) in [("no key", &anonymous), ("an api key", &operator), ("a wrong key", &wrong)] {
            let mut request = http.request(method.clone(), format!("{}{path}", base(service)));
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let body: Value = answer.json().await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{service} {method} {path} with {who}: {body}");
            assert!(body["error"].as_str().unwrap().ends_with("_service_key"), "{body}");
        }
    }
    for table in ["payments_ledger", "notifications_outbox", "inventory_stock_receipts"] {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(shop.db())
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
    // The probes and the scrape stay open; with the key, the routes answer.
    for service in ["inventory", "payments", "shipping", "notifications"] {
        for path in ["/healthz", "/metrics"] {
            let answer = anonymous.get(format!("{}{path}", base(service))).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::OK, "{service}{path}");
        }
    }
    let ledger = shop.service_http().get(format!("{}/ledger", base("payments"))).send().await.unwrap();
    assert_eq!(ledger.status(), StatusCode::OK);
    shop.stop().await;
}
