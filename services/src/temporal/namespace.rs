//! The namespace's workflow retention: how long the server keeps a closed workflow's
//! history. `setup-temporal` sets it; the app's own rows have the retention schedule.

use anyhow::Context;
use std::time::Duration;
use temporalio_client::Client;
use temporalio_common::protos::temporal::api::{
    namespace::v1::NamespaceConfig, workflowservice::v1::UpdateNamespaceRequest,
};

/// Sets the namespace's workflow execution retention to `ttl` (the server keeps its other
/// settings: only the fields given change).
pub async fn set_retention(client: &Client, namespace: &str, ttl: Duration) -> anyhow::Result<()> {
    let request = UpdateNamespaceRequest {
        namespace: namespace.to_owned(),
        config: Some(NamespaceConfig { workflow_execution_retention_ttl: ttl.try_into().ok(), ..Default::default() }),
        ..Default::default()
    };
    client
        .connection()
        .workflow_service()
        .update_namespace(temporalio_client::tonic::Request::new(request))
        .await
        .with_context(|| format!("setting the workflow retention of namespace {namespace}"))?;
    Ok(())
}

/// The `tcld` command for Temporal Cloud, where a namespace's keys may not change it.
pub fn tcld_command(namespace: &str, ttl: Duration) -> String {
    format!("tcld namespace retention set --namespace {namespace} --retention-days {}", ttl.as_secs().div_ceil(86_400))
}
