//! The randomized saga suite (day 7, day 11): short random scenarios against the real system
//! (every role its own process, a real Temporal server), each a sequence of operations a shop
//! sees (place orders of every kind, approve, reject, cancel, change an address, start a batch
//! or a subscription) with faults from the whole menu at random moments (kill -9 a role,
//! restart Temporal, an outage, answers lost after the commit, answers too late, requests that
//! arrive after their retry, slow answers). After each scenario the shop must reconcile
//! (`support::reconcile`): every order final; the read model, Temporal's visibility, the ledger,
//! the stock, the parcels and the e-mails agree; subscriptions charged once per period.
//!
//! Bounded: `SAGA_SCENARIOS` scenarios (default 8) within `SAGA_BUDGET_SECS` (default 240).
//! Each scenario comes from a seed, printed with the report; `SAGA_SEED=<seed>` runs that one
//! scenario again (the same operations and faults; the timing between processes differs).
//! `cargo test -p capstone --test integration saga_random:: -- --nocapture` shows each scenario as it runs.

use crate::support;
use capstone::api::views::{BatchView, OrderView};
use capstone::loadgen;
use capstone_workflows::batch::BatchState;
use capstone_workflows::order::OrderStatus;
use capstone_workflows::subscription::{SubscriptionStatus, SubscriptionView};
use rand::{Rng, SeedableRng, rngs::StdRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use support::{
    PATIENCE, client_with_key,
    cluster::Cluster,
    orders,
    reconcile::{self, OrderFacts},
};

const STANDARD_SKU: &str = "RAND-STD";
const STANDARD_CENTS: i64 = 700;
/// Above the approval threshold: waits for an operator.
const LARGE_SKU: &str = "RAND-BIG";
const LARGE_CENTS: i64 = 150_000;
const BACKENDS: [&str; 4] = ["inventory", "payments", "shipping", "notifications"];
const ROLES: [&str; 7] =
    ["api", "inventory", "payments", "shipping", "notifications", "workflow-worker", "activity-worker"];
const OPERATIONS_PER_SCENARIO: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Standard,
    Large,
    Declined,
    ShipsNowhere,
}

