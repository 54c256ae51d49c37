//! Day 6 and day 8: the shipment's journey. The shipment child books the carrier, then waits
//! for the carrier's events (signals, through the shipping service's webhook: real HTTP) with
//! a delivery deadline (a durable timer), and reports each change to its order (signals to
//! the parent). The order shows `SHIPPED`, and ends `COMPLETED` once delivered; a missed
//! deadline opens a claim and tells the customer. Checked in the shipping tables, the e-mails
//! and the server's histories.

use crate::support;
use capstone::api::views::OrderView;
use capstone_workflows::order::{OrderStatus, order_workflow_id};
use capstone_workflows::shipment::{JourneyStep, shipment_workflow_id};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::{PATIENCE, TestShop, orders};
use temporalio_common::protos::temporal::api::{enums::v1::EventType, history::v1::history_event::Attributes};
use tokio::time::Instant;

/// How many signals of `name` the workflow's history holds.
async fn signals(shop: &TestShop, workflow_id: &str, name: &str) -> usize {
    shop.history(workflow_id)
        .await
        .into_iter()
        .filter(|event| match &event.attributes {
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(signal)) => signal.signal_name == name,
            _ => false,
        })
        .count()
}

async fn carrier_events(shop: &TestShop, order_id: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT event_id, kind FROM shipping_carrier_events WHERE order_id = $1 ORDER BY received_at_ms")
        .bind(order_id)
        .fetch_all(shop.db())
        .await
        .unwrap()
}

