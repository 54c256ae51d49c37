//! Fake activities for workflow tests (day 11: mocking external dependencies).
//!
//! The Rust SDK has no workflow test harness with mocked activities. The substitute is this:
//! run the real workflow on a real server with a real workflow worker, and register fakes on
//! the activity queues under the same activity names (`#[activity(definition = ...)]` makes
//! the compiler check that each fake matches the contract). The fakes record every call, and
//! the script says which ones fail.
// `#[activities]` declares a constant per activity (`FakeInventory::reserve_stock`); the tests
// register each fake whole and never name them.
#![allow(dead_code)]

use capstone::workers::{RunnableWorker, WorkerKind, WorkerStats};
use capstone_workflows::{
    contracts::{
        failures::{CARD_DECLINED, DESTINATION_BLOCKED},
        inventory::{
            ReleaseStockRequest, Reservation, ReservationStatus, ReserveStockRequest,
            activity::{ReleaseStock, ReserveStock},
        },
        notifications::{EmailReceipt, SendEmailRequest, activity::SendEmail},
        payments::{
            Charge, ChargeRequest, Refund, RefundRequest,
            activity::{Charge as ChargeActivity, ChargeCard, Refund as RefundActivity},
        },
        read_model::activity::RecordOrder,
        shipping::{
            CancelShipmentRequest, Claim, CreateShipmentRequest, OpenClaimRequest, Shipment, ShipmentCancellation,
            activity::{CancelShipment, CreateShipment, OpenClaim},
        },
    },
    order::OrderSnapshot,
    task_queues::TaskQueues,
};
use std::sync::{Arc, Mutex};
use temporalio_client::Client;
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure, Runtime, Worker, WorkerOptions,
    activities::{ActivityContext, ActivityError},
};

/// What the fakes should do.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub decline_card: bool,
    pub block_shipping: bool,
    /// The charge fails for a reason the workflow has no special case for.
    pub charge_fails: bool,
    /// The charge takes this long (to catch the workflow while it charges).
    pub slow_charge_ms: u64,
    /// The carrier books the parcel, then the activity fails anyway (every answer lost).
    pub shipping_answer_lost: bool,
    /// The api refuses to record the order, for good.
    pub record_refused: bool,
}

/// Every call the fakes received, in order: `reserve`, `charge`, `refund`, ...
#[derive(Debug, Clone, Default)]
pub struct Calls {
    calls: Arc<Mutex<Vec<String>>>,
    recorded: Arc<Mutex<Option<OrderSnapshot>>>,
}

impl Calls {
    fn push(&self, call: &str) {
        self.calls.lock().unwrap().push(call.to_owned());
    }

    pub fn list(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// The snapshot the workflow sent to the read model, if it did.
    pub fn recorded(&self) -> Option<OrderSnapshot> {
        self.recorded.lock().unwrap().clone()
    }
}

fn refused(failure_type: &str, message: &str) -> ActivityError {
    ApplicationFailure::builder(message.to_owned())
        .type_name(failure_type.to_owned())
        .non_retryable(true)
        .build()
        .into()
}

pub struct FakeInventory(Calls);

#[activities]
impl FakeInventory {
    #[activity(definition = ReserveStock)]
    pub async fn reserve_stock(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ReserveStockRequest,
    ) -> Result<Reservation, ActivityError> {
        self.0.push("reserve");
        Ok(Reservation {
            reservation_id: request.reservation_id,
            status: ReservationStatus::Reserved,
            lines: request.lines,
        })
    }

    #[activity(definition = ReleaseStock)]
    pub async fn release_stock(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ReleaseStockRequest,
    ) -> Result<Reservation, ActivityError> {
        self.0.push("release");
        Ok(Reservation { reservation_id: request.reservation_id, status: ReservationStatus::Released, lines: vec![] })
    }
}

pub struct FakePayments(Calls, Script);

impl FakePayments {
    async fn fake_charge(&self, request: ChargeRequest) -> Result<Charge, ActivityError> {
        self.0.push("charge");
        tokio::time::sleep(std::time::Duration::from_millis(self.1.slow_charge_ms)).await;
        if self.1.charge_fails {
            return Err(refused("InvalidRequest", "payments refused: invalid_request: fake"));
        }
        if self.1.decline_card {
            return Err(refused(CARD_DECLINED, "payments refused: card_declined: fake decline"));
        }
        Ok(Charge {
            charge_id: "ch_fake".into(),
            order_id: request.order_id,
            amount_cents: request.amount_cents,
            provider: request.provider,
        })
    }
}

#[activities]
impl FakePayments {
    /// The order calls its provider by name: `payments.card.charge`.
    #[activity(definition = ChargeCard)]
    pub async fn charge_card(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.fake_charge(request).await
    }

