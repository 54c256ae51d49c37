//! `BatchWorkflow`: many orders as child workflows, fanned out through a sliding window and
//! fanned back in as one aggregate.

mod model;
mod workflow;

pub use model::{
    BatchInput, BatchProgress, BatchState, OrderTemplate, RollbackPolicy, batch_workflow_id, child_order_id,
};
pub use workflow::BatchWorkflow;
