//! The custom search attributes the order workflow upserts must exist on the server
//! before the first order runs: an upsert of an unknown attribute fails the workflow task.
//!
//! * Dev server and tests: registered at start (`--search-attribute OrderStatus=Keyword`, ...).
//! * Any other server: `capstone setup-temporal` once per namespace (or the `temporal operator
//!   search-attribute create` commands it prints with `--print`).
//! * Temporal Cloud, where the operator API is not open to a namespace's keys: `setup-temporal`
//!   notices the refusal, prints the `tcld` commands and the Cloud UI steps, and checks with a
//!   visibility query whether each attribute exists.
//! * The workflow worker and the api check at start and refuse to run without them, with
//!   the fix in the message, instead of failing every order later.

use anyhow::Context;
use capstone_workflows::order::visibility::custom_search_attributes;
use std::collections::HashMap;
use temporalio_client::Client;
use temporalio_common::protos::temporal::api::{
    enums::v1::IndexedValueType,
    operatorservice::v1::{AddSearchAttributesRequest, ListSearchAttributesRequest},
};

/// `OrderStatus=Keyword`, ...: the dev server's `--search-attribute` values.
pub fn dev_server_flags() -> Vec<String> {
    custom_search_attributes().iter().map(|(name, kind)| format!("{name}={kind}")).collect()
}

/// The `temporal` commands that create them, for people who prefer the CLI.
pub fn cli_commands(namespace: &str) -> Vec<String> {
    custom_search_attributes()
        .iter()
        .map(|(name, kind)| {
            format!("temporal operator search-attribute create --namespace {namespace} --name {name} --type {kind}")
        })
        .collect()
}

/// The shop's attributes that `namespace` does not have yet.
pub async fn missing(client: &Client, namespace: &str) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let request = ListSearchAttributesRequest { namespace: namespace.to_owned() };
    let existing = client
        .connection()
        .operator_service()
        .list_search_attributes(temporalio_client::tonic::Request::new(request))
        .await
        .with_context(|| format!("listing the search attributes of namespace {namespace}"))?
        .into_inner()
        .custom_attributes;
    Ok(custom_search_attributes().into_iter().filter(|(name, _)| !existing.contains_key(*name)).collect())
}

/// Creates the missing attributes; returns their names (empty when all were there).
pub async fn register(client: &Client, namespace: &str) -> anyhow::Result<Vec<&'static str>> {
    let missing = missing(client, namespace).await?;
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let search_attributes: HashMap<String, i32> =
        missing.iter().map(|(name, kind)| (name.to_string(), indexed_value_type(kind) as i32)).collect();
    let request = AddSearchAttributesRequest { search_attributes, namespace: namespace.to_owned() };
    client
        .connection()
        .operator_service()
        .add_search_attributes(temporalio_client::tonic::Request::new(request))
        .await
        .with_context(|| format!("creating search attributes in namespace {namespace}"))?;
    Ok(missing.into_iter().map(|(name, _)| name).collect())
}

/// The `tcld` command that creates the shop's attributes in a Temporal Cloud namespace.
pub fn tcld_command(namespace: &str) -> String {
    let attributes: Vec<String> =
        custom_search_attributes().iter().map(|(name, kind)| format!("--search-attribute \"{name}={kind}\"")).collect();
    format!("tcld namespace search-attributes add --namespace {namespace} {}", attributes.join(" "))
}

/// Whether a refusal of the operator API means "not allowed here" (Temporal Cloud, or a
/// proxy that closes it), rather than a server that is down.
pub fn operator_api_closed(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    [
        "PermissionDenied",
        "Unimplemented",
        "Unauthenticated",
        "permission denied",
        "not supported",
        "Request unauthorized",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The shop's attributes that a visibility query in `namespace` does not know, asked without
/// the operator API: a list filter on an unknown attribute is refused by the server.
pub async fn missing_by_query(client: &Client) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let mut missing = Vec::new();
    for (name, kind) in custom_search_attributes() {
        let value = if kind == "Int" { "0" } else { "'probe'" };
        let query = format!("{name} = {value}");
        match client.count_workflows(query, temporalio_client::WorkflowCountOptions::default()).await {
            Ok(_) => {}
            Err(error) => {
                let text = error.to_string();
                if text.contains("InvalidArgument")
                    || text.to_lowercase().contains("invalid")
                    || text.contains("not defined")
                {
                    missing.push((name, kind));
                } else {
                    return Err(anyhow::anyhow!(text)).context(format!("asking visibility whether {name} exists"));
                }
            }
        }
    }
    Ok(missing)
}

/// Fails with the fix when an attribute is missing.
pub async fn require(client: &Client, namespace: &str) -> anyhow::Result<()> {
    let missing = match missing(client, namespace).await {
        Err(error) if operator_api_closed(&error) => missing_by_query(client).await?,
        other => other?,
    };
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|(name, _)| *name).collect();
    anyhow::bail!(
        "namespace {namespace} lacks the search attributes {}; orders would fail at their first status change.\n\
         Create them once with `capstone setup-temporal --temporal-namespace {namespace}` (or see `capstone setup-temporal --print`).",
        names.join(", ")
    )
}

fn indexed_value_type(kind: &str) -> IndexedValueType {
    match kind {
        "Keyword" => IndexedValueType::Keyword,
        "Int" => IndexedValueType::Int,
        "Text" => IndexedValueType::Text,
        "Double" => IndexedValueType::Double,
        "Bool" => IndexedValueType::Bool,
        "Datetime" => IndexedValueType::Datetime,
        "KeywordList" => IndexedValueType::KeywordList,
        other => unreachable!("custom_search_attributes names an unknown type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_type_is_known_to_the_server() {
        for (_, kind) in custom_search_attributes() {
            assert_ne!(indexed_value_type(kind), IndexedValueType::Unspecified);
        }
        assert_eq!(dev_server_flags()[0], "OrderStatus=Keyword");
    }
}