    /// Subscriptions call the router, `payments.charge`.
    #[activity(definition = ChargeActivity)]
    pub async fn charge(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: ChargeRequest,
    ) -> Result<Charge, ActivityError> {
        self.fake_charge(request).await
    }

    #[activity(definition = RefundActivity)]
    pub async fn refund(
        self: Arc<Self>,
        _ctx: ActivityContext,
        _request: RefundRequest,
    ) -> Result<Refund, ActivityError> {
        self.0.push("refund");
        Ok(Refund { refund_id: "rf_fake".into(), charge_id: Some("ch_fake".into()), amount_cents: 1 })
    }
}

pub struct FakeShipping(Calls, Script);

#[activities]
impl FakeShipping {
    #[activity(definition = CreateShipment)]
    pub async fn create_shipment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: CreateShipmentRequest,
    ) -> Result<Shipment, ActivityError> {
        self.0.push("ship");
        if self.1.block_shipping {
            return Err(refused(DESTINATION_BLOCKED, "shipping refused: destination_blocked: fake"));
        }
        if self.1.shipping_answer_lost {
            // Booked, but the workflow never hears so: it must call the booking off.
            return Err(refused("ServiceUnavailable", "shipping unavailable: the answer was lost (fake)"));
        }
        Ok(Shipment {
            status: Default::default(),
            shipment_id: "sh_fake".into(),
            order_id: request.order_id,
            carrier: "Fake".into(),
            tracking_number: "F1".into(),
        })
    }

    #[activity(definition = CancelShipment)]
    pub async fn cancel_shipment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: CancelShipmentRequest,
    ) -> Result<ShipmentCancellation, ActivityError> {
        self.0.push("cancel_shipment");
        Ok(ShipmentCancellation { order_id: request.order_id, shipment_id: "sh_fake".into(), booked: true })
    }

    #[activity(definition = OpenClaim)]
    pub async fn open_claim(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: OpenClaimRequest,
    ) -> Result<Claim, ActivityError> {
        self.0.push("open_claim");
        Ok(Claim { claim_id: "CLM-FAKE".into(), order_id: request.order_id, carrier: "Fake".into() })
    }
}

pub struct FakeNotifications(Calls);

#[activities]
impl FakeNotifications {
    #[activity(definition = SendEmail)]
    pub async fn send_email(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: SendEmailRequest,
    ) -> Result<EmailReceipt, ActivityError> {
        self.0.push("email");
        Ok(EmailReceipt { message_key: request.message_key })
    }
}

pub struct FakeReadModel(Calls, Script);

#[activities]
impl FakeReadModel {
    #[activity(definition = RecordOrder)]
    pub async fn record_order(
        self: Arc<Self>,
        _ctx: ActivityContext,
        snapshot: OrderSnapshot,
    ) -> Result<(), ActivityError> {
        self.0.push("record");
        if self.1.record_refused {
            return Err(refused("InvalidRequest", "api refused: invalid_request: fake"));
        }
        *self.0.recorded.lock().unwrap() = Some(snapshot);
        Ok(())
    }
}

