//! E-mail that is actually sent (day 3): the notifications service's relay delivers the outbox
//! to a real SMTP server (aiosmtpd), each message once, and records how it went. Every check
//! reads what the SMTP server received, not our own table.

use crate::support;
use capstone::{db::Db, mail_catcher::CaughtMail, notifications::smtp::message_id};
use capstone_workflows::order::OrderStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{TestShop, mail, orders};

/// `GET /emails` on the notifications service: the outbox and each message's delivery.
async fn outbox(shop: &TestShop) -> Vec<Value> {
    let response = shop
        .service_http()
        .get(format!("{}/emails", shop.shop.notifications.url()))
        .send()
        .await
        .expect("the notifications service answers");
    let body: Value = response.json().await.expect("a JSON outbox");
    body["emails"].as_array().expect("an emails list").clone()
}

async fn queue(shop: &TestShop, message_key: &str, to: &str) -> StatusCode {
    let request = json!({ "message_key": message_key, "to": to, "subject": "Hello", "body": "Hello there" });
    shop.service_http()
        .post(format!("{}/emails", shop.shop.notifications.url()))
        .json(&request)
        .send()
        .await
        .expect("the notifications service answers")
        .status()
}

/// Waits until the outbox row of `message_key` satisfies `done`.
async fn wait_for_row(shop: &TestShop, message_key: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = outbox(shop).await;
        if let Some(row) = rows.iter().find(|row| row["message_key"] == message_key && done(row)) {
            return row.clone();
        }
        assert!(Instant::now() < deadline, "{message_key} never got there: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn copies(mails: &[CaughtMail], message_key: &str) -> usize {
    mails.iter().filter(|mail| mail.message_id == message_id(message_key)).count()
}

fn free_port() -> u16 {
    capstone_processes::free_ports_where_zero("127.0.0.1", [0]).unwrap()[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_s_e_mails_reach_the_smtp_server_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let catcher = mail::catcher(dir.path()).await;
    let shop = TestShop::start_with(|config| config.smtp = Some(mail::relay_to(&catcher.smtp_url(), 8))).await;
    let order_id = shop
        .with_workers(|| async {
            let order_id = shop.place(&orders::example()).await.order_id.clone();
            let done = shop.wait_until_final(&order_id).await;
            assert_eq!(done.status, OrderStatus::Completed, "{done:?}");
            order_id
        })
        .await;
    let queued = shop.emails(&order_id).await;
    assert!(!queued.is_empty(), "the order queued its e-mails");
    let ids: Vec<String> = queued.iter().map(|(key, _, _)| message_id(key)).collect();
    let received = mail::wait_for(&catcher, &ids).await;
    for (key, subject, _) in &queued {
        assert_eq!(copies(&received, key), 1, "{key} once: {received:#?}");
        let mail = received.iter().find(|mail| mail.message_id == message_id(key)).unwrap();
        assert_eq!(&mail.subject, subject);
        assert_eq!(mail.to, "ada@example.com");
        assert!(mail.from.contains("shop@capstone.local"), "{mail:?}");
        let row = wait_for_row(&shop, key, |row| row["status"] == "delivered").await;
        assert_eq!(row["attempts"], 1, "{row}");
        assert!(row["delivered_at_ms"].as_i64().is_some(), "{row}");
    }

    // An activity that retries after a lost answer queues the same key again: nothing new.
    let (key, _, _) = &queued[0];
    let again = json!({ "message_key": key, "to": "ada@example.com", "subject": "again", "body": "again" });
    let status = shop
        .service_http()
        .post(format!("{}/emails", shop.shop.notifications.url()))
        .json(&again)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK, "a key queued before");
    tokio::time::sleep(Duration::from_secs(1)).await; // ten polls of the relay
    assert_eq!(copies(&catcher.messages().unwrap(), key), 1, "still one copy");
    shop.stop().await;
    catcher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn e_mails_wait_while_the_smtp_server_is_down_and_go_out_once_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let shop = TestShop::start_with(|config| config.smtp = Some(mail::relay_to(&url, 20))).await;
    for key in ["down-1:notice", "down-2:notice"] {
        assert_eq!(queue(&shop, key, "ada@example.com").await, StatusCode::CREATED);
    }
    // Nothing listens: each attempt fails, the message goes back to the queue.
    let waiting = wait_for_row(&shop, "down-1:notice", |row| row["attempts"].as_i64() >= Some(2)).await;
    assert_eq!(waiting["status"], "queued", "{waiting}");
    assert!(waiting["last_error"].as_str().is_some_and(|error| !error.is_empty()), "{waiting}");

    let catcher = mail::catcher_on(dir.path(), port).await;
    let ids = ["down-1:notice", "down-2:notice"].map(message_id);
    let received = mail::wait_for(&catcher, &ids).await;
    for key in ["down-1:notice", "down-2:notice"] {
        assert_eq!(copies(&received, key), 1, "{key} once: {received:#?}");
        let row = wait_for_row(&shop, key, |row| row["status"] == "delivered").await;
        assert!(row["attempts"].as_i64() >= Some(2), "{row}");
    }
    shop.stop().await;
    catcher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_e_mail_that_cannot_be_delivered_ends_failed_and_is_never_sent_later() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let shop = TestShop::start_with(|config| config.smtp = Some(mail::relay_to(&url, 3))).await;
    assert_eq!(queue(&shop, "lost-1:notice", "ada@example.com").await, StatusCode::CREATED);
    // A recipient no server can take is refused for good at the first attempt.
    assert_eq!(queue(&shop, "lost-2:notice", "nobody").await, StatusCode::CREATED);

    let gave_up = wait_for_row(&shop, "lost-1:notice", |row| row["status"] == "failed").await;
    assert_eq!(gave_up["attempts"], 3, "every attempt was used: {gave_up}");
    let refused = wait_for_row(&shop, "lost-2:notice", |row| row["status"] == "failed").await;
    assert_eq!(refused["attempts"], 1, "a permanent refusal is not retried: {refused}");
    assert!(refused["last_error"].as_str().unwrap().contains("nobody"), "{refused}");

    // Failed is final: a server that comes up later receives neither.
    let catcher = mail::catcher_on(dir.path(), port).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(catcher.messages().unwrap().is_empty(), "{:#?}", catcher.messages());
    shop.stop().await;
    catcher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_relays_on_one_outbox_send_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let catcher = mail::catcher(dir.path()).await;
    let relay = mail::relay_to(&catcher.smtp_url(), 8);
    let shop = TestShop::start_with(|config| config.smtp = Some(relay.clone())).await;
    // A second notifications process on the same database, as with two replicas.
    let second = second_notifications(shop.db().clone(), relay).await;

    let keys: Vec<String> = (0..20).map(|n| format!("pair-{n}:notice")).collect();
    for key in &keys {
        assert_eq!(queue(&shop, key, "ada@example.com").await, StatusCode::CREATED);
    }
    let ids: Vec<String> = keys.iter().map(|key| message_id(key)).collect();
    mail::wait_for(&catcher, &ids).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // a late duplicate would be here by now
    let received = catcher.messages().unwrap();
    for key in &keys {
        assert_eq!(copies(&received, key), 1, "{key} once");
    }
    assert_eq!(received.len(), keys.len());
    second.cancel();
    shop.stop().await;
    catcher.stop().await.unwrap();
}

async fn second_notifications(
    db: Db,
    relay: capstone::notifications::smtp::SmtpSettings,
) -> tokio_util::sync::CancellationToken {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let edge = capstone::http::BackendEdge { service_keys: capstone::http::ServiceKeys::new(&[]), faults: None };
    capstone::notifications::start(
        db,
        "127.0.0.1:0".parse().unwrap(),
        shutdown.clone(),
        &edge,
        capstone::notifications::NotificationsSettings { smtp: Some(relay) },
    )
    .await
    .expect("a second notifications service starts");
    shutdown
}
