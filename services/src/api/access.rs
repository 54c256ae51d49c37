//! Access control (day 10): every api route but `/healthz`, `/metrics` and the console's static page needs an API key, sent as
//! `Authorization: Bearer <key>` (or `X-Api-Key: <key>`).
//!
//! | role       | may                                                                  |
//! |------------|----------------------------------------------------------------------|
//! | `customer` | create orders and subscriptions for its own customer id; read its orders |
//! | `operator` | everything: list all, approve, reject, cancel, batches, the codec   |
//! | `service`  | `PUT /internal/...` (the workers recording the read model)          |
//!
//! No key, or a key we do not know: 401. A key whose role may not do this: 403. Both are
//! decided before the handler runs, so nothing is written and no workflow is started.
//! The key is never logged: only its label (`demo-operator`, ...) goes into the logs.

use super::{
    ApiState,
    api_keys::{self, Caller, Role},
};
use crate::http::ApiError;
use axum::{
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, header::AUTHORIZATION, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub const API_KEY_HEADER: &str = "x-api-key";

fn unauthorized(error: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, error, detail)
}

pub fn forbidden(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

/// The key from `Authorization: Bearer` or `X-Api-Key`.
pub fn presented_key(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")));
    bearer
        .or_else(|| parts.headers.get(API_KEY_HEADER).and_then(|value| value.to_str().ok()))
        .or_else(|| key_in_codec_path(parts.uri.path()))
        .map(str::trim)
}

/// `/codec/k/{key}/decode`: the Web UI's codec setting is a URL and nothing else.
fn key_in_codec_path(path: &str) -> Option<&str> {
    path.strip_prefix("/codec/k/")?.split('/').next()
}

/// Route layer: operators only.
pub(super) async fn operators_only(caller: Caller, request: Request, next: Next) -> Result<Response, ApiError> {
    caller.require(Role::Operator, "this route")?;
    Ok(next.run(request).await)
}

/// Route layer: the workers' service key only.
pub(super) async fn services_only(caller: Caller, request: Request, next: Next) -> Result<Response, ApiError> {
    caller.require(Role::Service, "this internal route")?;
    Ok(next.run(request).await)
}

/// Middleware: checks the key and puts the [`Caller`] into the request for the handlers.
pub(super) async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match presented_key(&parts) {
        None | Some("") => {
            return unauthorized(
                "missing_api_key",
                "send an API key as `Authorization: Bearer <key>`; create one with `capstone create-api-key`",
            )
            .into_response();
        }
        Some(key) => match api_keys::find(&state.db, key).await {
            Ok(Some(caller)) => caller,
            Ok(None) => {
                return unauthorized("invalid_api_key", "this API key is not known (revoked, or mistyped)")
                    .into_response();
            }
            Err(error) => return ApiError::from(error).into_response(),
        },
    };
    tracing::debug!(role = caller.role.as_str(), label = %caller.label, "authenticated");
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| unauthorized("missing_api_key", "this route needs an API key"))
    }
}

impl Caller {
    pub fn require(&self, role: Role, doing: &str) -> Result<(), ApiError> {
        if self.role == role {
            Ok(())
        } else {
            Err(forbidden(format!("{doing} needs a {} key; this is a {} key", role.as_str(), self.role.as_str())))
        }
    }

    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    /// Operators act for anyone; a customer key only for its own customer id.
    pub fn may_act_for(&self, customer_id: &str) -> bool {
        self.is_operator() || (self.role == Role::Customer && self.customer_id.as_deref() == Some(customer_id))
    }

    /// The same as [`Self::may_act_for`], as a 403 naming the problem.
    pub fn require_customer(&self, customer_id: &str, doing: &str) -> Result<(), ApiError> {
        if self.may_act_for(customer_id) {
            Ok(())
        } else if self.role == Role::Customer {
            Err(forbidden(format!("this key belongs to another customer; it may not {doing} for {customer_id:?}")))
        } else {
            Err(forbidden(format!("{doing} needs a customer or operator key; this is a {} key", self.role.as_str())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_key_is_found_in_the_header_or_the_codec_path() {
        assert_eq!(presented_key(&parts("/orders", &[("authorization", "Bearer cap_1")])), Some("cap_1"));
        assert_eq!(presented_key(&parts("/orders", &[("x-api-key", "cap_2")])), Some("cap_2"));
        assert_eq!(presented_key(&parts("/codec/k/cap_3/decode", &[])), Some("cap_3"));
        assert_eq!(presented_key(&parts("/orders", &[("authorization", "Basic abc")])), None);
        assert_eq!(presented_key(&parts("/orders/k/cap_4", &[])), None);
    }

    #[test]
    fn customers_act_for_themselves_and_operators_for_anyone() {
        let customer = Caller { role: Role::Customer, customer_id: Some("ada".into()), label: "c".into() };
        let operator = Caller { role: Role::Operator, customer_id: None, label: "o".into() };
        let service = Caller { role: Role::Service, customer_id: None, label: "s".into() };
        assert!(customer.may_act_for("ada") && !customer.may_act_for("bob"));
        assert!(operator.may_act_for("bob"));
        assert!(!service.may_act_for("ada"));
        assert_eq!(customer.require(Role::Operator, "approving").unwrap_err().status, StatusCode::FORBIDDEN);
        assert!(customer.require_customer("bob", "place an order").unwrap_err().detail.contains("another customer"));
    }
}
