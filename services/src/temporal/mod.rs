//! Talking to Temporal: connecting clients, finding the CLI, running a dev server.

pub mod cli_binary;
pub mod client;
pub mod dev_server;
pub mod namespace;
pub mod schedules;
pub mod search_attributes;

pub use client::{TemporalConnection, answers, connect};
