//! `HelloWorkflow`: the smallest workflow that does something real.
//!
//! It waits on a durable timer, then asks an activity to compose a greeting. Run it with
//! `capstone hello Ada` while `capstone dev` is running, then find it in the Web UI.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{activity_definitions, workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult, activities::ActivityError};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct HelloInput {
    pub name: String,
    /// How long the workflow sleeps before greeting. The sleep is a durable timer: stop the
    /// worker during it, start it again, and the workflow carries on where it was.
    pub pause_ms: u64,
    /// The task queue the activity worker polls.
    pub activity_task_queue: String,
}

#[workflow]
#[derive(Default)]
pub struct HelloWorkflow;

#[workflow_methods]
impl HelloWorkflow {
    #[run(name = "HelloWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: HelloInput) -> WorkflowResult<String> {
        // Not `tokio::time::sleep`: a workflow timer is recorded in history (TimerStarted,
        // TimerFired) and survives worker restarts.
        ctx.timer(Duration::from_millis(input.pause_ms)).await;

        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
            .task_queue(input.activity_task_queue)
            .build();
        let greeting = ctx.execute_activity(HelloActivities::compose_greeting, input.name, options).await?;
        Ok(greeting)
    }
}

pub struct HelloActivities;

#[activity_definitions]
impl HelloActivities {
    #[activity(name = "hello.compose_greeting")]
    pub fn compose_greeting(name: String) -> Result<String, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::hello_activities::*;
}