/// The real workflow worker plus fake activity workers on `queues`.
pub fn workers(
    runtime: &Runtime,
    client: &Client,
    queues: &TaskQueues,
    script: &Script,
    calls: &Calls,
) -> Vec<RunnableWorker> {
    let fake = |task_queue: &str, kind, register: &dyn Fn(&mut WorkerOptions)| {
        let mut options = WorkerOptions::new(task_queue).build();
        register(&mut options);
        RunnableWorker {
            worker: Worker::new(runtime, client.clone(), options).expect("a fake worker"),
            kind,
            slots: 10,
            claim: None,
            stats: Arc::new(WorkerStats::default()),
        }
    };
    vec![
        capstone::workers::workflow_workers(runtime, client.clone(), &queues.workflows, None, &Default::default())
            .expect("the workflow worker")
            .remove(0),
        fake(&queues.activities, WorkerKind::Activity, &|options| {
            options
                .register_activities(capstone_activities::hello::HelloActivities)
                .register_activities(FakeInventory(calls.clone()))
                .register_activities(FakeShipping(calls.clone(), script.clone()))
                .register_activities(FakeNotifications(calls.clone()))
                .register_activities(FakeReadModel(calls.clone(), script.clone()));
        }),
        fake(&queues.payments, WorkerKind::Payments, &|options| {
            options.register_activities(FakePayments(calls.clone(), script.clone()));
        }),
    ]
}

/// A real Temporal server with the real workflow worker and fake activity workers: no
/// services, no database. One scenario per `FakeShop`.
pub struct FakeShop {
    pub server: capstone::temporal::dev_server::DevServer,
    pub client: Client,
    pub queues: TaskQueues,
    pub script: Script,
    pub calls: Calls,
}

impl FakeShop {
    pub async fn start(script: Script) -> Self {
        let (server, client) = super::start_temporal().await;
        Self { server, client, queues: TaskQueues::default(), script, calls: Calls::default() }
    }

    /// An order of `total_cents` that needs approval above 100000 cents, with `approval_secs`
    /// to decide, shipping to `country`.
    pub fn order(&self, order_id: &str, total_cents: i64, approval_secs: u64) -> capstone_workflows::order::OrderInput {
        use capstone_workflows::{
            contracts::Address,
            order::{ApprovalPolicy, OrderInput, OrderLine, OrderSettings, PaymentDetails},
        };
        OrderInput {
            order_id: order_id.to_owned(),
            customer_id: "ada".to_owned(),
            email: "ada@example.com".to_owned(),
            lines: vec![OrderLine { sku: "KB-001".into(), qty: 1, unit_price_cents: total_cents }],
            shipping_address: Address {
                name: "Ada".into(),
                line1: "1 Main St".into(),
                city: "Berlin".into(),
                postal_code: "10115".into(),
                country: "DE".into(),
                line2: None,
            },
            payment: PaymentDetails { provider: "card".into(), card_token: "tok_visa".into() },
            total_cents,
            settings: OrderSettings {
                activity_task_queue: self.queues.activities.clone(),
                payments_task_queue: self.queues.payments.clone(),
                approval: ApprovalPolicy {
                    threshold_cents: 100_000,
                    timeout_secs: approval_secs,
                    operators: vec!["alice".into()],
                },
                region: String::new(),
                // The fakes have no carrier: these orders end once the carrier is booked.
                delivery: None,
            },
            request_fingerprint: String::new(),
        }
    }

    /// Runs `body` while the workers (real workflow worker, fake activities) poll.
    pub async fn with_workers<F, Fut, T>(&self, body: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let runtime = capstone::workers::runtime().expect("the SDK runtime");
        let all = workers(&runtime, &self.client, &self.queues, &self.script, &self.calls);
        let stop = tokio_util::sync::CancellationToken::new();
        let run_workers = capstone::workers::run_all(all, stop.clone(), std::time::Duration::from_secs(30));
        let run_body = async {
            let outcome = body().await;
            stop.cancel();
            outcome
        };
        let (outcome, workers) = tokio::join!(run_body, run_workers);
        workers.expect("the workers ran");
        outcome
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("the dev server stops");
    }
}

/// Polls the order workflow's `status` query until it reports `status`.
pub async fn wait_for_status(
    handle: &temporalio_client::WorkflowHandle<Client, capstone_workflows::order::OrderWorkflow>,
    status: capstone_workflows::order::OrderStatus,
) {
    use capstone_workflows::order::OrderWorkflow;
    let deadline = tokio::time::Instant::now() + super::PATIENCE;
    loop {
        let snapshot = handle.query(OrderWorkflow::status, (), Default::default()).await;
        if snapshot.as_ref().is_ok_and(|snapshot| snapshot.status == status) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never reached {status:?}: {snapshot:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
