//! Turning activity and child-workflow errors into the order's outcome.

use super::{OrderStatus, model::truncated};
use temporalio_common::error::IncomingError;

/// Why the saga stopped before completing, and which terminal status that gives the order.
#[derive(Debug, Clone)]
pub(super) struct Stop {
    pub status: OrderStatus,
    pub reason: String,
}

/// A reason may quote a service's message: it is cut to this length.
const MAX_REASON_CHARS: usize = 500;

impl Stop {
    fn new(status: OrderStatus, reason: impl Into<String>) -> Self {
        Self { status, reason: truncated(reason.into(), MAX_REASON_CHARS) }
    }

    pub fn rejected(reason: impl Into<String>) -> Self {
        Self::new(OrderStatus::Rejected, reason)
    }

    pub fn compensated(reason: impl Into<String>) -> Self {
        Self::new(OrderStatus::Compensated, reason)
    }

    pub fn cancelled(reason: impl Into<String>) -> Self {
        Self::new(OrderStatus::Cancelled, reason)
    }
}

/// The failure at the bottom of a cause chain: its type (e.g. `CardDeclined`) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootCause {
    pub failure_type: Option<String>,
    pub message: String,
}

impl RootCause {
    /// Walks `ActivityFailure -> ApplicationFailure` (or `ChildWorkflowFailure ->
    /// ActivityFailure -> ApplicationFailure`) down to the failure that says what went wrong.
    pub fn of(cause: Option<&IncomingError>, fallback: impl ToString) -> Self {
        let Some(mut error) = cause else {
            return Self { failure_type: None, message: fallback.to_string() };
        };
        while let Some(deeper) = error.cause() {
            error = deeper;
        }
        match error {
            IncomingError::Application(app) => {
                Self { failure_type: app.type_name().map(str::to_owned), message: app.to_string() }
            }
            other => Self { failure_type: None, message: other.failure().message.clone() },
        }
    }

    pub fn is(&self, failure_type: &str) -> bool {
        self.failure_type.as_deref() == Some(failure_type)
    }
}
