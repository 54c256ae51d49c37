//! An HTTP client for one of our services that speaks Temporal's failure language.
//!
//! | outcome                               | activity failure                              |
//! |---------------------------------------|-----------------------------------------------|
//! | 2xx                                   | success                                       |
//! | connection error, timeout, 5xx, 408, 429 | retryable, type `ServiceUnavailable`       |
//! | 401, 403 (our own key refused)        | retryable, type `ServiceUnauthorized`: a key being rotated, or a rollout not finished; never a reason to give up a refund |
//! | other 4xx with `{error, detail}`      | non-retryable, type from `error` (`CardDeclined`) |
//! | 2xx with a body we cannot read        | non-retryable, type `InvalidResponse`         |
//!
//! Ids go into URLs only through [`path`], which percent-encodes each segment and refuses the
//! segments `.` and `..` (a URL parser would resolve them and reach another route).

use capstone_workflows::contracts::failures::{INVALID_REQUEST, SERVICE_UNAVAILABLE, failure_type_for_code};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use temporalio_sdk::{ApplicationFailure, activities::ActivityError};

#[derive(Clone)]
pub struct ServiceClient {
    service: &'static str,
    base_url: String,
    http: reqwest::Client,
    /// An API key sent as `Authorization: Bearer` (the api's internal routes need one).
    bearer: Option<String>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServiceClient")
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The error body every service returns with a 4xx or 5xx.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    detail: String,
}

impl ServiceClient {
    pub fn new(service: &'static str, base_url: &str, http: reqwest::Client) -> Self {
        Self { service, base_url: base_url.trim_end_matches('/').to_owned(), http, bearer: None }
    }

    /// Presents `key` as `Authorization: Bearer` (the service key; every service needs one).
    pub fn with_bearer(mut self, key: impl Into<String>) -> Self {
        self.bearer = Some(key.into());
        self
    }

    pub async fn post<B: Serialize, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, ActivityError> {
        self.send(Method::POST, path, body).await
    }

    pub async fn put<B: Serialize, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, ActivityError> {
        self.send(Method::PUT, path, body).await
    }

    async fn send<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<R, ActivityError> {
        let url = format!("{}{path}", self.base_url);
        let mut request =
            self.http.request(method.clone(), &url).json(body).headers(crate::trace_context::current_headers());
        if let Some(key) = &self.bearer {
            request = request.bearer_auth(key);
        }
        let started = std::time::Instant::now();
        let response = request.send().await;
        let code = response.as_ref().ok().map(|response| response.status().as_u16());
        crate::metrics::record_call(self.service, method.as_str(), code, started.elapsed());
        let response = response.map_err(|error| self.unavailable(format!("{method} {url} failed: {error}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.unavailable(format!("{method} {url}: reading the body failed: {error}")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|error| {
                ActivityError::from(
                    ApplicationFailure::builder(format!(
                        "{} answered {method} {url} with an unreadable body: {error}",
                        self.service
                    ))
                    .type_name("InvalidResponse".to_owned())
                    .non_retryable(true)
                    .build(),
                )
            });
        }
        let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let detail = body
            .as_ref()
            .map(|body| format!("{}: {}", body.error, body.detail))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        if is_transient(status) {
            return Err(self.unavailable(format!("{method} {url} answered {status}: {detail}")));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            tracing::error!(service = self.service, %status, "our service key was refused: {detail}");
            return Err(ApplicationFailure::builder(format!("{} refused our service key: {detail}", self.service))
                .type_name(SERVICE_UNAUTHORIZED.to_owned())
                .build()
                .into());
        }
        let failure_type =
            body.map(|body| failure_type_for_code(&body.error)).unwrap_or_else(|| INVALID_REQUEST.to_owned());
        tracing::warn!(service = self.service, %status, failure_type, "request refused: {detail}");
        Err(ApplicationFailure::builder(format!("{} refused: {detail}", self.service))
            .type_name(failure_type)
            .non_retryable(true)
            .build()
            .into())
    }

    fn unavailable(&self, message: String) -> ActivityError {
        tracing::warn!(service = self.service, "{message}");
        ApplicationFailure::builder(format!("{} unavailable: {message}", self.service))
            .type_name(SERVICE_UNAVAILABLE.to_owned())
            .build()
            .into()
    }
}

/// Our own services refused the key we presented: retried, because it is a deployment problem
/// (a key mid-rotation, a rollout in progress) that fixes itself, and an undo must not give up.
pub const SERVICE_UNAUTHORIZED: &str = "ServiceUnauthorized";

/// Whether an activity error is a refusal that no retry can fix (a non-retryable failure).
pub fn is_final(error: &ActivityError) -> bool {
    matches!(error, ActivityError::Application(failure) if failure.is_non_retryable())
}

/// Everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded inside a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `/a/b/c` from segments, each percent-encoded, so that an id can never leave its segment
/// (`/`, `?`, `#`, `%`). An empty segment, `.` or `..` is refused (non-retryable): a URL parser
/// resolves dot segments, so `/internal/orders/..` would reach `/internal`.
pub fn path(segments: &[&str]) -> Result<String, ActivityError> {
    let mut path = String::new();
    for segment in segments {
        if segment.is_empty() || *segment == "." || *segment == ".." {
            return Err(ApplicationFailure::builder(format!("{segment:?} cannot be a path segment"))
                .type_name(INVALID_REQUEST.to_owned())
                .non_retryable(true)
                .build()
                .into());
        }
        path.push('/');
        path.extend(utf8_percent_encode(segment, SEGMENT));
    }
    Ok(path)
}

/// Worth another attempt: the server failed, timed out or asked us to slow down.
fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_inside_their_path_segment() {
        assert_eq!(path(&["reservations", "ord-1", "release"]).unwrap(), "/reservations/ord-1/release");
        assert_eq!(path(&["orders", "a/b?c#d%e f"]).unwrap(), "/orders/a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(path(&["orders", "x.y~z_1"]).unwrap(), "/orders/x.y~z_1");
        for unsafe_segment in ["", ".", ".."] {
            assert!(path(&["internal", "orders", unsafe_segment]).is_err(), "{unsafe_segment:?}");
        }
    }
}
