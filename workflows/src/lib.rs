//! Workflow code of the shop: deterministic, I/O-free.
//!
//! Everything in this crate runs inside a Temporal workflow task and is replayed from history,
//! so it may not touch the outside world: no network, files, clocks, randomness or tokio
//! primitives. Time comes from `ctx.workflow_time()`, waiting from `ctx.timer(..)`, concurrency
//! from the SDK's `select!`/`join_all`, and every side effect is an activity whose contract is
//! declared in [`contracts`] and implemented in the `capstone-activities` crate.
//!
//! See `docs/day-02.md` for how these rules apply to this code.

pub mod batch;
pub mod bench;
pub mod contracts;
pub mod hello;
pub mod ingestion;
pub mod operations;
pub mod order;
pub mod payloads;
pub mod shipment;
pub mod subscription;
pub mod task_queues;
pub mod time;
