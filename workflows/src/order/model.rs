//! The order's input, its status values and the snapshot that the `status` query returns.

use super::approval::{ApprovalPolicy, ApprovalView};
use crate::contracts::{Address, StockLine};
use serde::{Deserialize, Serialize};

/// The workflow id of an order: one order, one workflow id. Starting an order twice with the
/// same id is how the api makes `POST /orders` idempotent.
pub fn order_workflow_id(order_id: &str) -> String {
    format!("order-{order_id}")
}

/// What the api hands to a new `OrderWorkflow`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderInput {
    pub order_id: String,
    /// An opaque account id: it is a search attribute, so never an e-mail address.
    pub customer_id: String,
    /// Where the confirmation goes. Personal data: it travels only in (encrypted) payloads.
    #[serde(default)]
    pub email: String,
    /// Prices are fixed by the api from the catalog when the order is accepted, so the saga
    /// charges what the customer saw even if the catalog changes meanwhile.
    pub lines: Vec<OrderLine>,
    pub shipping_address: Address,
    pub payment: PaymentDetails,
    pub total_cents: i64,
    pub settings: OrderSettings,
    /// The api's hash of the request that placed the order: the checkout update refuses a
    /// request with another (a reused `Idempotency-Key`). Empty for orders placed before it.
    #[serde(default)]
    pub request_fingerprint: String,
}

impl OrderInput {
    pub fn stock_lines(&self) -> Vec<StockLine> {
        self.lines.iter().map(|line| StockLine { sku: line.sku.clone(), qty: line.qty }).collect()
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderLine {
    pub sku: String,
    pub qty: u32,
    pub unit_price_cents: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentDetails {
    /// `card`, `wallet` or `invoice`: the workflow calls the activity `payments.{provider}.charge`.
    pub provider: String,
    pub card_token: String,
}

/// Deployment choices that travel with each order instead of being compiled in: the api
/// fills them from its configuration when it accepts the order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderSettings {
    /// Where this order's activities run (see `task_queues`).
    pub activity_task_queue: String,
    /// Where the payment activities run: their own queue, served by workers with few slots,
    /// because the payment provider limits how many calls it takes at once.
    pub payments_task_queue: String,
    /// Which orders wait for an operator, for how long, and who may decide.
    pub approval: ApprovalPolicy,
    /// The region whose queues run the order; empty for the shared queues (a search attribute).
    #[serde(default)]
    pub region: String,
    /// Follow the parcel to the door: the order ends when it is delivered. Absent in
    /// orders placed before the journey, and in orders that ask for none: those end once the
    /// carrier is booked.
    #[serde(default)]
    pub delivery: Option<DeliverySettings>,
}

/// How an order follows its parcel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliverySettings {
    /// From the booking: how long the parcel may take before a claim is opened with the
    /// carrier and the customer is told.
    pub deadline_secs: u64,
}

/// Where the parcel is, as its shipment reported it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub step: crate::shipment::JourneyStep,
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default)]
    pub claim_id: Option<String>,
    /// Workflow time of the last step (ms since the epoch).
    pub updated_at_ms: i64,
}

/// Where an order is. The last four are terminal: every order ends in exactly one of them.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    #[default]
    Received,
    ReservingStock,
    /// Waiting for an operator to approve or reject (large orders only).
    AwaitingApproval,
    ChargingPayment,
    Shipping,
    SendingConfirmation,
    /// Booked, charged and confirmed: in the carrier's hands until it is delivered.
    Shipped,
    /// Undoing completed steps after a failure.
    Compensating,
    /// Done: charged, shipped, confirmed, and (for orders that follow their parcel) delivered.
    Completed,
    /// Refused before any money moved: out of stock, rejected by an operator, or nobody
    /// decided in time. Whatever was reserved has been released.
    Rejected,
    /// Failed part-way; every completed step was undone.
    Compensated,
    /// Cancelled on request; every completed step was undone.
    Cancelled,
}

impl OrderStatus {
    /// The four ways an order ends. Every list of final statuses (the read model's SQL, the
    /// metrics, `dev`'s demo order, the tests) is this one.
    pub const TERMINAL: [Self; 4] = [Self::Completed, Self::Rejected, Self::Compensated, Self::Cancelled];

    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }

    /// The SCREAMING_SNAKE_CASE name used in JSON, the read model and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::ReservingStock => "RESERVING_STOCK",
            Self::AwaitingApproval => "AWAITING_APPROVAL",
            Self::ChargingPayment => "CHARGING_PAYMENT",
            Self::Shipping => "SHIPPING",
            Self::SendingConfirmation => "SENDING_CONFIRMATION",
            Self::Shipped => "SHIPPED",
            Self::Compensating => "COMPENSATING",
            Self::Completed => "COMPLETED",
            Self::Rejected => "REJECTED",
            Self::Compensated => "COMPENSATED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Every status, in the order an order can reach them.
    pub const ALL: [Self; 12] = ALL_STATUSES;

    pub fn parse(name: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|status| status.as_str() == name)
    }
}

const ALL_STATUSES: [OrderStatus; 12] = [
    OrderStatus::Received,
    OrderStatus::ReservingStock,
    OrderStatus::AwaitingApproval,
    OrderStatus::ChargingPayment,
    OrderStatus::Shipping,
    OrderStatus::SendingConfirmation,
    OrderStatus::Shipped,
    OrderStatus::Compensating,
    OrderStatus::Completed,
    OrderStatus::Rejected,
    OrderStatus::Compensated,
    OrderStatus::Cancelled,
];

