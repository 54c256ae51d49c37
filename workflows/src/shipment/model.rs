use crate::contracts::shipping::CarrierEventKind;
use crate::contracts::{Address, StockLine};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShipmentInput {
    pub order_id: String,
    pub address: Address,
    pub lines: Vec<StockLine>,
    pub activity_task_queue: String,
    /// Follow the parcel to the door: wait for the carrier's events and report each to
    /// the order. Absent in shipments started before the journey (and by orders that ask for
    /// none): the workflow ends once the carrier is booked.
    #[serde(default)]
    pub journey: Option<Journey>,
}

/// What the shipment needs to follow its parcel.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// The order's workflow: every change is signalled to it (`shipment_progress`).
    pub parent_workflow_id: String,
    /// From the booking: how long the parcel may take before a claim is opened.
    pub delivery_deadline_secs: u64,
    /// Who is told when the parcel is late.
    pub customer_email: String,
}

/// Child workflow ids derive from the parent's, so a retried start finds the same child
/// instead of shipping twice, and the Web UI lists parent and child next to each other.
pub fn shipment_workflow_id(order_workflow_id: &str) -> String {
    format!("{order_workflow_id}-shipment")
}

/// What the shipment tells its order, as the signal `shipment_progress`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShipmentProgress {
    pub step: JourneyStep,
    /// Workflow time of the change (ms since the epoch).
    pub at_ms: i64,
    pub carrier: String,
    pub tracking_number: String,
    pub shipment_id: String,
    #[serde(default)]
    pub claim_id: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// Where a parcel is on its way to the customer.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStep {
    Booked,
    Dispatched,
    OutForDelivery,
    DeliveryFailed,
    /// The delivery deadline passed: a claim was opened with the carrier and the customer told.
    ClaimOpened,
    Delivered,
}

impl From<CarrierEventKind> for JourneyStep {
    fn from(kind: CarrierEventKind) -> Self {
        match kind {
            CarrierEventKind::Dispatched => Self::Dispatched,
            CarrierEventKind::OutForDelivery => Self::OutForDelivery,
            CarrierEventKind::DeliveryFailed => Self::DeliveryFailed,
            CarrierEventKind::Delivered => Self::Delivered,
        }
    }
}

impl JourneyStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Dispatched => "dispatched",
            Self::OutForDelivery => "out_for_delivery",
            Self::DeliveryFailed => "delivery_failed",
            Self::ClaimOpened => "claim_opened",
            Self::Delivered => "delivered",
        }
    }

    /// A line of the order's timeline.
    pub fn describe(&self, progress: &ShipmentProgress) -> String {
        let carrier = &progress.carrier;
        let tracking = &progress.tracking_number;
        match self {
            Self::Booked => format!("booked with {carrier} ({tracking})"),
            Self::Dispatched => format!("{carrier} picked the parcel up"),
            Self::OutForDelivery => format!("{carrier}: out for delivery"),
            Self::DeliveryFailed => format!(
                "{carrier}: delivery attempt failed{}; the carrier tries again",
                progress.detail.as_deref().map(|detail| format!(" ({detail})")).unwrap_or_default()
            ),
            Self::ClaimOpened => format!(
                "delivery deadline missed: claim {} opened with {carrier}, the customer told",
                progress.claim_id.as_deref().unwrap_or("?")
            ),
            Self::Delivered => format!("delivered by {carrier}"),
        }
    }
}
