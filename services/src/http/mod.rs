//! What every service shares at its HTTP edge.

mod error;
mod faults;
mod json;
mod server;
mod service_auth;
mod trace_context;

pub use error::{ApiError, ApiResult, codes};
pub use faults::{FaultSettings, Faults};
pub use json::JsonBody;
pub use server::{BackendEdge, MAX_BODY_BYTES, RunningService, service_router, start_service};
pub use service_auth::ServiceKeys;
