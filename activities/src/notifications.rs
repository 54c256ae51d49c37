use crate::service_client::ServiceClient;
use capstone_workflows::contracts::notifications::{EmailReceipt, SendEmailRequest, activity::SendEmail};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct NotificationActivities {
    notifications: ServiceClient,
}

impl NotificationActivities {
    pub fn new(notifications: ServiceClient) -> Self {
        Self { notifications }
    }
}

#[activities]
impl NotificationActivities {
    /// Idempotent by `message_key`: a retried send never mails the customer twice.
    #[activity(definition = SendEmail)]
    pub async fn send_email(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: SendEmailRequest,
    ) -> Result<EmailReceipt, ActivityError> {
        self.notifications.post("/emails", &request).await
    }
}