#[derive(Debug, Clone)]
enum Fault {
    Kill(&'static str),
    RestartTemporal,
    Outage { service: &'static str, secs: u64 },
    LoseAnswers { service: &'static str, count: u32 },
    LateAnswer { service: &'static str, late_ms: u64 },
    ArrivesLate { service: &'static str, hold_ms: u64 },
    SlowAnswers { service: &'static str, delay_ms: u64 },
}

#[derive(Debug, Clone)]
enum Operation {
    Place(Kind),
    Approve,
    Reject,
    Cancel,
    ChangeAddress,
    Batch,
    Subscribe,
    Inject(Fault),
}

/// A scenario's operations, all drawn from its seed before anything runs.
fn plan(seed: u64) -> Vec<(Operation, Duration)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..OPERATIONS_PER_SCENARIO)
        .map(|_| {
            let pick = rng.random_range(0..100);
            let operation = match pick {
                0..22 => Operation::Place(Kind::Standard),
                22..31 => Operation::Place(Kind::Large),
                31..37 => Operation::Place(Kind::Declined),
                37..43 => Operation::Place(Kind::ShipsNowhere),
                43..49 => Operation::Approve,
                49..52 => Operation::Reject,
                52..57 => Operation::Cancel,
                57..62 => Operation::ChangeAddress,
                62..67 => Operation::Batch,
                67..71 => Operation::Subscribe,
                _ => Operation::Inject(fault(&mut rng)),
            };
            (operation, Duration::from_millis(rng.random_range(50..700)))
        })
        .collect()
}

fn fault(rng: &mut StdRng) -> Fault {
    let backend = BACKENDS[rng.random_range(0..BACKENDS.len())];
    match rng.random_range(0..100) {
        0..25 => Fault::Kill(ROLES[rng.random_range(0..ROLES.len())]),
        25..30 => Fault::RestartTemporal,
        30..42 => Fault::Outage { service: backend, secs: rng.random_range(2..7) },
        42..62 => Fault::LoseAnswers { service: backend, count: rng.random_range(1..4) },
        62..76 => Fault::LateAnswer { service: backend, late_ms: rng.random_range(2_000..11_000) },
        76..88 => Fault::ArrivesLate { service: backend, hold_ms: rng.random_range(2_000..12_000) },
        _ => Fault::SlowAnswers { service: backend, delay_ms: rng.random_range(200..1_500) },
    }
}

/// What one scenario did and found.
#[derive(Debug, Default)]
struct Outcome {
    operations: usize,
    faults: BTreeMap<&'static str, usize>,
    orders: usize,
    batch_children: usize,
    batches: usize,
    subscriptions: usize,
    violations: Vec<String>,
}

struct Placed {
    order_id: String,
    kind: Kind,
    lines: Vec<(String, i64)>,
    total_cents: i64,
}

struct Driver<'a> {
    cluster: &'a mut Cluster,
    http: reqwest::Client,
    service: reqwest::Client,
    seed: u64,
    rng: StdRng,
    placed: Vec<Placed>,
    /// Orders the api did not accept (a violation already): their keys are not reused.
    refused: usize,
    batches: Vec<(String, i64)>,
    subscriptions: Vec<String>,
    outcome: Outcome,
}

impl Driver<'_> {
    fn api(&self) -> String {
        self.cluster.url("api").to_owned()
    }

    /// Sends until the api answers something other than a failure to reach it (a role may be
    /// restarting): connection errors, 5xx and 429 are retried for up to a minute.
    async fn send(&self, request: impl Fn() -> reqwest::RequestBuilder) -> Option<(StatusCode, Value)> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(answer) = request().send().await {
                let status = answer.status();
                if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                    return Some((status, answer.json().await.unwrap_or(Value::Null)));
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn run(&mut self, operation: Operation) {
        self.outcome.operations += 1;
        match operation {
            Operation::Place(kind) => self.place(kind).await,
            Operation::Approve => self.decide("approve").await,
            Operation::Reject => self.decide("reject").await,
            Operation::Cancel => {
                if let Some(order_id) = self.any_order() {
                    let url = format!("{}/orders/{order_id}/cancel", self.api());
                    let _ = self.http.post(url).json(&json!({"reason": "randomized"})).send().await;
                }
            }
            Operation::ChangeAddress => {
                if let Some(order_id) = self.any_order() {
                    let url = format!("{}/orders/{order_id}/shipping-address", self.api());
                    let city = format!("Leipzig {}", self.rng.random_range(0..1000));
                    let address = json!({"name": "Ada", "line1": "2 New St", "city": city, "postal_code": "04109", "country": "DE"});
                    let _ = self.http.put(url).json(&address).send().await;
                }
            }
            Operation::Batch => self.batch().await,
            Operation::Subscribe => self.subscribe().await,
            Operation::Inject(fault) => self.inject(fault).await,
        }
    }

    fn any_order(&mut self) -> Option<String> {
        if self.placed.is_empty() {
            return None;
        }
        Some(self.placed[self.rng.random_range(0..self.placed.len())].order_id.clone())
    }

    async fn place(&mut self, kind: Kind) {
        let sku = if kind == Kind::Large { LARGE_SKU } else { STANDARD_SKU };
        let qty = self.rng.random_range(1..4);
        let mut body = orders::with_items("ada", &[(sku, qty)]);
        if kind == Kind::Declined {
            body["payment"]["card_token"] = json!("tok_decline_random");
        }
        if kind == Kind::ShipsNowhere {
            body["shipping_address"]["country"] = json!("AQ");
        }
        let key = format!("rand-{}-{}-{}", self.seed, self.placed.len(), self.refused);
        let url = format!("{}/orders", self.api());
        // Half the orders check out (update-with-start, `201`), half do not wait (`202`).
        let respond_async = self.rng.random_bool(0.5);
        let answer = self
            .send(|| {
                let request = self.http.post(&url).header("Idempotency-Key", &key).json(&body);
                if respond_async { request.header("Prefer", "respond-async") } else { request }
            })
            .await;
        match answer {
            Some((StatusCode::CREATED | StatusCode::ACCEPTED, accepted)) => self.placed.push(Placed {
                order_id: accepted["order_id"].as_str().unwrap_or_default().to_owned(),
                kind,
                lines: vec![(sku.to_owned(), qty)],
                total_cents: accepted["total_cents"].as_i64().unwrap_or_default(),
            }),
            other => {
                // Its key is not used again: the next order is another request.
                self.refused += 1;
                self.outcome.violations.push(format!("POST /orders ({kind:?}) was not accepted: {other:?}"))
            }
        }
    }

    /// An operator decides on a large order, maybe before it waits, maybe after: a 409 is fine.
    async fn decide(&mut self, verb: &str) {
        let large: Vec<&Placed> = self.placed.iter().filter(|order| order.kind == Kind::Large).collect();
        if large.is_empty() {
            return;
        }
        let order_id = large[self.rng.random_range(0..large.len())].order_id.clone();
        let url = format!("{}/orders/{order_id}/{verb}", self.api());
        let _ = self.http.post(url).json(&json!({"reason": "randomized"})).send().await;
    }

    async fn batch(&mut self) {
        let count = self.rng.random_range(2..5);
        let order = orders::with_items("x", &[(STANDARD_SKU, 1)]);
        let body = json!({
            "count": count, "window": 2, "customer_prefix": "rand", "email": "bulk@example.com",
            "order": { "items": order["items"], "shipping_address": order["shipping_address"], "payment": order["payment"] },
        });
        let key = format!("rand-batch-{}-{}", self.seed, self.batches.len());
        let url = format!("{}/batches", self.api());
        match self.send(|| self.http.post(&url).header("Idempotency-Key", &key).json(&body)).await {
            Some((StatusCode::ACCEPTED, accepted)) => self.batches.push((
                accepted["batch_id"].as_str().unwrap_or_default().to_owned(),
                accepted["total_cents_each"].as_i64().unwrap_or_default(),
            )),
            other => self.outcome.violations.push(format!("POST /batches was not accepted: {other:?}")),
        }
    }

    async fn subscribe(&mut self) {
        let body =
            json!({"customer_id": "ada", "plan": "basic", "trial_days": 0, "payment": {"card_token": "tok_visa"}});
        let key = format!("rand-sub-{}-{}", self.seed, self.subscriptions.len());
        let url = format!("{}/subscriptions", self.api());
        match self.send(|| self.http.post(&url).header("Idempotency-Key", &key).json(&body)).await {
            Some((StatusCode::ACCEPTED, accepted)) => {
                self.subscriptions.push(accepted["subscription_id"].as_str().unwrap_or_default().to_owned());
            }
            other => self.outcome.violations.push(format!("POST /subscriptions was not accepted: {other:?}")),
        }
    }

    async fn inject(&mut self, fault: Fault) {
        let (name, faults) = match &fault {
            Fault::Kill(role) => {
                eprintln!("    kill -9 {role}");
                self.cluster.crash_and_restart(role, Duration::from_millis(1_000)).await;
                *self.outcome.faults.entry("kill").or_default() += 1;
                return;
            }
            Fault::RestartTemporal => {
                eprintln!("    restart Temporal");
                self.cluster.restart_temporal(Duration::from_millis(500)).await;
                *self.outcome.faults.entry("temporal restart").or_default() += 1;
                return;
            }
            Fault::Outage { service, secs } => (service, json!({"outage_secs": secs})),
            Fault::LoseAnswers { service, count } => (service, json!({"lose_next": count})),
            Fault::LateAnswer { service, late_ms } => (service, json!({"late_next": 1, "late_ms": late_ms})),
            Fault::ArrivesLate { service, hold_ms } => (service, json!({"hold_next": 1, "hold_ms": hold_ms})),
            Fault::SlowAnswers { service, delay_ms } => (service, json!({"delay_ms": delay_ms})),
        };
        let kind = match &fault {
            Fault::Outage { .. } => "outage",
            Fault::LoseAnswers { .. } => "answer lost after commit",
            Fault::LateAnswer { .. } => "answer late",
            Fault::ArrivesLate { .. } => "request arrives late",
            _ => "slow answers",
        };
        eprintln!("    {kind} on {name}: {faults}");
        let url = format!("{}/admin/faults", self.cluster.url(name));
        if self.send(|| self.service.post(&url).json(&faults)).await.is_none() {
            self.outcome.violations.push(format!("could not set faults on {name}"));
        }
        *self.outcome.faults.entry(kind).or_default() += 1;
    }

    /// Faults off; every waiting order decided; every order, batch and subscription to its end.
    async fn settle(&mut self) {
        for service in BACKENDS {
            let url = format!("{}/admin/faults", self.cluster.url(service));
            self.send(|| self.service.delete(&url)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(180);
        for order in &self.placed {
            let url = format!("{}/orders/{}?source=read_model", self.api(), order.order_id);
            loop {
                let answer = self.send(|| self.http.get(&url)).await;
                let status =
                    answer.and_then(|(_, order)| serde_json::from_value::<OrderView>(order).ok()).map(|o| o.status);
                if status.is_some_and(OrderStatus::is_terminal) {
                    break;
                }
                if status == Some(OrderStatus::AwaitingApproval) {
                    // The operator's sweep: nothing waits for 24 hours in a test.
                    let approve = format!("{}/orders/{}/approve", self.api(), order.order_id);
                    let _ = self.http.post(approve).json(&json!({"reason": "sweep"})).send().await;
                }
                if Instant::now() > deadline {
                    self.outcome.violations.push(format!("{}: still {status:?} after 3 minutes", order.order_id));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        for (batch_id, _) in &self.batches {
            let url = format!("{}/batches/{batch_id}", self.api());
            loop {
                let answer = self.send(|| self.http.get(&url)).await;
                let state = answer.and_then(|(_, batch)| serde_json::from_value::<BatchView>(batch).ok());
                let state = state.map(|batch| batch.progress.state);
                if state.is_some_and(|state| !matches!(state, BatchState::Running | BatchState::RollingBack)) {
                    break;
                }
                if Instant::now() > deadline {
                    self.outcome.violations.push(format!("batch {batch_id} never finished: {state:?}"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        for subscription_id in &self.subscriptions {
            let cancel = format!("{}/subscriptions/{subscription_id}/cancel", self.api());
            self.send(|| self.http.post(&cancel).json(&json!({"reason": "end of scenario"}))).await;
        }
    }

    /// A subscription charged once per paid period: the ledger against its own count.
    async fn check_subscriptions(&mut self) {
        for subscription_id in &self.subscriptions {
            let url = format!("{}/subscriptions/{subscription_id}", self.api());
            let deadline = Instant::now() + PATIENCE;
            let view = loop {
                let answer = self.send(|| self.http.get(&url)).await;
                let view = answer.and_then(|(_, view)| serde_json::from_value::<SubscriptionView>(view).ok());
                let cancelled = view.as_ref().is_some_and(|view| view.state.status == SubscriptionStatus::Cancelled);
                if cancelled || Instant::now() > deadline {
                    break view;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            let (charges, charged): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0) FROM payments_ledger WHERE order_id = $1 AND kind = 'charge'",
            )
            .bind(subscription_id)
            .fetch_one(&self.cluster.db)
            .await
            .unwrap();
            let agrees = view.as_ref().is_some_and(|view| {
                view.state.status == SubscriptionStatus::Cancelled
                    && i64::from(view.state.periods) == charges
                    && view.state.charged_cents == charged
            });
            if !agrees {
                self.outcome.violations.push(format!(
                    "subscription {subscription_id}: {charges} charge(s) of {charged} cents in the ledger, \
                     the subscription says {view:?}"
                ));
            }
        }
    }

    /// The orders and the batches' children, as facts for the reconciliation.
    async fn facts(&mut self) -> Vec<OrderFacts> {
        let mut facts: Vec<OrderFacts> = self
            .placed
            .iter()
            .map(|order| OrderFacts {
                order_id: order.order_id.clone(),
                lines: order.lines.clone(),
                total_cents: order.total_cents,
                seen_status: None,
            })
            .collect();
        for (batch_id, total) in &self.batches {
            let children: Vec<String> =
                sqlx::query_scalar("SELECT order_id FROM api_orders WHERE order_id LIKE $1 || '-%' ORDER BY order_id")
                    .bind(batch_id)
                    .fetch_all(&self.cluster.db)
                    .await
                    .unwrap();
            self.outcome.batch_children += children.len();
            facts.extend(children.into_iter().map(|order_id| OrderFacts {
                order_id,
                lines: vec![(STANDARD_SKU.to_owned(), 1)],
                total_cents: *total,
                seen_status: None,
            }));
        }
        facts
    }
}

async fn run_scenario(cluster: &mut Cluster, seed: u64) -> Outcome {
    let http = client_with_key(&cluster.operator_key);
    let service = client_with_key(&cluster.service_key);
    let initial_stock = reconcile::stock(&cluster.db).await;
    let mut driver = Driver {
        cluster,
        http,
        service,
        seed,
        rng: StdRng::seed_from_u64(seed ^ 0x5eed),
        placed: Vec::new(),
        refused: 0,
        batches: Vec::new(),
        subscriptions: Vec::new(),
        outcome: Outcome::default(),
    };
    for (operation, pause) in plan(seed) {
        eprintln!("  {operation:?}");
        driver.run(operation).await;
        tokio::time::sleep(pause).await;
    }
    driver.settle().await;
    driver.check_subscriptions().await;
    let facts = driver.facts().await;
    let client = driver.cluster.client().await;
    let db = driver.cluster.db.clone();
    let mut outcome = std::mem::take(&mut driver.outcome);
    outcome.orders = driver.placed.len();
    outcome.batches = driver.batches.len();
    outcome.subscriptions = driver.subscriptions.len();
    outcome
        .violations
        .extend(reconcile::orders(&db, &client, &facts, &initial_stock, &[STANDARD_SKU, LARGE_SKU]).await);
    outcome.violations.extend(reconcile::visibility_matches_read_model(&db, &client, PATIENCE).await);
    outcome
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
async fn random_scenarios_with_random_faults_always_reconcile() {
    let seeds: Vec<u64> = match std::env::var("SAGA_SEED").ok().and_then(|seed| seed.parse().ok()) {
        Some(seed) => vec![seed],
        None => {
            // A new draw every run, so that the suite keeps hunting; each seed is printed.
            let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
            (0..env_number("SAGA_SCENARIOS", 8))
                .map(|n| base.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                .collect()
        }
    };
    let budget = Duration::from_secs(env_number("SAGA_BUDGET_SECS", 240));
    let started = Instant::now();
    let mut cluster = Cluster::start_with(&[
        ("SUBSCRIPTION_PERIOD", "2s"),
        ("SUBSCRIPTION_TRIAL_DAY", "1s"),
        ("DUNNING_DELAYS", "1s,1s"),
        ("RENEWALS_PER_RUN", "3"),
    ])
    .await;
    let stock = json!({
        "ingestion_id": "randomized-suite", "first_row": 0,
        "lines": [
            { "sku": STANDARD_SKU, "name": "Random item", "unit_price_cents": STANDARD_CENTS, "qty": 100_000 },
            { "sku": LARGE_SKU, "name": "Random large item", "unit_price_cents": LARGE_CENTS, "qty": 100_000 },
        ],
    });
    loadgen::receive_stock(cluster.url("inventory"), &cluster.service_key, &stock).await.unwrap();

    let (mut total, mut ran, mut failing) = (Outcome::default(), Vec::new(), Vec::new());
    for seed in seeds {
        // A scenario takes up to about a minute; none starts that could not finish in time.
        if !ran.is_empty() && started.elapsed() + Duration::from_secs(70) > budget {
            break;
        }
        eprintln!("scenario SAGA_SEED={seed}");
        let outcome = run_scenario(&mut cluster, seed).await;
        ran.push(seed);
        total.operations += outcome.operations;
        total.orders += outcome.orders;
        total.batch_children += outcome.batch_children;
        total.batches += outcome.batches;
        total.subscriptions += outcome.subscriptions;
        for (kind, count) in &outcome.faults {
            *total.faults.entry(kind).or_default() += count;
        }
        if !outcome.violations.is_empty() {
            eprintln!(
                "  {} violation(s) with SAGA_SEED={seed}:\n    {}",
                outcome.violations.len(),
                outcome.violations.join("\n    ")
            );
            failing.push(seed);
            total.violations.extend(outcome.violations.into_iter().map(|violation| format!("[{seed}] {violation}")));
        }
    }
    let faults: usize = total.faults.values().sum();
    eprintln!(
        "saga_random: {} scenarios, {} operations, {faults} faults {:?}, {} orders + {} batch children in {} batches, \
         {} subscriptions, {} violations, in {:.0?}; seeds {ran:?}",
        ran.len(),
        total.operations,
        total.faults,
        total.orders,
        total.batch_children,
        total.batches,
        total.subscriptions,
        total.violations.len(),
        started.elapsed()
    );
    cluster.stop().await;
    assert!(
        total.violations.is_empty(),
        "replay a failing scenario with SAGA_SEED={failing:?}:\n{}",
        total.violations.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciliation_notices_each_kind_of_broken_promise() {
    // The checks above are only worth something if they can fail: break the shop's records
    // behind its back, one promise at a time, and each break must be reported.
    let shop = support::TestShop::start().await;
    let initial_stock = reconcile::stock(shop.db()).await;
    let done = shop
        .with_workers(|| async {
            let accepted = shop.place(&orders::example()).await;
            shop.wait_until_final(accepted.order_id.as_str()).await
        })
        .await;
    let order_id = done.order_id.clone();
    let facts = [OrderFacts {
        order_id: order_id.clone(),
        lines: vec![("KB-001".to_owned(), 1), ("MS-002".to_owned(), 2)],
        total_cents: orders::EXAMPLE_TOTAL_CENTS,
        seen_status: Some("COMPLETED".to_owned()),
    }];
    let skus = ["KB-001", "MS-002"];
    let check = || reconcile::orders(shop.db(), &shop.client, &facts, &initial_stock, &skus);
    assert_eq!(check().await, Vec::<String>::new(), "a healthy order reconciles");
    let breaks: [(&str, &str, &str); 4] = [
        (
            "INSERT INTO payments_ledger (entry_id, idempotency_key, kind, order_id, provider, amount_cents, created_at_ms) \
             VALUES ('ch_dup', 'dup', 'charge', $1, 'card', 1, 0)",
            "DELETE FROM payments_ledger WHERE entry_id = 'ch_dup' AND $1 <> ''",
            "charged 2 times",
        ),
        ("DELETE FROM notifications_outbox WHERE message_key LIKE $1 || ':%'", "", "0 e-mail(s)"),
        ("UPDATE shipping_shipments SET status = 'cancelled' WHERE order_id = $1", "", "0 booked parcel(s)"),
        ("UPDATE api_orders SET status = 'COMPENSATED' WHERE order_id = $1", "", "the client saw COMPLETED"),
    ];
    for (corrupt, repair, expected) in breaks {
        sqlx::query(sqlx::AssertSqlSafe(corrupt)).bind(&order_id).execute(shop.db()).await.unwrap();
        let violations = check().await;
        assert!(violations.iter().any(|violation| violation.contains(expected)), "{expected}: {violations:?}");
        if !repair.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(repair)).bind(&order_id).execute(shop.db()).await.unwrap();
        }
    }
    let stock_taken = "UPDATE inventory_stock SET available = available - 1 WHERE sku = 'KB-001' AND $1 <> ''";
    sqlx::query(stock_taken).bind(&order_id).execute(shop.db()).await.unwrap();
    assert!(check().await.iter().any(|violation| violation.contains("stock of KB-001")));
    shop.stop().await;
}
