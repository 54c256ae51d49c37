//! Operations: the work the shop's Schedules run (reconcile, retention, the daily report).
//! Each activity asks the service that owns the data; none of them changes an order's money.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /internal/reconcile` on the api: compare the read model with the workflows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReconcileRequest {
    /// Rows and workflows younger than this are left alone: they may be mid-write.
    pub settle_ms: i64,
    /// How far back to look for order workflows and charges.
    pub lookback_ms: i64,
    /// At most this many orders per run (the next run goes on).
    pub limit: i64,
    /// Orders with a charge in the lookback (filled in by the activity from the ledger).
    #[serde(default)]
    pub charged_orders: Vec<String>,
}

/// `POST /ledger/charged-orders` on payments: orders charged since `since_ms`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChargedOrdersRequest {
    pub since_ms: i64,
    pub limit: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ChargedOrders {
    pub order_ids: Vec<String>,
}

/// The ledger's side of a period (`POST /ledger/totals` on payments).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerTotals {
    pub charged_cents: i64,
    pub refunded_cents: i64,
}

/// What one disagreement between the read model, the workflows and the ledger was.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An order workflow with no row: repaired by writing the row from the workflow's state.
    WorkflowWithoutRow,
    /// A row whose status is not the workflow's: repaired by rewriting the row.
    StatusMismatch,
    /// A row (not final) whose workflow does not exist: counted, not repaired (the row holds
    /// no payment details to start it again with, by design).
    RowWithoutWorkflow,
    /// A charge for an order that has neither a row nor a workflow: counted for a person.
    ChargeWithoutOrder,
}

impl FindingKind {
    pub const ALL: [FindingKind; 4] =
        [Self::WorkflowWithoutRow, Self::StatusMismatch, Self::RowWithoutWorkflow, Self::ChargeWithoutOrder];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkflowWithoutRow => "workflow_without_row",
            Self::StatusMismatch => "status_mismatch",
            Self::RowWithoutWorkflow => "row_without_workflow",
            Self::ChargeWithoutOrder => "charge_without_order",
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub order_id: String,
    pub repaired: bool,
    pub detail: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconcileReport {
    /// Orders looked at (rows and workflows).
    pub checked: i64,
    pub findings: Vec<Finding>,
}

/// What retention purges: each owner deletes its own old rows.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PurgeTarget {
    /// The api's read-model rows of orders that ended (never the ledger).
    FinishedOrders,
    /// The notifications outbox: delivered or failed e-mails.
    SentEmails,
    /// The shipping service's carrier events of delivered parcels.
    CarrierEvents,
}

impl PurgeTarget {
    pub const ALL: [PurgeTarget; 3] = [Self::FinishedOrders, Self::SentEmails, Self::CarrierEvents];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FinishedOrders => "finished_orders",
            Self::SentEmails => "sent_emails",
            Self::CarrierEvents => "carrier_events",
        }
    }
}

/// `POST /internal/purge` on the owning service: one bounded batch.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PurgeRequest {
    pub target: PurgeTarget,
    /// Rows last changed before this are purged.
    pub older_than_ms: i64,
    /// At most this many rows per call.
    pub batch: i64,
}

impl PurgeRequest {
    /// The largest batch an owner deletes in one call.
    pub const MAX_BATCH: i64 = 1000;

    /// What each owner checks before it deletes anything: the request names what `owner`
    /// purges, in a batch of `1..=MAX_BATCH` rows. The error names what was wrong.
    pub fn check(&self, owner: PurgeTarget) -> Result<(), String> {
        if self.target != owner || !(1..=Self::MAX_BATCH).contains(&self.batch) {
            return Err(format!("this service purges {}, in batches of 1..={}", owner.as_str(), Self::MAX_BATCH));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub target: PurgeTarget,
    pub deleted: i64,
}

/// `POST /internal/totals` on the api and `POST /ledger/totals` on payments, for one period.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TotalsRequest {
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Orders placed in the period, by their status now.
    pub orders_by_status: BTreeMap<String, i64>,
    /// Cents charged, refunded and voided in the period (the ledger's view).
    pub charged_cents: i64,
    pub refunded_cents: i64,
}

pub struct OperationsActivities;

#[activity_definitions]
impl OperationsActivities {
    #[activity(name = "operations.reconcile_orders")]
    pub fn reconcile_orders(request: ReconcileRequest) -> Result<ReconcileReport, ActivityError> {
        unimplemented!()
    }

    /// Purges `target` batch by batch until a batch comes back short, heartbeating the count.
    #[activity(name = "operations.purge")]
    pub fn purge(request: PurgeRequest) -> Result<Purged, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "operations.day_totals")]
    pub fn day_totals(request: TotalsRequest) -> Result<DayTotals, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::operations_activities::*;
}
