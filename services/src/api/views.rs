//! The JSON the api answers with: written by the api, and read by its clients in this
//! repository (the load generator, the benchmark, `dev`'s demo order, the tests) through the
//! same types, so that a field renamed here is renamed for them too.

use super::read_model::OrderRow;
use crate::rfc3339;
use capstone_workflows::{
    contracts::Address,
    order::{ApprovalState, ApprovalView, OrderSnapshot, OrderStatus},
};
use serde::{Deserialize, Serialize};

/// Where an answer about orders comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadSource {
    /// A query to the running workflow: the order as it is now.
    Workflow,
    /// The api's table, written by the workflow at each status: possibly a step behind.
    ReadModel,
    /// Temporal's visibility store (search attributes): eventually consistent.
    Visibility,
}

impl ReadSource {
    /// `source=` as a request names it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "workflow" => Some(Self::Workflow),
            "read_model" => Some(Self::ReadModel),
            "visibility" => Some(Self::Visibility),
            _ => None,
        }
    }
}

/// The answer to `POST /orders`: `201` once the stock is reserved (with `reservation_id`),
/// `202` when the order was accepted and its checkout is still under way (or was not asked
/// for: `Prefer: respond-async`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accepted {
    pub order_id: String,
    pub workflow_id: String,
    pub status: OrderStatus,
    pub status_url: String,
    pub total_cents: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
}

/// Where the parcel is, with the time as a date.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryJson {
    pub step: capstone_workflows::shipment::JourneyStep,
    pub carrier: String,
    pub tracking_number: String,
    pub claim_id: Option<String>,
    pub updated_at: String,
}

/// The approval part of an order, with the deadline as a date.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalJson {
    pub state: ApprovalState,
    pub deadline: String,
    pub operator: Option<String>,
    pub reason: Option<String>,
    pub via: Option<String>,
}

impl From<ApprovalView> for ApprovalJson {
    fn from(view: ApprovalView) -> Self {
        Self {
            state: view.state,
            deadline: rfc3339(view.deadline_ms),
            operator: view.operator,
            reason: view.reason,
            via: view.via,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineView {
    pub at: String,
    pub status: OrderStatus,
    pub note: String,
}

/// `GET /orders/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: String,
    pub workflow_id: String,
    pub customer_id: String,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub total_cents: i64,
    pub reservation_id: Option<String>,
    pub charge_id: Option<String>,
    pub refund_id: Option<String>,
    pub shipment_id: Option<String>,
    pub tracking_number: Option<String>,
    pub shipping_address: Address,
    pub approval: Option<ApprovalJson>,
    /// Where the parcel is, for orders that follow it (`step`, `carrier`, `tracking_number`,
    /// `claim_id`, `updated_at`).
    pub delivery: Option<DeliveryJson>,
    /// Compensations that failed for good: a person must look at these.
    pub unresolved: Vec<String>,
    /// The first entries and the newest (bounded; see `OrderSnapshot::timeline`).
    pub timeline: Vec<TimelineView>,
    /// Entries left out of the middle of the timeline to keep it bounded.
    pub omitted_entries: u64,
    pub created_at: String,
    pub updated_at: String,
    /// `workflow` when answered by a query to the running workflow, `read_model` otherwise.
    pub source: ReadSource,
    pub temporal_ui_url: String,
}

impl OrderView {
    pub fn live(row: &OrderRow, snapshot: OrderSnapshot, temporal_ui_url: String) -> Self {
        Self::build(row, snapshot, ReadSource::Workflow, temporal_ui_url)
    }

    pub fn recorded(row: &OrderRow, temporal_ui_url: String) -> Self {
        let snapshot = row.snapshot.clone().unwrap_or_else(|| OrderSnapshot {
            order_id: row.order_id.clone(),
            customer_id: row.customer_id.clone(),
            status: row.status,
            total_cents: row.total_cents,
            ..OrderSnapshot::default()
        });
        Self::build(row, snapshot, ReadSource::ReadModel, temporal_ui_url)
    }

    fn build(row: &OrderRow, snapshot: OrderSnapshot, source: ReadSource, temporal_ui_url: String) -> Self {
        Self {
            order_id: snapshot.order_id,
            workflow_id: row.workflow_id.clone(),
            customer_id: snapshot.customer_id,
            status: snapshot.status,
            reason: snapshot.reason,
            total_cents: snapshot.total_cents,
            reservation_id: snapshot.reservation_id,
            charge_id: snapshot.charge_id,
            refund_id: snapshot.refund_id,
            shipment_id: snapshot.shipment_id,
            tracking_number: snapshot.tracking_number,
            shipping_address: snapshot.shipping_address,
            approval: snapshot.approval.map(ApprovalJson::from),
            delivery: snapshot.delivery.map(|delivery| DeliveryJson {
                step: delivery.step,
                carrier: delivery.carrier,
                tracking_number: delivery.tracking_number,
                claim_id: delivery.claim_id,
                updated_at: rfc3339(delivery.updated_at_ms),
            }),
            unresolved: snapshot.unresolved,
            timeline: snapshot
                .timeline
                .into_iter()
                .map(|entry| TimelineView { at: rfc3339(entry.at_ms), status: entry.status, note: entry.note })
                .collect(),
            omitted_entries: snapshot.omitted_entries,
            created_at: rfc3339(row.created_at_ms),
            updated_at: rfc3339(row.updated_at_ms),
            source,
            temporal_ui_url,
        }
    }
}

/// One line of `GET /orders`. Visibility answers add `region`, `summary` (the memo) and the
/// execution's own status; a search attribute an old workflow never set stays empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderSummary {
    pub order_id: String,
    pub workflow_id: String,
    pub customer_id: String,
    pub status: Option<OrderStatus>,
    pub total_cents: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_status: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /orders`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderList {
    /// `visibility` or `read_model`.
    pub source: ReadSource,
    /// The list query sent to Temporal, when visibility answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub orders: Vec<OrderSummary>,
}

impl OrderList {
    pub fn from_read_model(rows: Vec<OrderRow>) -> Self {
        let orders = rows
            .into_iter()
            .map(|row| OrderSummary {
                order_id: row.order_id,
                workflow_id: row.workflow_id,
                customer_id: row.customer_id,
                status: Some(row.status),
                total_cents: row.total_cents,
                region: None,
                summary: None,
                execution_status: None,
                created_at: rfc3339(row.created_at_ms),
                updated_at: rfc3339(row.updated_at_ms),
            })
            .collect();
        Self { source: ReadSource::ReadModel, query: None, orders }
    }
}

/// The answer to `POST /batches`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchAccepted {
    pub batch_id: String,
    pub workflow_id: String,
    pub count: u32,
    pub total_cents_each: i64,
    pub status_url: String,
}

/// `GET /batches/{id}`: the batch's `progress` query, with where to see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchView {
    pub batch_id: String,
    pub workflow_id: String,
    #[serde(flatten)]
    pub progress: capstone_workflows::batch::BatchProgress,
    pub temporal_ui_url: String,
}

/// The answer to `POST /subscriptions` (`GET /subscriptions/{id}` answers the workflow's
/// own `SubscriptionView`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionAccepted {
    pub subscription_id: String,
    pub workflow_id: String,
    pub status_url: String,
}
