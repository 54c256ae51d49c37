//! `capstone setup-temporal`: prepares a Temporal namespace for the shop (day 10): creates the
//! custom search attributes the order workflow upserts. Idempotent; run it once per namespace
//! on any server that `capstone dev` did not start.
//!
//! Where the operator API is closed (Temporal Cloud: its namespaces' keys may not create
//! search attributes), it prints the `tcld` command and the Cloud UI steps instead, then checks
//! with a visibility query which attributes exist, and fails until all of them do.

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
    let connection = args.temporal.connection()?;
    let namespace = &connection.namespace;
    if args.print {
        for command in temporal::search_attributes::cli_commands(namespace) {
            println!("{command}");
        }
        return Ok(());
    }
    let client =
        temporal::connect(&connection, "capstone-setup", Duration::from_secs(30), &args.temporal.key_ring()?).await?;
    match temporal::search_attributes::register(&client, namespace).await {
        Ok(created) if created.is_empty() => {
            println!("Namespace {namespace} already has every search attribute the shop uses.");
            Ok(())
        }
        Ok(created) => {
            println!("Created the search attributes {} in namespace {namespace}.", created.join(", "));
            Ok(())
        }
        Err(error) if temporal::search_attributes::operator_api_closed(&error) => {
            explain_cloud_steps(&client, namespace).await
        }
        Err(error) => Err(error),
    }
}

/// Temporal Cloud (or any server whose operator API this key may not use): the steps, then
/// the check.
async fn explain_cloud_steps(client: &temporalio_client::Client, namespace: &str) -> anyhow::Result<()> {
    println!(
        "This key may not use the operator API of namespace {namespace} (Temporal Cloud manages search attributes \
         itself). Create them once, either with tcld (logged in with `tcld login`):\n\n  {}\n\n\
         or in the Cloud UI: Namespaces > {namespace} > Search Attributes > Add, once for each of {}.",
        temporal::search_attributes::tcld_command(namespace),
        temporal::search_attributes::cli_commands(namespace)
            .iter()
            .zip(capstone_workflows::order::visibility::custom_search_attributes())
            .map(|(_, (name, kind))| format!("{name} ({kind})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let missing = temporal::search_attributes::missing_by_query(client).await?;
    if missing.is_empty() {
        println!("\nChecked with a visibility query: namespace {namespace} has every search attribute the shop uses.");
        return Ok(());
    }
    let names: Vec<String> = missing.iter().map(|(name, kind)| format!("{name} ({kind})")).collect();
    anyhow::bail!(
        "namespace {namespace} lacks the search attributes {}: create them as above, then run `capstone setup-temporal` again to check",
        names.join(", ")
    )
}
