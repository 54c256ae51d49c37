//! `capstone setup-temporal`: prepares a Temporal namespace for the shop: creates the
//! custom search attributes the order workflow upserts and the shop's schedules (reconcile,
//! retention, daily report; `temporal/schedules.rs`). Idempotent; run it once per namespace
//! and after each deploy, on any server that `capstone dev` did not start.
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
    #[command(flatten)]
    pub task_queues: crate::config::TaskQueueArgs,
    #[command(flatten)]
    pub schedules: crate::config::ScheduleArgs,
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
        }
        Ok(created) => {
            println!("Created the search attributes {} in namespace {namespace}.", created.join(", "));
        }
        Err(error) if temporal::search_attributes::operator_api_closed(&error) => {
            explain_cloud_steps(&client, namespace).await?
        }
        Err(error) => return Err(error),
    }
    let retention = args.schedules.workflow_retention;
    match temporal::namespace::set_retention(&client, namespace, retention).await {
        Ok(()) => {
            println!("Namespace {namespace} keeps closed workflows for {}.", humantime::format_duration(retention))
        }
        Err(error) if temporal::search_attributes::operator_api_closed(&error) => println!(
            "This key may not change namespace {namespace}'s retention; set it once with:\n  {}",
            temporal::namespace::tcld_command(namespace, retention)
        ),
        Err(error) => return Err(error),
    }
    if let Some(settings) = args.schedules.settings(&args.task_queues.queues()) {
        match temporal::schedules::ensure(&client, &settings).await {
            Ok(created) => println!(
                "Schedules {} are in place in namespace {namespace} (created now: {}).",
                temporal::schedules::ALL.join(", "),
                if created.is_empty() { "none".to_owned() } else { created.join(", ") }
            ),
            // A read-only key (Temporal Cloud's setup check may use one): the shop runs without
            // its schedules; say how to get them.
            Err(error) if temporal::search_attributes::operator_api_closed(&error) => println!(
                "This key may not create schedules in namespace {namespace} ({error:#}). The shop runs \
                 without them; run `capstone setup-temporal` once with a key that may write the namespace \
                 to create {}.",
                temporal::schedules::ALL.join(", ")
            ),
            Err(error) => return Err(error),
        }
    }
    Ok(())
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
