//! The backend services (inventory, payments, shipping, notifications) trust no network: every
//! route but `/healthz` and `/metrics` needs a service key, `Authorization: Bearer <key>`,
//! presented by the api and the activity worker. No key or a wrong one: 401, before any
//! handler runs, so nothing is read or written.
//!
//! Keys are compared as SHA-256 digests, so the comparison takes the same time however much
//! of a guessed key is right. Several keys are accepted during a rotation (`SERVICE_KEY=new,old`).

use super::ApiError;
use axum::{
    extract::{Request, State},
    http::{StatusCode, header::AUTHORIZATION},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Clone)]
pub struct ServiceKeys(Arc<Vec<[u8; 32]>>);

impl ServiceKeys {
    pub fn new(keys: &[String]) -> Self {
        Self(Arc::new(keys.iter().map(|key| Sha256::digest(key.trim().as_bytes()).into()).collect()))
    }

    pub fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        self.0.contains(&digest)
    }
}

/// Middleware for a backend service's own routes.
pub async fn require(State(keys): State<ServiceKeys>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(key) if keys.accepts(key) => next.run(request).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_service_key", "this service key is not accepted")
            .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_service_key",
            "this service is internal: send the service key as `Authorization: Bearer <key>` (SERVICE_KEY)",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_listed_key_is_accepted_and_nothing_else() {
        let keys = ServiceKeys::new(&["new-key".to_owned(), "old-key".to_owned()]);
        assert!(keys.accepts("new-key") && keys.accepts("old-key"));
        assert!(!keys.accepts("new-ke") && !keys.accepts("") && !keys.accepts("other"));
    }
}
