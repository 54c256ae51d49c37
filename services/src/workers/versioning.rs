//! Worker Deployment versioning: every worker says which deployment and build it
//! belongs to, and the server routes each workflow to a build that can run it.
//!
//! - Orders (and batches, shipments, hello, stock ingestion) are **pinned**: an order runs to
//!   its end on the build that started it, however many builds are deployed meanwhile. A new
//!   build may change the order workflow in a way old histories would not replay.
//! - Subscriptions live for months and are **auto-upgrade**: each moves to the current build at
//!   its next workflow task, so a change to them must still replay (`patched`). The SDK sets the
//!   behaviour per worker, not per workflow type, so subscriptions have their own task queue
//!   and worker.
//! - The activity worker carries the same deployment and build: a pinned order's activities
//!   run on workers of its own build, with the contracts its workflow code was written against.
//!
//! A new deployment has no current version, and until it has one no workflow task is
//! dispatched. `MakeCurrent::IfNone` makes the very first build current by itself; every
//! later one is made current by an operator (`temporal worker deployment set-current-version`).
//! Only `capstone dev`, the one build on a learner's machine, takes over (`MakeCurrent::Always`).

use std::time::Duration;
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::{
    protos::temporal::api::workflowservice::v1::{
        DescribeWorkerDeploymentRequest, SetWorkerDeploymentCurrentVersionRequest,
    },
    worker::{VersioningBehavior, WorkerDeploymentOptions, WorkerDeploymentVersion},
};
use tokio_util::sync::CancellationToken;

/// The build this binary was made from (the git commit; see `build.rs`).
pub const BUILD_ID: &str = env!("CAPSTONE_BUILD_ID");

/// The build id of `capstone dev`, whatever its commit (see `dev/mod.rs`).
pub const DEV_BUILD_ID: &str = "dev";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioning {
    /// `false`: unversioned workers, as before worker versioning (any build takes any task).
    pub enabled: bool,
    pub deployment_name: String,
    pub build_id: String,
    /// Whether this build makes itself the deployment's current version.
    pub make_current: MakeCurrent,
}

/// When a worker makes its own build the deployment's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MakeCurrent {
    /// Never: an operator does (`temporal worker deployment set-current-version`).
    Never,
    /// When the deployment has no current version yet: the very first deploy.
    IfNone,
    /// Always, taking over from any other build: `capstone dev`, the one build on a learner's
    /// machine, which must be current again after an experiment with a second build.
    Always,
}

impl Default for Versioning {
    fn default() -> Self {
        Self {
            enabled: true,
            deployment_name: "capstone".to_owned(),
            build_id: BUILD_ID.to_owned(),
            make_current: MakeCurrent::IfNone,
        }
    }
}

impl Versioning {
    /// The options of a worker whose workflows get `behavior` (`None` for activity workers).
    /// Unversioned, the worker still reports its build id (but takes any task).
    pub fn options(&self, behavior: Option<VersioningBehavior>) -> WorkerDeploymentOptions {
        if !self.enabled {
            return WorkerDeploymentOptions::from_build_id(self.build_id.clone());
        }
        let version = WorkerDeploymentVersion::builder()
            .deployment_name(self.deployment_name.clone())
            .build_id(self.build_id.clone())
            .build();
        WorkerDeploymentOptions::new(version)
            .use_worker_versioning(true)
            .maybe_default_versioning_behavior(behavior)
            .build()
    }

    /// `deployment:build`, as the server's `TemporalWorkerDeploymentVersion` search attribute
    /// and the CLI write it.
    pub fn version(&self) -> String {
        format!("{}:{}", self.deployment_name, self.build_id)
    }
}

/// Until `stop`: once the server knows this build, makes it current if `make_current` says
/// so (with `IfNone`, only while the deployment has no current version). Stops as soon as the
/// deployment has a current version it may not replace, or this build is current.
pub async fn claim_current(client: Client, versioning: Versioning, stop: CancellationToken) {
    if !versioning.enabled || versioning.make_current == MakeCurrent::Never {
        return;
    }
    let mut service = client.connection().workflow_service();
    let namespace = client.namespace();
    let mut every = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.cancelled() => return,
        }
        let request = DescribeWorkerDeploymentRequest {
            namespace: namespace.clone(),
            deployment_name: versioning.deployment_name.clone(),
        };
        let Ok(described) = service.describe_worker_deployment(tonic_request(request)).await else {
            continue; // not known yet: no worker of it has polled
        };
        let described = described.into_inner();
        let info = described.worker_deployment_info.unwrap_or_default();
        let current = info.routing_config.as_ref().and_then(|routing| routing.current_deployment_version.as_ref());
        let may_replace = versioning.make_current == MakeCurrent::Always;
        if let Some(current) = current.filter(|current| !may_replace || current.build_id == versioning.build_id) {
            tracing::info!(
                deployment = %versioning.deployment_name,
                current = %current.build_id,
                this_build = %versioning.build_id,
                "the deployment has a current version"
            );
            return;
        }
        let ours_is_known = info
            .version_summaries
            .iter()
            .any(|summary| summary.deployment_version.as_ref().is_some_and(|v| v.build_id == versioning.build_id));
        if !ours_is_known {
            continue;
        }
        let request = SetWorkerDeploymentCurrentVersionRequest {
            namespace: namespace.clone(),
            deployment_name: versioning.deployment_name.clone(),
            build_id: versioning.build_id.clone(),
            conflict_token: described.conflict_token,
            identity: format!("capstone-worker@{}", std::process::id()),
            ..Default::default()
        };
        match service.set_worker_deployment_current_version(tonic_request(request)).await {
            Ok(_) => {
                tracing::info!(version = %versioning.version(), "this build is now the current version");
                return;
            }
            // Another worker got there first (a conflict), or the version is still registering
            // its task queues: look again.
            Err(status) => tracing::debug!("set-current-version: {status}"),
        }
    }
}

fn tonic_request<T>(message: T) -> temporalio_client::tonic::Request<T> {
    temporalio_client::tonic::Request::new(message)
}
