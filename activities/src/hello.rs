//! The day-1 activity. It does no I/O, which is what makes it a good first activity to read:
//! the shape (contract in `workflows`, implementation here) is the same as for the real ones.

use capstone_workflows::hello::activity::ComposeGreeting;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct HelloActivities;

#[activities]
impl HelloActivities {
    #[activity(definition = ComposeGreeting)]
    pub async fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}
