//! The shop's integration tests in one test binary: each module is one suite, in a file of its
//! own beside this one (tests/README.md says what each proves). One binary links the Temporal
//! SDK's core, sqlx and axum once, not once per suite. Run one suite with its module path:
//! `cargo test -p capstone --test integration order_saga::`.
//!
//! Two files are binaries of their own: tracing.rs installs the process's tracing subscriber,
//! and exercises.rs holds the course's checks, which learners and scripts/check-solutions.sh
//! build and run apart from the shop's tests. Everything else shares one process and its
//! metrics registry: a test that reads a counter asserts "at least", never "exactly".

mod support;

mod activities;
mod approval;
mod bad_input;
mod batches;
mod checkout;
mod console;
mod deploy;
mod dev_command;
mod docs;
mod email;
mod failures;
mod faults;
mod hostile;
mod journey;
mod loadgen;
mod lost_answers;
mod observability;
mod order_saga;
mod postgres;
mod replay;
mod saga_random;
mod schedules;
mod secure_connections;
mod security;
mod subscriptions;
mod versioning;
mod visibility;
mod workers;
mod workflow_mocked;