/// One line of the order's history as the saga saw it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Workflow time (deterministic: the time of the workflow task, not the wall clock).
    pub at_ms: i64,
    pub status: OrderStatus,
    pub note: String,
}

/// The order as the saga knows it: returned by the `status` query, as the workflow result,
/// and written to the api's read model.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderSnapshot {
    pub order_id: String,
    pub customer_id: String,
    pub status: OrderStatus,
    /// Why the order ended the way it did, for every terminal status but `COMPLETED`.
    pub reason: Option<String>,
    pub total_cents: i64,
    pub reservation_id: Option<String>,
    pub charge_id: Option<String>,
    pub refund_id: Option<String>,
    pub shipment_id: Option<String>,
    pub tracking_number: Option<String>,
    /// Where the parcel goes (an operator or the customer may change it until shipping starts).
    pub shipping_address: Address,
    /// Present for orders that need an operator's decision.
    pub approval: Option<ApprovalView>,
    /// Compensations that failed for good and need a person (empty in a healthy system:
    /// compensations are retried until they succeed; only a refusal ends them).
    pub unresolved: Vec<String>,
    /// The first [`TIMELINE_HEAD`] entries and the newest [`TIMELINE_TAIL`]: bounded, so that
    /// no number of notes (signals, address changes) can make the order too large to query or
    /// to record.
    pub timeline: Vec<TimelineEntry>,
    /// Entries dropped from the middle of the timeline to keep it bounded.
    #[serde(default)]
    pub omitted_entries: u64,
    /// How many entries the timeline has ever had: grows with every change, so the read model
    /// can refuse a record older than the one it has (a late retry of an earlier write).
    #[serde(default)]
    pub revision: u64,
    /// Where the parcel is, for orders that follow it (absent before the booking).
    #[serde(default)]
    pub delivery: Option<DeliveryView>,
}

/// The timeline keeps its first entries (how the order started)...
pub const TIMELINE_HEAD: usize = 20;
/// ...and its newest ones (where it is now).
pub const TIMELINE_TAIL: usize = 80;
/// A note longer than this is cut (notes may quote a service's error message).
pub const MAX_NOTE_CHARS: usize = 300;

impl OrderSnapshot {
    pub fn received(input: &OrderInput, at_ms: i64) -> Self {
        Self {
            order_id: input.order_id.clone(),
            customer_id: input.customer_id.clone(),
            total_cents: input.total_cents,
            shipping_address: input.shipping_address.clone(),
            approval: input
                .settings
                .approval
                .requires_approval(input.total_cents)
                .then(|| ApprovalView::pending(at_ms, &input.settings.approval)),
            timeline: vec![TimelineEntry {
                at_ms,
                status: OrderStatus::Received,
                note: format!("order of {} line(s) received", input.lines.len()),
            }],
            revision: 1,
            ..Self::default()
        }
    }

    /// Moves to `status` and notes it in the timeline.
    pub fn advance(&mut self, status: OrderStatus, at_ms: i64, note: impl Into<String>) {
        self.status = status;
        self.push(at_ms, note.into());
    }

    /// Notes something in the timeline without changing the status.
    pub fn note(&mut self, at_ms: i64, note: impl Into<String>) {
        self.push(at_ms, note.into());
    }

    fn push(&mut self, at_ms: i64, note: String) {
        self.revision += 1;
        self.timeline.push(TimelineEntry { at_ms, status: self.status, note: truncated(note, MAX_NOTE_CHARS) });
        if self.timeline.len() > TIMELINE_HEAD + TIMELINE_TAIL {
            self.timeline.remove(TIMELINE_HEAD);
            self.omitted_entries += 1;
        }
    }
}

/// `text` cut to at most `max_chars` characters, with an ellipsis when something was cut.
pub fn truncated(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name_and_json() {
        for status in ALL_STATUSES {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), status);
        }
        assert_eq!(OrderStatus::parse("SHIPPED_TWICE"), None);
    }

    #[test]
    fn the_timeline_stays_bounded_and_the_revision_keeps_counting() {
        let mut snapshot = OrderSnapshot::received(&OrderInput::default(), 0);
        for at_ms in 1..=1000 {
            snapshot.note(at_ms, "x".repeat(10_000));
        }
        assert_eq!(snapshot.timeline.len(), TIMELINE_HEAD + TIMELINE_TAIL);
        assert_eq!(snapshot.revision, 1001);
        assert_eq!(snapshot.omitted_entries, 1001 - (TIMELINE_HEAD + TIMELINE_TAIL) as u64);
        // The first entry (how it started) and the newest survive; every note is cut.
        assert_eq!(snapshot.timeline[0].status, OrderStatus::Received);
        assert_eq!(snapshot.timeline.last().unwrap().at_ms, 1000);
        assert!(snapshot.timeline.iter().all(|entry| entry.note.chars().count() <= MAX_NOTE_CHARS + 1));
        assert!(serde_json::to_vec(&snapshot).unwrap().len() < 48 * 1024, "fits the api's body limit");
        assert_eq!(truncated("héllo".into(), 2), "hé…");
        assert_eq!(truncated("hé".into(), 2), "hé");
    }

    #[test]
    fn exactly_four_statuses_are_terminal() {
        let terminal: Vec<_> = ALL_STATUSES.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [OrderStatus::Completed, OrderStatus::Rejected, OrderStatus::Compensated, OrderStatus::Cancelled]
        );
    }
}
