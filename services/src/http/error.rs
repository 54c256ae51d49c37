//! One error shape for every service: an HTTP status and a JSON body `{error, detail}`.
//! `error` is a stable snake_case code that clients (and our activities) match on;
//! `detail` says what exactly was wrong, for a human.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use capstone_workflows::contracts::failures::Refusal;
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// The error codes clients match on that more than one route answers with. A refusal that
/// crosses into a workflow is declared with its failure type instead (`ApiError::refused`).
pub mod codes {
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const INVALID_BODY: &str = "invalid_body";
    pub const ORDER_NOT_FOUND: &str = "order_not_found";
    pub const ORDER_FINISHED: &str = "order_finished";
    pub const UPDATE_REFUSED: &str = "update_refused";
    pub const SHIPMENT_NOT_FOUND: &str = "shipment_not_found";
    /// Temporal did not answer: the client may retry the same request.
    pub const TEMPORAL_UNAVAILABLE: &str = "temporal_unavailable";
    /// One of our services did not answer: the client may retry the same request.
    pub const DEPENDENCY_UNAVAILABLE: &str = "dependency_unavailable";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
    /// Sent as `Retry-After` (429 and 503 answers that know when to come back).
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    detail: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self { status, error, detail: detail.into(), retry_after_secs: None }
    }

    /// 429: this caller (or everyone) is over a limit; come back after `retry_after_secs`.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail)
        }
    }

    /// 422: the request was well-formed JSON but its content is not acceptable.
    pub fn invalid(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error, detail)
    }

    pub fn not_found(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error, detail)
    }

    pub fn conflict(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error, detail)
    }

    /// 503: something we depend on is down; the client may retry the same request.
    pub fn unavailable(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error, detail)
    }

    /// `422 invalid_request`: the request's content breaks a rule the detail names.
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::invalid(codes::INVALID_REQUEST, detail)
    }

    /// A business refusal that workflows branch on, with the code and status its declaration
    /// gives it (`capstone_workflows::contracts::failures::refusals`).
    pub fn refused(refusal: Refusal, detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(refusal.http_status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        Self::new(status, refusal.code, detail)
    }

    /// 500: a bug or an unexpected failure. The cause is logged, not sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "unexpected error; see the service log")
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(format!("database: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.error, detail: &self.detail };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.error, self.detail)
    }
}

impl std::error::Error for ApiError {}
