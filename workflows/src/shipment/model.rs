use crate::contracts::{Address, StockLine};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShipmentInput {
    pub order_id: String,
    pub address: Address,
    pub lines: Vec<StockLine>,
    pub activity_task_queue: String,
}

/// Child workflow ids derive from the parent's, so a retried start finds the same child
/// instead of shipping twice, and the Web UI lists parent and child next to each other.
pub fn shipment_workflow_id(order_workflow_id: &str) -> String {
    format!("{order_workflow_id}-shipment")
}
