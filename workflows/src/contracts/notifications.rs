//! Notifications service: an e-mail outbox, idempotent by message key.

use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// `POST /emails`: queue an e-mail. The `message_key` (order id + purpose) makes a retried
/// send a no-op instead of a second e-mail.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SendEmailRequest {
    pub message_key: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct EmailReceipt {
    pub message_key: String,
}

pub struct NotificationActivities;

#[activity_definitions]
impl NotificationActivities {
    #[activity(name = "notifications.send_email")]
    pub fn send_email(request: SendEmailRequest) -> Result<EmailReceipt, ActivityError> {
        unimplemented!()
    }
}

/// Marker types of the definitions above, for `#[activity(definition = ...)]`.
pub mod activity {
    pub use super::notification_activities::*;
}
