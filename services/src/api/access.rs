//! Access control: every api route but `/healthz`, `/metrics` and the console's static page needs an API key, sent as
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
//! Before any of that, the limits of `limits.rs` apply (429 with `Retry-After`).

use super::{
    ApiState,
    api_keys::{self, Caller, Role},
};
use crate::http::ApiError;
use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{StatusCode, header::AUTHORIZATION, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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

/// Middleware for every route of the api: a place among the requests in flight, held until
/// the answer is sent (429 when there is none).
pub(super) async fn admit(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    match state.limits.admit() {
        Ok(_permit) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// Middleware of the codec routes: a `CODEC_KEY` opens them (as an operator, on these routes
/// only); any other key goes through [`authenticate`].
pub(super) async fn authenticate_codec(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let codec_keys = crate::http::ServiceKeys::new(&state.settings.codec_keys);
    if !state.settings.codec_keys.is_empty() && presented_key(&parts).is_some_and(|key| codec_keys.accepts(key)) {
        parts.extensions.insert(Caller {
            role: Role::Operator,
            customer_id: None,
            operator: None,
            label: "codec-key".to_owned(),
            key_hash: "codec-key".to_owned(),
        });
        return next.run(Request::from_parts(parts, body)).await;
    }
    authenticate(State(state), Request::from_parts(parts, body), next).await
}

/// Middleware: checks the key and puts the [`Caller`] into the request for the handlers.
pub(super) async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match identify(&state, &parts).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    if let Err(refused) = state.limits.allow_request(&caller) {
        return refused.into_response();
    }
    tracing::debug!(role = caller.role.as_str(), label = %caller.label, "authenticated");
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

/// The caller of the presented key: from the cache, else (within the address's budget of
/// lookups) from the database.
async fn identify(state: &ApiState, parts: &Parts) -> Result<Caller, ApiError> {
    let key = match presented_key(parts) {
        None | Some("") => {
            return Err(unauthorized(
                "missing_api_key",
                "send an API key as `Authorization: Bearer <key>`; create one with `capstone create-api-key`",
            ));
        }
        Some(key) => key,
    };
    if let Some(caller) = state.limits.cached(&api_keys::hash(key)) {
        return Ok(caller);
    }
    state.limits.allow_lookup(peer_address(parts))?;
    match api_keys::find(&state.db, key).await? {
        Some(caller) => {
            state.limits.remember(&caller);
            Ok(caller)
        }
        None => Err(unauthorized("invalid_api_key", "this API key is not known (revoked, or mistyped)")),
    }
}

/// The client's address (a proxy's, behind one). Requests built without a connection (unit
/// tests) count as one address.
fn peer_address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
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

    /// The operator deciding: the key's own name. A body may repeat it, never change it.
    pub fn deciding_operator(&self, named_in_body: Option<&str>) -> Result<String, ApiError> {
        self.require(Role::Operator, "deciding on an order")?;
        let Some(operator) = self.operator.clone() else {
            return Err(forbidden(
                "this operator key carries no operator name, and decisions are taken in the key's name: \
                 create one with `capstone create-api-key --role operator --operator NAME`",
            ));
        };
        match named_in_body.map(str::trim).filter(|name| !name.is_empty()) {
            Some(other) if other != operator => {
                Err(forbidden(format!("this key belongs to operator {operator:?}; it may not decide as {other:?}")))
            }
            _ => Ok(operator),
        }
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
        let key = |role, customer_id: Option<&str>, operator: Option<&str>| Caller {
            role,
            customer_id: customer_id.map(str::to_owned),
            operator: operator.map(str::to_owned),
            label: "k".into(),
            key_hash: "h".into(),
        };
        let customer = key(Role::Customer, Some("ada"), None);
        let operator = key(Role::Operator, None, Some("alice"));
        let service = key(Role::Service, None, None);
        assert!(customer.may_act_for("ada") && !customer.may_act_for("bob"));
        assert!(operator.may_act_for("bob"));
        assert!(!service.may_act_for("ada"));
        assert_eq!(customer.require(Role::Operator, "approving").unwrap_err().status, StatusCode::FORBIDDEN);
        assert!(customer.require_customer("bob", "place an order").unwrap_err().detail.contains("another customer"));
    }

    #[test]
    fn an_operator_decides_in_the_name_its_key_carries() {
        let operator = |name: Option<&str>| Caller {
            role: Role::Operator,
            customer_id: None,
            operator: name.map(str::to_owned),
            label: "o".into(),
            key_hash: "h".into(),
        };
        let alice = operator(Some("alice"));
        assert_eq!(alice.deciding_operator(None).unwrap(), "alice");
        assert_eq!(alice.deciding_operator(Some("alice")).unwrap(), "alice");
        let refused = alice.deciding_operator(Some("bob")).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.detail.contains("\"alice\"") && refused.detail.contains("\"bob\""), "{}", refused.detail);
        assert!(operator(None).deciding_operator(None).unwrap_err().detail.contains("--operator NAME"));
    }
}