async fn delivery_state(shop: &TestShop, order_id: &str) -> String {
    sqlx::query_scalar("SELECT delivery_state FROM shipping_shipments WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(shop.db())
        .await
        .unwrap()
}

/// `POST /carrier/events` on the shipping service, as a carrier calls it (with the service key).
async fn carrier_posts(shop: &TestShop, event: Value) -> (StatusCode, Value) {
    let response = shop
        .service_http()
        .post(format!("{}/carrier/events", shop.shop.shipping.url()))
        .json(&event)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn event(event_id: &str, order_id: &str, kind: &str) -> Value {
    json!({ "event_id": event_id, "order_id": order_id, "kind": kind, "at_ms": 1 })
}

fn timeline(order: &OrderView) -> Vec<String> {
    order.timeline.iter().map(|entry| entry.note.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_follows_its_parcel_to_the_door_and_completes_when_delivered() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let (status, _, answer) = shop.check_out(&orders::example(), None).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let order_id = support::accepted(&answer).order_id;
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        assert_eq!(done.delivery.as_ref().unwrap().step, JourneyStep::Delivered, "{done:?}");
        let notes = timeline(&done);
        for expected in ["booked with", "picked the parcel up", "out for delivery", "delivered by"] {
            assert!(notes.iter().any(|note| note.contains(expected)), "{expected:?} in {notes:#?}");
        }
        let statuses: Vec<OrderStatus> = done.timeline.iter().map(|entry| entry.status).collect();
        assert!(statuses.contains(&OrderStatus::Shipped), "{statuses:?}");

        // Where it landed: the shipping service's rows, and both histories.
        assert_eq!(delivery_state(&shop, &order_id).await, "delivered");
        let events = carrier_events(&shop, &order_id).await;
        assert!(events.len() >= 3, "{events:?}");
        let order_workflow = order_workflow_id(&order_id);
        let shipment_workflow = format!("{order_workflow}-shipment");
        // At least one signal per event: the relay may pass on an event whose webhook signal was
        // slow (at least once); the workflow takes each event id once, as the reports show.
        let told = signals(&shop, &shipment_workflow, "carrier_event").await;
        assert!(told >= events.len(), "{told} carrier_event signals for {events:?}");
        assert_eq!(
            signals(&shop, &order_workflow, "shipment_progress").await,
            events.len() + 1,
            "booked, then one report per carrier event"
        );
        let cancelled =
            shop.history(&shipment_workflow).await.iter().any(|e| e.event_type() == EventType::TimerCanceled);
        assert!(cancelled, "the delivery deadline is cancelled, not left to fire");
        assert_eq!(shop.ledger(&order_id).await.len(), 1, "charged once");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_webhook_is_one_event() {
    // No simulated carrier: the test is the carrier.
    let shop = TestShop::start_with(|config| config.carrier = None).await;
    shop.with_workers(|| async {
        let order_id = shop.place(&orders::example()).await.order_id.clone();
        shop.wait_for_status(&order_id, OrderStatus::Shipped).await;

        let dispatched = event("dhl-1", &order_id, "dispatched");
        let (first, answer) = carrier_posts(&shop, dispatched.clone()).await;
        assert_eq!(first, StatusCode::ACCEPTED, "{answer}");
        let (again, answer) = carrier_posts(&shop, dispatched).await;
        assert_eq!(again, StatusCode::OK, "{answer}");
        assert_eq!(answer["duplicate"], true);
        assert_eq!(carrier_events(&shop, &order_id).await.len(), 1, "one row");
        let shipment_workflow = shipment_workflow_id(&order_workflow_id(&order_id));
        assert_eq!(signals(&shop, &shipment_workflow, "carrier_event").await, 1, "one signal");

        // What a carrier gets wrong is refused and changes nothing.
        let (status, refused) = carrier_posts(&shop, event("dhl-1", "ord-someone-else", "delivered")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], "event_id_reused");
        let (status, refused) = carrier_posts(&shop, event("dhl-9", "ord-nobody", "delivered")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
        let (status, _) = carrier_posts(&shop, event("dhl-2", &order_id, "teleported")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = carrier_posts(&shop, event("../../x", &order_id, "delivered")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let anonymous = reqwest::Client::new()
            .post(format!("{}/carrier/events", shop.shop.shipping.url()))
            .json(&event("dhl-3", &order_id, "delivered"))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "the webhook takes the service key");
        assert_eq!(carrier_events(&shop, &order_id).await.len(), 1, "still one row");

        let (status, _) = carrier_posts(&shop, event("dhl-4", &order_id, "delivered")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        let picked_up = timeline(&done).iter().filter(|note| note.contains("picked the parcel up")).count();
        assert_eq!(picked_up, 1, "the order heard of the pick-up once");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_deadline_opens_one_claim_tells_the_customer_and_the_parcel_still_arrives() {
    let shop = TestShop::start_with(|config| {
        config.carrier = None;
        config.delivery = Some(capstone_workflows::order::DeliverySettings { deadline_secs: 2 });
    })
    .await;
    shop.with_workers(|| async {
        let order_id = shop.place(&orders::example()).await.order_id.clone();
        shop.wait_for_status(&order_id, OrderStatus::Shipped).await;
        let late = shop
            .wait_for_order(&order_id, "a claim", |order| {
                order.delivery.as_ref().is_some_and(|delivery| delivery.claim_id.is_some())
            })
            .await;
        let claim_id = late.delivery.as_ref().and_then(|delivery| delivery.claim_id.clone()).unwrap();
        assert!(claim_id.starts_with("CLM-"), "{late:?}");
        assert!(timeline(&late).iter().any(|note| note.contains(&format!("claim {claim_id} opened"))), "{late:?}");
        let claims: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shipping_claims WHERE order_id = $1")
            .bind(&order_id)
            .fetch_one(shop.db())
            .await
            .unwrap();
        assert_eq!(claims, 1);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let emails = shop.emails(&order_id).await;
            if emails.iter().any(|(key, subject, _)| key.ends_with(":delivery-late") && subject.contains("is late")) {
                break;
            }
            assert!(Instant::now() < deadline, "no late notice: {emails:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // The courier, through the api's courier view: the parcel is listed, then delivered.
        let (status, listed) = shop.get("/shipments").await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let in_transit = listed["shipments"].as_array().unwrap();
        let parcel = in_transit.iter().find(|parcel| parcel["order_id"] == order_id.as_str()).expect("listed");
        assert_eq!(parcel["claim_id"], claim_id.as_str());
        let courier = |key: &'static str| {
            shop.http
                .post(format!("{}/shipments/{order_id}/events", shop.api_url()))
                .header("Idempotency-Key", key)
                .json(&json!({ "kind": "delivered", "detail": "left with a neighbour" }))
        };
        assert_eq!(courier("door-1").send().await.unwrap().status(), StatusCode::ACCEPTED);
        let again: Value = courier("door-1").send().await.unwrap().json().await.unwrap();
        assert_eq!(again["duplicate"], true, "a retried click is one event");
        let done = shop.wait_until_final(&order_id).await;
        assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
        let kept = done.delivery.as_ref().and_then(|delivery| delivery.claim_id.as_deref());
        assert_eq!(kept, Some(claim_id.as_str()), "the claim stays on record");
        let emails = shop.emails(&order_id).await;
        assert_eq!(emails.iter().filter(|(key, _, _)| key.ends_with(":delivery-late")).count(), 1, "{emails:?}");
    })
    .await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_courier_view_is_for_operators_and_checks_what_it_sends() {
    let shop = TestShop::start_with(|config| config.carrier = None).await;
    let customer =
        support::client_with_key(&shop.create_key(capstone::api::api_keys::Role::Customer, Some("ada")).await);
    let (status, _) = {
        let response = customer.get(format!("{}/shipments", shop.api_url())).send().await.unwrap();
        (response.status(), ())
    };
    assert_eq!(status, StatusCode::FORBIDDEN, "customers do not see the parcels");
    let wrong = shop
        .http
        .post(format!("{}/shipments/ord-1/events", shop.api_url()))
        .json(&json!({ "kind": "beamed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = wrong.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("dispatched"), "names the kinds: {body}");
    let missing = shop
        .http
        .post(format!("{}/shipments/ord-nobody/events", shop.api_url()))
        .json(&json!({ "kind": "dispatched" }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM shipping_carrier_events").fetch_one(shop.db()).await.unwrap();
    assert_eq!(rows, 0, "nothing stored");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn carrier_events_that_arrive_while_temporal_is_down_reach_the_shipment_later_in_order() {
    // Every role its own process; the shipping process runs the simulated carrier (200 ms a
    // step). Temporal goes away while the parcel travels: the webhook stores the events and
    // answers the carrier; the relay passes them on once the server is back.
    let mut cluster = support::cluster::Cluster::start().await;
    let api = cluster.url("api").to_owned();
    let operator = support::client_with_key(&cluster.operator_key);
    let accepted: Value = operator
        .post(format!("{api}/orders"))
        .header("Prefer", "respond-async")
        .json(&orders::example())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = support::accepted(&accepted).order_id;
    let read = async |order_id: &str| -> OrderView {
        operator.get(format!("{api}/orders/{order_id}?source=read_model")).send().await.unwrap().json().await.unwrap()
    };
    let deadline = Instant::now() + PATIENCE;
    while read(&order_id).await.status != OrderStatus::Shipped {
        assert!(Instant::now() < deadline, "never SHIPPED: {:?}", read(&order_id).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.stop_temporal().await;
    let stored = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM shipping_carrier_events WHERE order_id = $1")
            .bind(&order_id)
            .fetch_one(&cluster.db)
            .await
            .unwrap()
    };
    let deadline = Instant::now() + PATIENCE;
    while stored().await < 3 {
        assert!(Instant::now() < deadline, "the carrier went on while Temporal was down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM shipping_carrier_events WHERE order_id = $1 AND signalled_at_ms IS NULL",
    )
    .bind(&order_id)
    .fetch_one(&cluster.db)
    .await
    .unwrap();
    assert!(waiting > 0, "some events are waiting for the server");
    cluster.start_temporal().await;

    let deadline = Instant::now() + PATIENCE * 2;
    let done = loop {
        let order = read(&order_id).await;
        if order.status == OrderStatus::Completed {
            break order;
        }
        assert!(Instant::now() < deadline, "never completed: {order:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let notes = timeline(&done);
    let at =
        |text: &str| notes.iter().position(|note| note.contains(text)).unwrap_or_else(|| panic!("{text}: {notes:#?}"));
    assert!(at("picked the parcel up") < at("out for delivery"), "in the order they came: {notes:#?}");
    assert!(at("out for delivery") < at("delivered by"), "{notes:#?}");
    let unsignalled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM shipping_carrier_events WHERE signalled_at_ms IS NULL")
            .fetch_one(&cluster.db)
            .await
            .unwrap();
    assert_eq!(unsignalled, 0, "every stored event was passed on");
    cluster.stop().await;
}
