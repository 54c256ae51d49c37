//! Day 9: a long-running subscription: trial, renewals every period, continue-as-new so that
//! no history grows large, dunning, cancellation at the end of the period, plan changes.
//! Periods are seconds here (the test configuration), a month in production.

use crate::support;
use capstone_workflows::subscription::{SubscriptionState, SubscriptionStatus, SubscriptionView};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::TestShop;
use tokio::time::Instant;

async fn subscribe(shop: &TestShop, plan: &str, trial_days: u32, card_token: &str) -> String {
    let body = json!({ "customer_id": "ada", "plan": plan, "trial_days": trial_days, "payment": { "card_token": card_token } });
    let response = shop.http.post(format!("{}/subscriptions", shop.api_url())).json(&body).send().await.unwrap();
    let status = response.status();
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    accepted["subscription_id"].as_str().unwrap().to_owned()
}

/// Polls `GET /subscriptions/{id}`, read as the workflow's own `SubscriptionView`, until `done`.
async fn wait_for(
    shop: &TestShop,
    id: &str,
    what: &str,
    done: impl Fn(&SubscriptionState) -> bool,
) -> SubscriptionState {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = shop.get(&format!("/subscriptions/{id}")).await;
        let view = (status == StatusCode::OK).then(|| support::typed::<SubscriptionView>(&body));
        if let Some(view) = view.filter(|view| done(&view.state)) {
            return view.state;
        }
        assert!(Instant::now() < deadline, "subscription {id} never got {what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `(idempotency_key, amount)` of every charge of the subscription.
async fn charges(shop: &TestShop, id: &str) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT idempotency_key, amount_cents FROM payments_ledger WHERE order_id = $1 AND kind = 'charge' ORDER BY created_at_ms")
        .bind(id)
        .fetch_all(shop.db())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_renews_each_period_continues_as_new_and_ends_when_cancelled() {
    let shop = TestShop::start().await;
    let (id, renewing, cancelled) = shop
        .with_workers(|| async {
            let id = subscribe(&shop, "basic", 1, "tok_visa").await;
            let trial = wait_for(&shop, &id, "its trial", |v| v.status == SubscriptionStatus::Trial).await;
            assert_eq!(trial.periods, 0);
            // 3 renewals per run: 7 periods take three runs.
            let renewing = wait_for(&shop, &id, "7 periods", |v| v.periods >= 7).await;
            let response = shop
                .http
                .post(format!("{}/subscriptions/{id}/cancel", shop.api_url()))
                .json(&json!({ "reason": "moving abroad" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let cancelled = wait_for(&shop, &id, "cancelled", |v| v.status == SubscriptionStatus::Cancelled).await;
            (id, renewing, cancelled)
        })
        .await;
    assert!(renewing.runs >= 3, "continued as new: {renewing:?}");
    assert!(renewing.history_length < 100, "each run's history stays small: {renewing:?}");
    let paid = charges(&shop, &id).await;
    let periods = cancelled.periods as usize;
    assert_eq!(paid.len(), periods, "one charge per paid period, none after the cancel took effect");
    for (n, (key, amount)) in paid.iter().enumerate() {
        assert!(key.ends_with(&format!(":period-{}", n + 1)), "{key}");
        assert_eq!(*amount, 999);
    }
    let receipts = shop
        .count("SELECT COUNT(*) FROM notifications_outbox WHERE message_key LIKE $1", &format!("{id}:receipt-%"))
        .await;
    assert_eq!(receipts as usize, periods, "a receipt per period (the patched renewal step)");
    // Ended for good: no charge comes later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(charges(&shop, &id).await.len(), periods);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dunning_retries_a_declined_renewal_and_then_suspends() {
    let shop = TestShop::start().await;
    let (id, suspended) = shop
        .with_workers(|| async {
            let id = subscribe(&shop, "pro", 0, "tok_decline_expired").await;
            let past_due = wait_for(&shop, &id, "past due", |v| v.status == SubscriptionStatus::PastDue).await;
            assert_eq!(past_due.periods, 0);
            (id.clone(), wait_for(&shop, &id, "suspended", |v| v.status == SubscriptionStatus::Suspended).await)
        })
        .await;
    assert!(charges(&shop, &id).await.is_empty());
    let notes = suspended.notes.join("\n");
    assert_eq!(notes.matches("not charged").count(), 2, "two dunning retries, then suspension: {notes}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_card_during_dunning_is_charged_at_once() {
    // Long dunning waits: only the card update can end them quickly.
    let shop =
        TestShop::start_with(|config| config.subscriptions.dunning_delays = vec![Duration::from_secs(600)]).await;
    let (id, active) = shop
        .with_workers(|| async {
            let id = subscribe(&shop, "basic", 0, "tok_decline").await;
            wait_for(&shop, &id, "past due", |v| v.status == SubscriptionStatus::PastDue).await;
            let response = shop
                .http
                .put(format!("{}/subscriptions/{id}/payment-method", shop.api_url()))
                .json(&json!({ "card_token": "tok_visa" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            (id.clone(), wait_for(&shop, &id, "its first period paid", |v| v.periods == 1).await)
        })
        .await;
    assert_eq!(active.status, SubscriptionStatus::Active);
    assert_eq!(charges(&shop, &id).await.len(), 1);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_change_is_validated_and_applies_from_the_next_renewal() {
    let shop = TestShop::start().await;
    let id = shop
        .with_workers(|| async {
            let id = subscribe(&shop, "basic", 0, "tok_visa").await;
            wait_for(&shop, &id, "its first period", |v| v.periods == 1).await;
            let url = format!("{}/subscriptions/{id}/plan", shop.api_url());
            let refused = shop.http.put(&url).json(&json!({ "plan": "gold" })).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::CONFLICT);
            let refused: Value = refused.json().await.unwrap();
            assert!(refused["detail"].as_str().unwrap().contains("unknown plan"), "{refused}");
            let changed = shop.http.put(&url).json(&json!({ "plan": "pro" })).send().await.unwrap();
            assert_eq!(changed.status(), StatusCode::OK);
            let changed: Value = changed.json().await.unwrap();
            assert_eq!(changed["pending_plan"], "pro");
            wait_for(&shop, &id, "a period on pro", |v| v.periods >= 2 && v.plan == "pro").await;
            id
        })
        .await;
    let paid = charges(&shop, &id).await;
    assert_eq!(paid[0].1, 999, "period 1 on basic");
    assert_eq!(paid[1].1, 2999, "period 2 on pro");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_subscriptions_are_refused() {
    let shop = TestShop::start().await;
    for (body, mentions) in [
        (json!({ "customer_id": "ada", "plan": "gold", "payment": { "card_token": "tok_visa" } }), "plan"),
        (
            json!({ "customer_id": "ada", "plan": "pro", "trial_days": 400, "payment": { "card_token": "tok_visa" } }),
            "trial_days",
        ),
        (json!({ "customer_id": "", "plan": "pro", "payment": { "card_token": "tok_visa" } }), "customer_id"),
    ] {
        let response = shop.http.post(format!("{}/subscriptions", shop.api_url())).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert!(error["detail"].as_str().unwrap().contains(mentions), "{error}");
    }
    let (status, _) = shop.get("/subscriptions/sub-nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_during_dunning_ends_the_wait_at_once() {
    let shop =
        TestShop::start_with(|config| config.subscriptions.dunning_delays = vec![Duration::from_secs(600)]).await;
    let ended = shop
        .with_workers(|| async {
            let id = subscribe(&shop, "basic", 0, "tok_decline").await;
            let past_due = wait_for(&shop, &id, "past due", |v| v.status == SubscriptionStatus::PastDue).await;
            assert!(
                past_due.notes.iter().any(|note| note.contains("declined")),
                "the note names the root cause: {past_due:?}"
            );
            let response = shop
                .http
                .post(format!("{}/subscriptions/{id}/cancel", shop.api_url()))
                .json(&json!({ "reason": "no card" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            wait_for(&shop, &id, "cancelled", |v| v.status == SubscriptionStatus::Cancelled).await
        })
        .await;
    assert_eq!(ended.periods, 0);
    shop.stop().await;
}
