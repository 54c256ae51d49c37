//! `capstone setup-temporal`: prepares a Temporal namespace for the shop (day 10): creates the
//! custom search attributes the order workflow upserts. Idempotent; run it once per namespace
//! on any server that `capstone dev` did not start.

use crate::{config::TemporalArgs, temporal};
use clap::Args;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct SetupTemporalArgs {
    #[command(flatten)]
    pub temporal: TemporalArgs,
    /// Print the equivalent `temporal operator` commands instead of running anything.
    #[arg(long)]
    pub print: bool,
}

pub async fn run(args: SetupTemporalArgs) -> anyhow::Result<()> {
    let namespace = &args.temporal.temporal_namespace;
    if args.print {
        for command in temporal::search_attributes::cli_commands(namespace) {
            println!("{command}");
        }
        return Ok(());
    }
    let client = temporal::connect(
        &args.temporal.temporal_address,
        namespace,
        "capstone-setup",
        Duration::from_secs(30),
        &args.temporal.key_ring()?,
    )
    .await?;
    let created = temporal::search_attributes::register(&client, namespace).await?;
    if created.is_empty() {
        println!("Namespace {namespace} already has every search attribute the shop uses.");
    } else {
        println!("Created the search attributes {} in namespace {namespace}.", created.join(", "));
    }
    Ok(())
}
