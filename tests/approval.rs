//! Days 5 and 6: signals, queries, updates and timers in the approval gate. Orders above the
//! threshold wait for an operator: a decision by update (the api) or by signal (`temporal
//! workflow signal`), or the deadline of a durable timer. A cancellation during the wait
//! compensates and must not look like a timeout. The shipping address can change until
//! shipping starts.

use crate::support;
use capstone::api::api_keys::Role;
use capstone::api::views::ReadSource;
use capstone_workflows::order::{ApprovalState, OperatorDecision, OrderStatus, OrderWorkflow, SignalPayload};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestShop, history, orders};
use temporalio_client::{WorkflowExecutionStatus, WorkflowSignalOptions};

async fn place_large_order(shop: &TestShop) -> String {
    let (status, _, accepted) = shop.post_order(&orders::large(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    support::accepted(&accepted).order_id
}

/// `POST` as the test's operator, alice.
async fn post(shop: &TestShop, path: &str, body: Value) -> (StatusCode, Value) {
    post_with(shop, &shop.http, path, body).await
}

async fn post_with(shop: &TestShop, http: &reqwest::Client, path: &str, body: Value) -> (StatusCode, Value) {
    let response = http.post(format!("{}{path}", shop.api_url())).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A client with an operator key of its own, in `name`'s name.
async fn operator(shop: &TestShop, name: &str) -> reqwest::Client {
    support::client_with_key(&shop.create_key(Role::Operator, Some(name)).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_order_waits_for_an_operator_and_completes_once_approved() {
    let shop = TestShop::start().await;
    let monitors = shop.stock("MN-003").await;
    let (waiting, approved, done) = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            // Operators find it in the read model: the workflow records the wait.
            let deadline = tokio::time::Instant::now() + support::PATIENCE;
            loop {
                let (_, list) = shop.get("/orders?status=AWAITING_APPROVAL&source=read_model").await;
                if list["orders"].as_array().unwrap().iter().any(|o| o["order_id"] == order_id.as_str()) {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "never listed as waiting: {list}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let (status, approved) = post(
                &shop,
                &format!("/orders/{order_id}/approve"),
                json!({"operator": "alice", "reason": "known customer"}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{approved}");
            // A retried approval (same operator, same decision) gets the same answer.
            let (again, _) = post(&shop, &format!("/orders/{order_id}/approve"), json!({"operator": "alice"})).await;
            assert_eq!(again, StatusCode::OK);
            (waiting, approved, shop.wait_until_final(&order_id).await)
        })
        .await;

    // The query answered while the order waited: live state, with the deadline.
    assert_eq!(waiting.source, ReadSource::Workflow);
    assert_eq!(waiting.approval.as_ref().unwrap().state, ApprovalState::Pending);
    assert!(!waiting.approval.as_ref().unwrap().deadline.is_empty(), "{waiting:?}");
    assert_eq!(shop.stock("MN-003").await, monitors - 3, "stock is held while the order waits");
    let approval = support::order_view(&approved).approval.unwrap();
    assert_eq!(approval.state, ApprovalState::Approved);
    assert_eq!(approval.operator.as_deref(), Some("alice"));
    assert_eq!(approval.via.as_deref(), Some("update"));

    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    let order_id = done.order_id.as_str();
    assert_eq!(shop.ledger(order_id).await, [("charge".to_owned(), orders::LARGE_TOTAL_CENTS)]);
    let names = history::activity_names(&shop.history(done.workflow_id.as_str()).await);
    assert_eq!(
        names[..3],
        ["inventory.reserve_stock", "orders.record_order", "payments.card.charge"],
        "reserve, record the wait (for operators' lists), wait, then charge"
    );
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_signal_does_the_same_as_the_update() {
    let shop = TestShop::start().await;
    let done = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            // What `temporal workflow signal --name approve` sends.
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(waiting.workflow_id.clone());
            let decision = OperatorDecision { operator: "bob".into(), reason: "ok".into() };
            handle.signal(OrderWorkflow::approve, decision.into(), WorkflowSignalOptions::default()).await.unwrap();
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(done.approval.as_ref().unwrap().via.as_deref(), Some("signal"));
    assert_eq!(done.approval.as_ref().unwrap().operator.as_deref(), Some("bob"));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_decision_leaves_the_history_unchanged_and_a_rejection_releases_the_stock() {
    let shop = TestShop::start().await;
    let monitors = shop.stock("MN-003").await;
    let done = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            let workflow_id = waiting.workflow_id.clone();
            // Quiet once the deadline timer is started: nothing happens until a message comes.
            let events_before = shop.wait_for_event(&workflow_id, "TimerStarted").await;

            // Mallory has an operator key, but is not one of the order's operators.
            let mallory = operator(&shop, "mallory").await;
            let (status, refused) =
                post_with(&shop, &mallory, &format!("/orders/{order_id}/approve"), json!({"reason": "trust me"})).await;
            assert_eq!(status, StatusCode::CONFLICT, "{refused}");
            assert_eq!(refused["error"], "update_refused");
            assert!(refused["detail"].as_str().unwrap().contains("not an operator"), "{refused}");
            assert_eq!(shop.history(&workflow_id).await.len(), events_before, "a validator's refusal writes no event");

            // A signal cannot be refused: it lands in history, and the workflow ignores it.
            let handle = shop.client.get_workflow_handle::<OrderWorkflow>(workflow_id.clone());
            let decision = OperatorDecision { operator: "mallory".into(), reason: "trust me".into() };
            handle.signal(OrderWorkflow::approve, decision.into(), WorkflowSignalOptions::default()).await.unwrap();
            let noted = shop
                .wait_for_order(&order_id, "the ignored signal in its timeline", |order| {
                    order.timeline.iter().any(|entry| entry.note.contains("ignored approval by \"mallory\""))
                })
                .await;
            assert_eq!(noted.status, OrderStatus::AwaitingApproval);

            // A signal whose payload is not {operator, reason} at all (what `temporal workflow
            // signal --input '"alice"'` sends) is noted and ignored, and the order is not stuck.
            let unreadable = SignalPayload::Unreadable(json!("alice"));
            handle.signal(OrderWorkflow::approve, unreadable, WorkflowSignalOptions::default()).await.unwrap();
            shop.wait_for_order(&order_id, "the unreadable signal in its timeline", |order| {
                order
                    .timeline
                    .iter()
                    .any(|entry| entry.note.contains("ignored a `approve` signal whose payload is not"))
            })
            .await;

            let bob = operator(&shop, "bob").await;
            let (status, rejected) = post_with(
                &shop,
                &bob,
                &format!("/orders/{order_id}/reject"),
                json!({"operator": "bob", "reason": "address looks fake"}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{rejected}");
            let (status, late) =
                post(&shop, &format!("/orders/{order_id}/approve"), json!({"operator": "alice"})).await;
            assert_eq!(status, StatusCode::CONFLICT, "{late}");
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Rejected, "{done:?}");
    assert_eq!(done.reason.as_deref(), Some("rejected by bob: address looks fake"));
    assert_eq!(shop.stock("MN-003").await, monitors, "the reservation was released");
    assert!(shop.ledger(done.order_id.as_str()).await.is_empty(), "nothing was charged");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_decides_in_the_name_of_the_key_and_no_other() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let order_id = place_large_order(&shop).await;
        let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
        let workflow_id = waiting.workflow_id.clone();
        let events_before = shop.wait_for_event(&workflow_id, "TimerStarted").await;

        // Alice's key, naming bob in the body: refused before the workflow hears of it.
        let (status, refused) =
            post(&shop, &format!("/orders/{order_id}/approve"), json!({"operator": "bob", "reason": "as bob"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(refused["error"], "forbidden");
        assert!(refused["detail"].as_str().unwrap().contains("\"alice\""), "{refused}");
        assert_eq!(shop.history(&workflow_id).await.len(), events_before, "nothing reached the workflow");

        // An operator key without a name may not decide at all.
        let nameless = support::client_with_key(&shop.create_key(Role::Operator, None).await);
        let (status, refused) =
            post_with(&shop, &nameless, &format!("/orders/{order_id}/approve"), json!({"reason": "?"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert!(refused["detail"].as_str().unwrap().contains("--operator NAME"), "{refused}");

        // Bob's own key decides as bob, whatever the body leaves out.
        let bob = operator(&shop, "bob").await;
        let (status, approved) =
            post_with(&shop, &bob, &format!("/orders/{order_id}/approve"), json!({"reason": "ok"})).await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        let approval = support::order_view(&approved).approval.unwrap();
        assert_eq!(approval.operator.as_deref(), Some("bob"));
        shop.wait_until_final(&order_id).await;
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_deciding_before_the_deadline_rejects_the_order() {
    let shop = TestShop::start_with(|config| config.approval.timeout_secs = 2).await;
    let monitors = shop.stock("MN-003").await;
    let done = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            let done = shop.wait_until_final(&order_id).await;
            let (status, late) =
                post(&shop, &format!("/orders/{order_id}/approve"), json!({"operator": "alice"})).await;
            assert_eq!(status, StatusCode::CONFLICT, "{late}");
            done
        })
        .await;
    assert_eq!(done.status, OrderStatus::Rejected, "{done:?}");
    assert_eq!(done.reason.as_deref(), Some("no operator decided before the approval deadline"));
    assert_eq!(done.approval.as_ref().unwrap().state, ApprovalState::TimedOut);
    assert_eq!(shop.stock("MN-003").await, monitors);
    let events = shop.history(done.workflow_id.as_str()).await;
    let kinds: Vec<String> = events.iter().map(|event| format!("{:?}", event.event_type())).collect();
    assert!(kinds.iter().any(|kind| kind == "TimerFired"), "the deadline is a durable timer: {kinds:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_while_waiting_compensates_and_is_not_a_timeout() {
    let shop = TestShop::start().await;
    let monitors = shop.stock("MN-003").await;
    let done = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            let waiting = shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            // Cancel once the deadline timer runs (the order records its wait first).
            shop.wait_for_event(waiting.workflow_id.as_str(), "TimerStarted").await;
            let (status, accepted) =
                post(&shop, &format!("/orders/{order_id}/cancel"), json!({"reason": "customer changed their mind"}))
                    .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
            shop.wait_until_final(&order_id).await
        })
        .await;
    assert_eq!(done.status, OrderStatus::Cancelled, "{done:?}");
    assert!(done.reason.as_deref().unwrap().starts_with("cancelled while waiting for approval"), "{done:?}");
    assert_eq!(done.approval.as_ref().unwrap().state, ApprovalState::Closed);
    assert_eq!(shop.stock("MN-003").await, monitors, "the reservation was released");
    let workflow_id = done.workflow_id.as_str();
    assert_eq!(shop.workflow_status(workflow_id).await, Some(WorkflowExecutionStatus::Canceled));
    let events = shop.history(workflow_id).await;
    let kinds: Vec<String> = events.iter().map(|event| format!("{:?}", event.event_type())).collect();
    assert!(kinds.iter().any(|kind| kind == "TimerCanceled"), "the approval timer was cancelled, not fired: {kinds:?}");
    assert!(!kinds.iter().any(|kind| kind == "TimerFired"), "{kinds:?}");
    let runs = history::activity_runs(&events);
    let release = runs.iter().find(|run| run.name == "inventory.release_stock").expect("a release");
    assert_eq!(release.outcome, "completed", "compensation runs although the workflow was cancelled");
    let notice = runs.iter().find(|run| run.name == "notifications.send_email").expect("a notice");
    assert_eq!(notice.outcome, "completed", "so does the customer's notice");
    let emails = shop.emails(done.order_id.as_str()).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let (key, subject, body) = &emails[0];
    assert!(key.ends_with(":cancelled") && subject.ends_with(" is cancelled"), "{key} {subject}");
    assert!(body.contains("customer changed their mind") && body.ends_with("Nothing was charged."), "{body}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_address_can_change_until_shipping_starts() {
    let shop = TestShop::start().await;
    let new_address = json!({"name": "Ada Lovelace", "line1": "1 Engine Row", "city": "London", "postal_code": "N1", "country": "GB"});
    let (done, too_late) = shop
        .with_workers(|| async {
            let order_id = place_large_order(&shop).await;
            shop.wait_for_status(&order_id, OrderStatus::AwaitingApproval).await;
            let url = format!("{}/orders/{order_id}/shipping-address", shop.api_url());
            for _ in 0..2 {
                // A retry (same Idempotency-Key) is one change: the key becomes the update's id.
                let response =
                    shop.http.put(&url).header("Idempotency-Key", "move-1").json(&new_address).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
            let bad = shop
                .http
                .put(&url)
                .json(&json!({"name": "x", "line1": "y", "city": "", "postal_code": "1", "country": "GB"}))
                .send()
                .await
                .unwrap();
            assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY, "an incomplete address is refused at the edge");

            // Slow down shipping so that the order is caught while it ships.
            shop.inject("shipping", json!({"delay_ms": 3000})).await;
            post(&shop, &format!("/orders/{order_id}/approve"), json!({"operator": "alice"})).await;
            shop.wait_for_status(&order_id, OrderStatus::Shipping).await;
            let mut other = new_address.clone();
            other["city"] = json!("Manchester");
            let too_late = shop.http.put(&url).json(&other).send().await.unwrap();
            let status = too_late.status();
            let body: Value = too_late.json().await.unwrap();
            let (cancel_status, cancel) = post(&shop, &format!("/orders/{order_id}/cancel"), json!({})).await;
            assert_eq!(cancel_status, StatusCode::CONFLICT, "{cancel}");
            assert_eq!(cancel["error"], "too_late_to_cancel");
            (shop.wait_until_final(&order_id).await, (status, body))
        })
        .await;
    assert_eq!(too_late.0, StatusCode::CONFLICT, "{}", too_late.1);
    assert!(too_late.1["detail"].as_str().unwrap().contains("shipping has started"), "{}", too_late.1);
    assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
    assert_eq!(done.shipping_address.city, "London");
    let changes = done.timeline.iter().filter(|entry| entry.note.contains("address changed")).count();
    assert_eq!(changes, 1, "{done:?}");
    let shipped_to: String = sqlx::query_scalar("SELECT address_json FROM shipping_shipments WHERE order_id = $1")
        .bind(done.order_id.as_str())
        .fetch_one(shop.db())
        .await
        .unwrap();
    assert!(shipped_to.contains("London"), "the carrier got the new address: {shipped_to}");
    shop.stop().await;
}
